"""Start-up, ApiVersions and Metadata with real clients."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from tests.support.broker import BrokerProcess


def test_metadata_via_librdkafka(broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = admin.list_topics(timeout=10)
    assert list(md.brokers) == [1]
    assert md.brokers[1].port == broker.port
    assert md.cluster_id


def test_kafka_python_negotiates_versions(broker: BrokerProcess) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        assert admin.describe_cluster()["cluster_id"]
    finally:
        admin.close()
