"""Fixtures for group tests: a broker with the initial rebalance delay at 0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerProcess, start_broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    proc = start_broker(tmp_path, "--registry-listen", "off", "--group-initial-rebalance-delay-ms", "0")
    yield proc
    proc.stop()
