"""Fixtures: one reference broker (with registry) per test module; each test its own name prefix."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plan.workspace import Ws
from tests.support.broker import BrokerProcess, start_broker

_counter = itertools.count()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    # evtctl administers as a super user, as it must on any cluster with ACLs
    proc = start_broker(tmp_path_factory.mktemp("broker"), "--super-users", "User:ANONYMOUS")
    yield proc
    proc.stop()


@pytest.fixture
def ws(tmp_path: Path, broker: BrokerProcess) -> Ws:
    return Ws(tmp_path / "ws", broker.bootstrap, broker.registry_url, f"t{next(_counter)}-")
