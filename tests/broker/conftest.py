"""Fixtures for broker tests: one shared broker per module keeps the area's runtime small."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerProcess, broker_factory, start_broker

__all__ = ["broker_factory"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    tmp: Path = tmp_path_factory.mktemp("broker")
    proc = start_broker(tmp, "--registry-listen", "off")
    yield proc
    proc.stop()
