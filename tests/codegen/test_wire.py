"""Confluent wire format: property tests and byte-for-byte agreement with confluent-kafka's framing."""

from __future__ import annotations

import io
import uuid

import pytest
from confluent_kafka.schema_registry.common.serde import SchemaId
from hypothesis import given
from hypothesis import strategies as st

from evtctl.runtime import wire
from evtctl.runtime.wire import WireFormatError

schema_ids = st.integers(min_value=0, max_value=wire.MAX_SCHEMA_ID)
index_paths = st.lists(st.integers(min_value=0, max_value=2**31), min_size=1, max_size=20)
bodies = st.binary(max_size=64)


@given(schema_ids, bodies)
def test_avro_framing_round_trips(schema_id: int, body: bytes) -> None:
    framed = wire.frame(schema_id, body)
    assert framed[0] == 0
    assert int.from_bytes(framed[1:5], "big") == schema_id
    decoded = wire.unframe(framed)
    assert (decoded.schema_id, decoded.body, decoded.ref.message_indexes) == (schema_id, body, None)


@given(schema_ids, index_paths, bodies)
def test_protobuf_framing_round_trips(schema_id: int, indexes: list[int], body: bytes) -> None:
    framed = wire.frame(schema_id, body, indexes)
    decoded = wire.unframe(framed, protobuf=True)
    assert decoded.schema_id == schema_id
    assert decoded.ref.message_indexes == tuple(indexes)
    assert decoded.body == body


@given(schema_ids, index_paths)
def test_same_bytes_as_confluent_kafka(schema_id: int, indexes: list[int]) -> None:
    theirs = SchemaId("PROTOBUF", schema_id, None, indexes).id_to_bytes()
    assert wire.encode_schema_ref(schema_id, indexes) == theirs
    parsed = SchemaId("PROTOBUF")
    rest = parsed.from_bytes(io.BytesIO(wire.frame(schema_id, b"body", indexes)))
    assert (parsed.id, parsed.message_indexes, rest.read()) == (schema_id, indexes, b"body")
    assert SchemaId("AVRO", schema_id).id_to_bytes() == wire.encode_schema_ref(schema_id)


def test_first_message_is_a_single_zero_byte() -> None:
    assert wire.encode_message_indexes([0]) == b"\x00"
    assert wire.frame(7, b"x", [0]) == b"\x00\x00\x00\x00\x07\x00x"
    # [1] and [0, 0] are not the special case: count then zig-zag indexes
    assert wire.encode_message_indexes([1]) == b"\x02\x02"
    assert wire.encode_message_indexes([0, 0]) == b"\x04\x00\x00"
    assert wire.decode_message_indexes(b"\x00", 0) == ((0,), 1)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_zigzag_round_trips(value: int) -> None:
    encoded = wire.zigzag_encode(value)
    assert encoded >= 0
    assert wire.zigzag_decode(encoded) == value
    out = bytearray()
    wire.encode_varint(encoded, out)
    assert wire.decode_varint(bytes(out), 0) == (encoded, len(out))


@pytest.mark.parametrize(
    ("data", "protobuf", "message"),
    [
        (b"", False, "empty"),
        (b"\x00\x00\x01", False, "needs 5"),
        (b"\x07\x00\x00\x00\x01body", False, "not the magic byte"),
        (b'{"json": 1}', False, "not the magic byte"),
        (b"\x00\x00\x00\x00\x01", True, "truncated varint"),
        (b"\x00\x00\x00\x00\x01\x03", True, "invalid message-index array length -2"),
        (b"\x00\x00\x00\x00\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", True, "longer than 10 bytes"),
        (b"\x00\x00\x00\x00\x01\xfe\xff\x7f", True, "0..100000"),
        (b"\x00\x00\x00\x00\x01\x08\x02", True, "claims 4 entries but only 1"),
        (b"\x00\x00\x00\x00\x01\x02\x01", True, "negative message index"),
    ],
)
def test_malformed_payloads_fail_with_a_clear_error(data: bytes, protobuf: bool, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        wire.unframe(data, protobuf=protobuf)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wire.frame(-1, b""), "outside 0..4294967295"),
        (lambda: wire.frame(2**32, b""), "outside"),
        (lambda: wire.encode_message_indexes([]), "at least one element"),
        (lambda: wire.encode_message_indexes([1, -1]), "never negative"),
    ],
)
def test_invalid_arguments_are_rejected(call: object, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        call()  # type: ignore[operator]


@given(schema_ids, bodies, st.booleans())
def test_schema_id_header_wins_over_prefix(schema_id: int, body: bytes, is_key: bool) -> None:
    name, value = wire.schema_id_header(schema_id, is_key=is_key)
    assert name == ("__key_schema_id" if is_key else "__value_schema_id")
    decoded = wire.split_payload(body, [("other", b"x"), (name, value)], is_key=is_key)
    assert (decoded.schema_id, decoded.body) == (schema_id, body)
    # the other side's header is not used: the payload prefix is read instead
    prefixed = wire.frame(5, body)
    assert wire.split_payload(prefixed, [(name, value)], is_key=not is_key).schema_id == 5


def test_guid_header_as_confluent_writes_it() -> None:
    guid = uuid.uuid4()
    header = SchemaId("AVRO", guid=str(guid)).guid_to_bytes()
    decoded = wire.split_payload(b"body", [("__value_schema_id", header)])
    assert decoded.ref.guid == guid and decoded.ref.schema_id is None and decoded.body == b"body"
    with pytest.raises(WireFormatError, match="GUID"):
        _ = decoded.schema_id
    with pytest.raises(WireFormatError, match="trailing"):
        wire.split_payload(b"", [("__value_schema_id", wire.encode_schema_ref(1) + b"!")])
