"""Fixtures shared by the end-to-end codegen tests: each module defines its own module-scoped
``broker`` (a real reference broker with the topics it needs, see :func:`broker_with_topics`); the
client settings and the registry client follow from it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from evtctl.registry.client import RegistryClient
from evtctl.runtime.settings import ClientSettings
from tests.support.broker import BrokerProcess, start_broker


def broker_with_topics(data_dir: Path, topics: Sequence[tuple[str, int]]) -> Iterator[BrokerProcess]:
    """A reference broker with ``topics`` (name, partitions) created; stopped when the caller ends."""
    proc = start_broker(data_dir)
    try:
        admin = AdminClient({"bootstrap.servers": proc.bootstrap})
        for future in admin.create_topics([NewTopic(name, n, 1) for name, n in topics]).values():
            future.result(15)
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def settings(broker: BrokerProcess) -> ClientSettings:
    assert broker.registry_url is not None
    return ClientSettings(bootstrap_servers=broker.bootstrap, registry_url=broker.registry_url)


@pytest.fixture(scope="module")
def registry(settings: ClientSettings) -> Iterator[RegistryClient]:
    client = RegistryClient(settings.registry_url)
    yield client
    client.close()
