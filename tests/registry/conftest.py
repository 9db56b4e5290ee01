"""Fixtures for the registry tests: real registry processes, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry.support import RegistryProcess, start_registry_process


@pytest.fixture(scope="module")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """One registry per test module; tests use their own subject names."""
    proc = start_registry_process(tmp_path_factory.mktemp("registry") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def http(shared_registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_registry.url, timeout=30.0) as client:
        yield client


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Callable[..., RegistryProcess]]:
    """A fresh registry per call (for tests that change global config/mode or restart)."""
    started: list[RegistryProcess] = []

    def make(*extra_args: str, name: str = "data") -> RegistryProcess:
        proc = start_registry_process(tmp_path / f"{name}{len(started)}", *extra_args)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()
