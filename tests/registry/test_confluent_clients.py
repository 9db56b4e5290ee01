"""Confluent's own clients, unchanged, against the registry hosted by the reference broker.

Records are serialized with Confluent's serializers, produced to and fetched from the broker with
confluent-kafka (librdkafka), and deserialized again; the registry is the only schema source.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.support.broker import BrokerProcess, start_broker

POLL_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = start_broker(tmp_path_factory.mktemp("sr-broker"), "--auto-create-topics")
    assert proc.registry_url, "the broker did not start its registry"
    yield proc
    proc.stop()


@pytest.fixture
def sr(broker: BrokerProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": broker.registry_url})


def through_kafka(broker: BrokerProcess, topic: str, value: bytes) -> bytes:
    """Produce one record and fetch it back (assign, no group coordination needed)."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    producer.produce(topic, value=value)
    assert producer.flush(POLL_TIMEOUT) == 0
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + POLL_TIMEOUT
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            data = msg.value()
            assert isinstance(data, bytes)
            return data
    finally:
        consumer.close()
    raise AssertionError(f"no record came back from {topic}")


def schema_id_of(wire: bytes) -> int:
    assert wire[0] == 0, "Confluent wire format starts with magic byte 0"
    return int(struct.unpack(">I", wire[1:5])[0])


MONEY = json.dumps(
    {
        "type": "record",
        "name": "Money",
        "namespace": "shop",
        "fields": [{"name": "cents", "type": "long"}, {"name": "currency", "type": "string"}],
    }
)
ORDER = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [{"name": "id", "type": "string"}, {"name": "total", "type": "shop.Money"}],
    }
)


def test_avro_round_trip_with_references(broker: BrokerProcess, sr: SchemaRegistryClient) -> None:
    topic = "avro-orders"
    money_id = sr.register_schema("shop.Money", Schema(MONEY, "AVRO"))
    refs = [SchemaReference("shop.Money", "shop.Money", 1)]
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = AvroSerializer(sr, Schema(ORDER, "AVRO", refs))
    record = {"id": "o-1", "total": {"cents": 1250, "currency": "EUR"}}
    wire = through_kafka(broker, topic, serializer(record, ctx))
    registered = sr.get_latest_version(f"{topic}-value")
    assert schema_id_of(wire) == registered.schema_id != money_id
    assert [r.name for r in registered.schema.references] == ["shop.Money"]
    fresh = SchemaRegistryClient({"url": broker.registry_url})  # no cache: reads the schema by id
    assert AvroDeserializer(fresh)(wire, ctx) == record
    assert sr.get_referenced_by("shop.Money", 1) == [registered.schema_id]


def test_avro_use_latest_version(broker: BrokerProcess, sr: SchemaRegistryClient) -> None:
    topic = "avro-latest"
    subject = f"{topic}-value"
    v1 = json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "n", "type": "int"}]})
    v2 = json.dumps(
        {
            "type": "record",
            "name": "Ping",
            "fields": [{"name": "n", "type": "int"}, {"name": "src", "type": "string", "default": "?"}],
        }
    )
    sr.register_schema(subject, Schema(v1, "AVRO"))
    v2_id = sr.register_schema(subject, Schema(v2, "AVRO"))
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = AvroSerializer(sr, v1, conf={"auto.register.schemas": False, "use.latest.version": True})
    wire = through_kafka(broker, topic, serializer({"n": 7, "src": "t"}, ctx))
    assert schema_id_of(wire) == v2_id
    assert AvroDeserializer(SchemaRegistryClient({"url": broker.registry_url}))(wire, ctx) == {
        "n": 7,
        "src": "t",
    }
    # an unregistered schema without auto-registration is refused by the registry (lookup 40403)
    other = json.dumps({"type": "record", "name": "Pong", "fields": [{"name": "x", "type": "int"}]})
    with pytest.raises(Exception) as info:
        AvroSerializer(sr, other, conf={"auto.register.schemas": False})({"x": 1}, ctx)
    assert "40403" in str(info.value) or "not found" in str(info.value).lower()


MONEY_PROTO = """syntax = "proto3";
package evtctltest;

message Money {
  int64 cents = 1;
  string currency = 2;
}
"""

ORDER_PROTO = """syntax = "proto3";
package evtctltest;

import "evtctltest/money.proto";
import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  Money total = 2;
  repeated string tags = 3;
  map<string, int32> counts = 4;
  google.protobuf.Timestamp at = 5;
  oneof channel {
    string web = 6;
    string shop = 7;
  }
  enum Kind {
    KIND_UNSPECIFIED = 0;
    KIND_EXPRESS = 1;
  }
  Kind kind = 8;
}
"""


@pytest.fixture(scope="module")
def order_pb2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Generate Python classes for the test protos with protoc (grpcio-tools)."""
    import grpc_tools
    from grpc_tools import protoc

    root = tmp_path_factory.mktemp("protos")
    (root / "evtctltest").mkdir()
    (root / "evtctltest" / "money.proto").write_text(MONEY_PROTO)
    (root / "evtctltest" / "order.proto").write_text(ORDER_PROTO)
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    code = protoc.main(
        [
            "protoc",
            f"-I{root}",
            f"-I{include}",
            f"--python_out={root}",
            "evtctltest/money.proto",
            "evtctltest/order.proto",
        ]
    )
    assert code == 0
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("evtctltest.order_pb2")
    finally:
        sys.path.remove(str(root))


def test_protobuf_round_trip_with_references(
    broker: BrokerProcess, sr: SchemaRegistryClient, order_pb2: ModuleType
) -> None:
    topic = "proto-orders"
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = ProtobufSerializer(order_pb2.Order, sr, {"use.deprecated.format": False})
    msg = order_pb2.Order(id="o-9", tags=["a", "b"], web="www", kind=order_pb2.Order.KIND_EXPRESS)
    msg.total.cents = 99
    msg.total.currency = "USD"
    msg.counts["x"] = 3
    msg.at.seconds = 1_700_000_000
    wire = through_kafka(broker, topic, serializer(msg, ctx))
    latest = sr.get_latest_version(f"{topic}-value")
    assert schema_id_of(wire) == latest.schema_id
    assert latest.schema.schema_type == "PROTOBUF"
    # the dependency was registered under its file name and is referenced by it
    assert [(r.name, r.subject) for r in latest.schema.references] == [
        ("evtctltest/money.proto", "evtctltest/money.proto")
    ]
    assert "message Order" in latest.schema.schema_str  # stored as .proto text, like Confluent
    deserializer = ProtobufDeserializer(
        order_pb2.Order,
        {"use.deprecated.format": False},
        schema_registry_client=SchemaRegistryClient({"url": broker.registry_url}),
    )
    assert deserializer(wire, ctx) == msg
    # serializing again finds the same registrations (lookup of the base64 descriptor form)
    again = ProtobufSerializer(order_pb2.Order, SchemaRegistryClient({"url": broker.registry_url}))
    assert schema_id_of(again(msg, ctx)) == latest.schema_id


PRICE_PROTO = """syntax = "proto3";
package evtctltest;

import "google/type/date.proto";

message Price {
  string sku = 1;
  google.type.Date day = 2;
  int64 cents = 3;
}
"""


def test_protobuf_with_bundled_imports_confluent_never_registers(
    broker: BrokerProcess, sr: SchemaRegistryClient, tmp_path: Path
) -> None:
    """google/type/* (and confluent/*) imports are not sent as references: the registry knows them."""
    import grpc_tools
    from grpc_tools import protoc

    from evtctl.broker.registry.protobuf_text import builtin_proto

    date_text = builtin_proto("google/type/date.proto")
    assert date_text is not None
    (tmp_path / "google" / "type").mkdir(parents=True)
    (tmp_path / "google" / "type" / "date.proto").write_text(date_text)  # for protoc only
    (tmp_path / "evtctltest").mkdir()
    (tmp_path / "evtctltest" / "price.proto").write_text(PRICE_PROTO)
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    assert (
        protoc.main(
            ["protoc", f"-I{tmp_path}", f"-I{include}", f"--python_out={tmp_path}", "evtctltest/price.proto"]
        )
        == 0
    )
    spec = importlib.util.spec_from_file_location(
        "evtctl_price_pb2", tmp_path / "evtctltest" / "price_pb2.py"
    )
    assert spec is not None and spec.loader is not None
    price_pb2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(price_pb2)

    topic = "proto-prices"
    ctx = SerializationContext(topic, MessageField.VALUE)
    msg = price_pb2.Price(sku="A-1", cents=250)
    msg.day.year, msg.day.month, msg.day.day = 2026, 11, 27
    wire = through_kafka(broker, topic, ProtobufSerializer(price_pb2.Price, sr)(msg, ctx))
    latest = sr.get_latest_version(f"{topic}-value")
    assert latest.schema.references == []
    deserializer = ProtobufDeserializer(
        price_pb2.Price, {}, schema_registry_client=SchemaRegistryClient({"url": broker.registry_url})
    )
    assert deserializer(wire, ctx) == msg


ADDRESS_JSON = json.dumps(
    {
        "$id": "address.json",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
)
CUSTOMER_JSON = json.dumps(
    {
        "type": "object",
        "properties": {"name": {"type": "string"}, "home": {"$ref": "address.json"}},
        "required": ["name"],
    }
)


def test_json_round_trip_with_references(broker: BrokerProcess, sr: SchemaRegistryClient) -> None:
    topic = "json-customers"
    sr.register_schema("address.json", Schema(ADDRESS_JSON, "JSON"))
    refs = [SchemaReference("address.json", "address.json", 1)]
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = JSONSerializer(Schema(CUSTOMER_JSON, "JSON", refs), sr)
    value = {"name": "Ada", "home": {"city": "London"}}
    wire = through_kafka(broker, topic, serializer(value, ctx))
    assert schema_id_of(wire) == sr.get_latest_version(f"{topic}-value").schema_id
    fresh = SchemaRegistryClient({"url": broker.registry_url})
    assert JSONDeserializer(None, schema_registry_client=fresh)(wire, ctx) == value


def test_schema_registry_client_admin_calls(sr: SchemaRegistryClient) -> None:
    subject = "admin-calls-value"
    v1 = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]})
    bad = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "string"}]})
    schema_id = sr.register_schema(subject, Schema(v1, "AVRO"))
    assert subject in sr.get_subjects()
    assert sr.get_versions(subject) == [1]
    assert sr.lookup_schema(subject, Schema(v1, "AVRO")).version == 1
    assert json.loads(sr.get_schema(schema_id).schema_str) == json.loads(v1)
    assert sr.get_version(subject, 1).schema_id == schema_id
    assert sr.test_compatibility(subject, Schema(bad, "AVRO")) is False
    assert sr.test_compatibility_all_versions(subject, Schema(v1, "AVRO")) is True
    with pytest.raises(SchemaRegistryError) as info:
        sr.register_schema(subject, Schema(bad, "AVRO"))
    assert info.value.http_status_code == 409
    assert sr.set_compatibility(subject, "NONE")["compatibility"] == "NONE"
    assert sr.get_compatibility(subject) == "NONE"
    assert sr.get_compatibility() == "BACKWARD"
    assert sr.update_mode(subject, "READONLY") == "READONLY"
    assert sr.get_mode(subject) == "READONLY"
    assert sr.delete_mode(subject) == "READONLY"
    assert sorted(sr.get_schema_types()) == ["AVRO", "JSON", "PROTOBUF"]
    assert sr.get_subjects_by_schema_id(schema_id) == [subject]
    assert sr.delete_version(subject, 1) == 1
    with pytest.raises(SchemaRegistryError) as info:
        sr.get_version(subject, 1)
    assert info.value.error_code == 40401  # its only version is soft-deleted: the subject is gone
    assert sr.delete_subject(subject, permanent=True) == [1]
    with pytest.raises(SchemaRegistryError) as info:
        sr.get_versions(subject)
    assert info.value.error_code == 40401


def test_python_schema_registry_client(broker: BrokerProcess) -> None:
    from schema_registry.client import SchemaRegistryClient as PsrClient
    from schema_registry.client import schema as psr_schema

    client = PsrClient(url=broker.registry_url)
    subject = "psr-value"
    v1: dict[str, Any] = {"type": "record", "name": "U", "fields": [{"name": "a", "type": "int"}]}
    v2 = {
        "type": "record",
        "name": "U",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
    }
    schema_id = client.register(subject, psr_schema.AvroSchema(v1))
    assert schema_id > 0
    found = client.check_version(subject, psr_schema.AvroSchema(v1))
    assert found is not None and found.schema_id == schema_id and found.version == 1
    assert client.get_schema(subject).schema_id == schema_id
    assert client.get_by_id(schema_id).schema == psr_schema.AvroSchema(v1).schema
    assert client.get_versions(subject) == [1]
    assert subject in client.get_subjects()
    assert client.test_compatibility(subject, psr_schema.AvroSchema(v2)) is False
    assert client.update_compatibility("FORWARD", subject)
    assert client.get_compatibility(subject) == "FORWARD"
    assert client.test_compatibility(subject, psr_schema.AvroSchema(v2)) is True
    json_id = client.register("psr-json", psr_schema.JsonSchema({"type": "object"}), schema_type="JSON")
    assert json_id not in (None, schema_id)
    assert client.delete_subject(subject) == [1]
