"""DescribeConfigs of every config (pre-encoded arrays) answers exactly what the per-key path answers.

A request with ``configuration_keys = null`` takes the broker's pre-encoded path; naming every catalog
config takes the dict path. Both go through kafka-python's protocol classes (an independent decoder)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.admin import DescribeConfigsRequest, DescribeConfigsResponse

from evtctl.kafka.topic_configs import TOPIC_CONFIGS
from tests.broker.rawclient import RawClient
from tests.support.broker import BrokerProcess

WAIT = 30


@pytest.fixture(scope="module")
def topics(broker: BrokerProcess) -> list[str]:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    suffix = uuid.uuid4().hex[:8]
    specs = {
        f"enc-plain-{suffix}": {},
        f"enc-one-{suffix}": {"retention.ms": "3600000"},
        f"enc-two-{suffix}": {"retention.ms": "3600000", "cleanup.policy": "compact"},
        f"enc-three-{suffix}": {
            "retention.ms": "7200000",
            "segment.bytes": "1048576",
            "min.insync.replicas": "1",
        },
    }
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1, config=cfg) for name, cfg in specs.items()]
    )
    for fut in futures.values():
        fut.result(WAIT)
    return list(specs)


def _describe(
    broker: BrokerProcess, names: list[str], version: int, keys: list[str] | None, synonyms: bool
) -> list[Any]:
    res = DescribeConfigsRequest.DescribeConfigsResource
    kwargs: dict[str, Any] = {"include_synonyms": synonyms}
    if version >= 3:
        kwargs["include_documentation"] = True
    req = DescribeConfigsRequest[version](
        resources=[res(resource_type=2, resource_name=n, configuration_keys=keys) for n in names], **kwargs
    )
    with RawClient(broker.bootstrap) as client:
        return list(client.request(req, DescribeConfigsResponse, version).results)


def _plain(results: list[Any]) -> list[Any]:
    return [r.to_dict() if hasattr(r, "to_dict") else r for r in results]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@pytest.mark.parametrize("synonyms", [False, True])
def test_every_config_equals_every_key_named(
    broker: BrokerProcess, topics: list[str], version: int, synonyms: bool
) -> None:
    everything = _describe(broker, topics, version, None, synonyms)
    named = _describe(broker, topics, version, list(TOPIC_CONFIGS), synonyms)
    assert _plain(everything) == _plain(named)
    by_topic = {r.resource_name: {c.name: c for c in r.configs} for r in everything}
    assert set(by_topic[topics[0]]) == set(TOPIC_CONFIGS)
    # an explicit entry is the topic's own (source 1); the shared default entries are untouched
    assert by_topic[topics[1]]["retention.ms"].value == "3600000"
    assert by_topic[topics[1]]["retention.ms"].config_source == 1
    assert by_topic[topics[0]]["retention.ms"].config_source == 5
    assert by_topic[topics[3]]["retention.ms"].value == "7200000"
    assert by_topic[topics[2]]["cleanup.policy"].value == "compact"
    if synonyms:
        assert [s.name for s in by_topic[topics[1]]["retention.ms"].synonyms] == [
            "retention.ms",
            "log.retention.ms",
        ]


@pytest.mark.parametrize("version", range(1, 13))
def test_metadata_of_every_topic_equals_every_topic_named(
    broker: BrokerProcess, topics: list[str], version: int
) -> None:
    """All-topics Metadata (pre-encoded entries) answers exactly what naming each topic answers."""
    from kafka.protocol.metadata import MetadataRequest, MetadataResponse

    def ask(names: list[str] | None) -> list[Any]:
        kwargs: dict[str, Any] = {}
        if version >= 4:
            kwargs["allow_auto_topic_creation"] = False
        if version >= 8:
            kwargs["include_topic_authorized_operations"] = False
        if 8 <= version <= 10:
            kwargs["include_cluster_authorized_operations"] = False
        wanted = None if names is None else [MetadataRequest.MetadataRequestTopic(name=n) for n in names]
        req = MetadataRequest[version](topics=wanted, **kwargs)
        with RawClient(broker.bootstrap) as client:
            return list(client.request(req, MetadataResponse, version).topics)

    everything = {t.name: t for t in ask(None)}
    assert set(topics) <= set(everything)
    # twice: the second answer comes from the cache of encoded entries
    assert {t.name: t for t in ask(None)}.keys() == everything.keys()
    named = ask(topics)
    assert _plain([everything[t.name] for t in named]) == _plain(named)
    assert all(len(everything[n].partitions) == 1 for n in topics)
