"""A `local` context resolves to the workspace's embedded broker, started on first use."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evtctl.broker.daemon import read_state, stop_daemon
from tests.codegen.gen import SHOP, generate_and_import


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    ws = tmp_path / "shop"
    shutil.copytree(SHOP, ws)
    monkeypatch.chdir(ws)
    monkeypatch.delenv("EVTCTL_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("EVTCTL_REGISTRY_URL", raising=False)
    monkeypatch.delenv("EVTCTL_CONTEXT", raising=False)
    try:
        yield ws
    finally:
        stop_daemon(ws / ".evtctl")


def test_local_context_starts_and_reuses_the_embedded_broker(workspace: Path, tmp_path: Path) -> None:
    pkg = generate_and_import(workspace, tmp_path / "gen", package="shop_local_ctx")
    settings_mod = importlib.import_module(f"{pkg.__name__}.settings")
    first = settings_mod.settings()
    state = read_state(workspace / ".evtctl")
    assert state is not None and first.bootstrap_servers == state.bootstrap
    assert first.registry_url == state.registry_url
    assert settings_mod.settings() == first  # the running broker is reused
    prod = settings_mod.settings("prod")  # a kafka context is taken as declared
    assert prod.bootstrap_servers == "kafka-1:9092,kafka-2:9092" and not prod.local
