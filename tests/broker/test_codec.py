"""The spec-driven codec against kafka-python's generated protocol classes (an independent oracle)."""

from __future__ import annotations

import uuid

import pytest
from kafka.protocol.admin import CreateTopicsRequest, DescribeConfigsResponse
from kafka.protocol.consumer import FetchRequest, FetchResponse, ListOffsetsRequest
from kafka.protocol.metadata import ApiVersionsResponse, MetadataRequest, MetadataResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse

from evtctl.broker.protocol.codec import DecodeError, codec


@pytest.mark.parametrize("version", range(0, 13))
def test_metadata_request_decodes_what_kafka_python_encodes(version: int) -> None:
    topics = (
        [MetadataRequest.MetadataRequestTopic(name="orders", topic_id=uuid.UUID(int=0))] if version else []
    )
    req = MetadataRequest[version](topics=topics, allow_auto_topic_creation=False)
    decoded = codec("MetadataRequest", version).decode(bytes(req.encode(version=version)))
    assert [t["name"] for t in decoded["topics"]] == [t.name for t in topics]
    if version >= 4:
        assert decoded["allow_auto_topic_creation"] is False


@pytest.mark.parametrize("version", range(0, 13))
def test_metadata_response_round_trips_through_kafka_python(version: int) -> None:
    tid = uuid.uuid4()
    body = {
        "brokers": [{"node_id": 1, "host": "127.0.0.1", "port": 9092, "rack": None}],
        "cluster_id": "c1",
        "controller_id": 1,
        "topics": [
            {
                "error_code": 0,
                "name": "orders",
                "topic_id": tid,
                "is_internal": False,
                "partitions": [
                    {
                        "error_code": 0,
                        "partition_index": 0,
                        "leader_id": 1,
                        "leader_epoch": 3,
                        "replica_nodes": [1],
                        "isr_nodes": [1],
                        "offline_replicas": [],
                    }
                ],
            }
        ],
    }
    data = bytes(codec("MetadataResponse", version).encode(body))
    theirs = MetadataResponse.decode(data, version=version)
    assert theirs.brokers[0].port == 9092
    assert theirs.topics[0].name == "orders"
    assert theirs.topics[0].partitions[0].leader_id == 1
    if version >= 10:
        assert theirs.topics[0].topic_id == tid
    assert bytes(theirs.encode()) == data  # byte-identical: same field order, no extra tagged fields


@pytest.mark.parametrize("version", [3, 7, 9, 10])
def test_produce_request_keeps_records_opaque(version: int) -> None:
    records = b"\x00" * 70
    topic = ProduceRequest.TopicProduceData(
        name="t",
        partition_data=[ProduceRequest.TopicProduceData.PartitionProduceData(index=2, records=records)],
    )
    req = ProduceRequest[version](transactional_id=None, acks=-1, timeout_ms=1000, topic_data=[topic])
    decoded = codec("ProduceRequest", version).decode(bytes(req.encode(version=version)))
    assert decoded["topic_data"][0]["partition_data"][0]["records"] == records
    resp = {
        "responses": [
            {
                "name": "t",
                "partition_responses": [
                    {
                        "index": 2,
                        "error_code": 0,
                        "base_offset": 5,
                        "log_append_time_ms": -1,
                        "log_start_offset": 0,
                    }
                ],
            }
        ]
    }
    theirs = ProduceResponse.decode(bytes(codec("ProduceResponse", version).encode(resp)), version=version)
    assert theirs.responses[0].partition_responses[0].base_offset == 5


@pytest.mark.parametrize("version", [4, 11, 12, 13, 16])
def test_fetch_round_trip(version: int) -> None:
    tid = uuid.uuid4()
    part = FetchRequest.FetchTopic.FetchPartition(partition=0, fetch_offset=7, partition_max_bytes=1000)
    req = FetchRequest[version](
        max_wait_ms=500,
        min_bytes=1,
        max_bytes=10_000,
        topics=[FetchRequest.FetchTopic(topic="t", topic_id=tid, partitions=[part])],
    )
    decoded = codec("FetchRequest", version).decode(bytes(req.encode(version=version)))
    t = decoded["topics"][0]
    assert t["partitions"][0]["fetch_offset"] == 7
    assert (t["topic_id"] == tid) if version >= 13 else (t["topic"] == "t")
    resp = {
        "responses": [
            {
                "topic": "t",
                "topic_id": tid,
                "partitions": [
                    {
                        "partition_index": 0,
                        "high_watermark": 9,
                        "last_stable_offset": 9,
                        "log_start_offset": 0,
                        "aborted_transactions": None,
                        "records": b"abc",
                    }
                ],
            }
        ]
    }
    theirs = FetchResponse.decode(bytes(codec("FetchResponse", version).encode(resp)), version=version)
    assert theirs.responses[0].partitions[0].high_watermark == 9
    assert bytes(theirs.responses[0].partitions[0].records) == b"abc"


def test_tagged_fields_equal_to_defaults_are_not_written() -> None:
    body = {"error_code": 0, "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4}]}
    data = bytes(codec("ApiVersionsResponse", 3).encode(body))
    # error code, compact array of one entry (3 int16 + empty tags), throttle time, empty tag section
    assert data == b"\x00\x00" + b"\x02" + b"\x00\x12\x00\x00\x00\x04\x00" + b"\x00\x00\x00\x00" + b"\x00"
    assert ApiVersionsResponse.decode(data, version=3).api_keys[0].max_version == 4


def test_describe_configs_v0_uses_is_default() -> None:
    body = {
        "results": [
            {
                "error_code": 0,
                "resource_type": 2,
                "resource_name": "t",
                "configs": [
                    {
                        "name": "retention.ms",
                        "value": "1",
                        "read_only": False,
                        "is_default": True,
                        "is_sensitive": False,
                    }
                ],
            }
        ]
    }
    theirs = DescribeConfigsResponse.decode(
        bytes(codec("DescribeConfigsResponse", 0).encode(body)), version=0
    )
    assert theirs.results[0].configs[0].is_default is True


def test_truncated_input_raises_decode_error() -> None:
    req = CreateTopicsRequest[5](topics=[], timeout_ms=100, validate_only=False)
    data = bytes(req.encode(version=5))
    with pytest.raises(DecodeError):
        codec("CreateTopicsRequest", 5).decode(data[:-2])


def test_list_offsets_request_v1() -> None:
    part = ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition(partition_index=3, timestamp=-2)
    req = ListOffsetsRequest[1](
        replica_id=-1, topics=[ListOffsetsRequest.ListOffsetsTopic(name="x", partitions=[part])]
    )
    decoded = codec("ListOffsetsRequest", 1).decode(bytes(req.encode(version=1)))
    assert decoded["topics"][0]["partitions"][0] == {"partition_index": 3, "timestamp": -2}


def test_every_advertised_version_has_a_working_codec() -> None:
    """Each registered handler's request/response compile and round-trip their defaults at every version."""
    from evtctl.broker.handlers import default_registry

    registry = default_registry()
    assert registry.get(18) is not None and registry.get(1) is not None
    for handler in registry.all():
        for version in range(handler.min_version, handler.max_version + 1):
            for kind in ("Request", "Response"):
                c = codec(handler.name + kind, version)
                data = bytes(c.encode({}))
                assert c.decode(data) == c.defaults, (handler.name, kind, version)
