"""Confluent Schema Registry wire format, implemented once.

A framed payload is ``0x00`` (magic byte) + the schema id as a 4-byte big-endian unsigned int
+ (Protobuf only) the message-index array + the serialized body. The schema id is the registry's
global id, never the subject version (a common hand-written bug).

The message-index array locates the message type inside the ``.proto`` file: the path of
indexes from the file's top-level messages down through nested messages. It is written as a
zig-zag varint count followed by zig-zag varint indexes, except that the most common path ``[0]``
(the first top-level message) is written as the single byte ``0x00``.

Newer clients can also carry the schema id in the record headers ``__key_schema_id`` /
``__value_schema_id`` (same framing without the body, magic ``0x00`` + id, or ``0x01`` + a 16-byte
schema GUID); the body is then not prefixed. :func:`split_payload` understands both.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAGIC_BYTE = 0
MAGIC_BYTE_GUID = 1
KEY_SCHEMA_ID_HEADER = "__key_schema_id"
VALUE_SCHEMA_ID_HEADER = "__value_schema_id"
# Same ceiling as Confluent's clients: a longer array is corrupt input, not a real nesting depth.
MAX_MESSAGE_INDEXES = 100_000
MAX_SCHEMA_ID = 0xFFFF_FFFF
_MAX_VARINT_BYTES = 10  # a 64-bit value needs at most 10 groups of 7 bits
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_ID = struct.Struct(">bI")


class WireFormatError(ValueError):
    """The bytes are not a valid Confluent-framed payload (the message says what and where)."""


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """The writer schema a payload names: a registry id (usual) or a GUID (header form, magic 1)."""

    schema_id: int | None = None
    guid: uuid.UUID | None = None
    message_indexes: tuple[int, ...] | None = None  # Protobuf only


@dataclass(frozen=True, slots=True)
class Framed:
    """A decoded payload: which schema wrote it and the body bytes after the framing."""

    ref: SchemaRef
    body: bytes

    @property
    def schema_id(self) -> int:
        if self.ref.schema_id is None:
            raise WireFormatError("the payload names its schema by GUID, not by id")
        return self.ref.schema_id


# -- varints ---------------------------------------------------------------------------------------


def zigzag_encode(value: int) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise WireFormatError(f"value {value} does not fit a 64-bit zig-zag varint")
    return ((value << 1) ^ (value >> 63)) & 0xFFFF_FFFF_FFFF_FFFF


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def encode_varint(value: int, out: bytearray) -> None:
    """Append ``value`` (unsigned, < 2**64) as a base-128 varint."""
    if value < 0 or value > 0xFFFF_FFFF_FFFF_FFFF:
        raise WireFormatError(f"value {value} does not fit an unsigned 64-bit varint")
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise WireFormatError(f"truncated varint at byte {pos} (payload is {len(data)} bytes)")
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + i + 1
        shift += 7
    raise WireFormatError(f"varint at byte {pos} is longer than {_MAX_VARINT_BYTES} bytes")


# -- message indexes -------------------------------------------------------------------------------


def encode_message_indexes(indexes: Sequence[int]) -> bytes:
    """Encode a Protobuf message-index path (``[0]`` becomes the single byte ``0x00``)."""
    if not indexes:
        raise WireFormatError("a message-index path has at least one element; use [0] for the first message")
    if len(indexes) > MAX_MESSAGE_INDEXES:
        raise WireFormatError(f"message-index path has {len(indexes)} elements (limit {MAX_MESSAGE_INDEXES})")
    if any(i < 0 for i in indexes):
        raise WireFormatError(f"message indexes are never negative: {list(indexes)}")
    if len(indexes) == 1 and indexes[0] == 0:
        return b"\x00"
    out = bytearray()
    encode_varint(zigzag_encode(len(indexes)), out)
    for index in indexes:
        encode_varint(zigzag_encode(index), out)
    return bytes(out)


def decode_message_indexes(data: bytes | memoryview, pos: int) -> tuple[tuple[int, ...], int]:
    """Decode a message-index array at ``pos``; return (indexes, next position)."""
    raw, pos = decode_varint(data, pos)
    count = zigzag_decode(raw)
    if count == 0:
        return (0,), pos
    if count < 0 or count > MAX_MESSAGE_INDEXES:
        raise WireFormatError(
            f"invalid message-index array length {count} (0..{MAX_MESSAGE_INDEXES} allowed)"
        )
    # Each index takes at least one byte: a count larger than the rest is corrupt, reject before looping.
    if count > len(data) - pos:
        raise WireFormatError(
            f"message-index array claims {count} entries but only {len(data) - pos} bytes follow"
        )
    indexes: list[int] = []
    for _ in range(count):
        raw, pos = decode_varint(data, pos)
        index = zigzag_decode(raw)
        if index < 0:
            raise WireFormatError(f"negative message index {index} in the message-index array")
        indexes.append(index)
    return tuple(indexes), pos


# -- framing ---------------------------------------------------------------------------------------


def encode_schema_ref(schema_id: int, message_indexes: Sequence[int] | None = None) -> bytes:
    """The framing prefix: magic byte, big-endian id, then (Protobuf) the message indexes."""
    if not 0 <= schema_id <= MAX_SCHEMA_ID:
        raise WireFormatError(f"schema id {schema_id} is outside 0..{MAX_SCHEMA_ID}")
    prefix = _ID.pack(MAGIC_BYTE, schema_id)
    if message_indexes is not None:
        prefix += encode_message_indexes(message_indexes)
    return prefix


def frame(schema_id: int, body: bytes, message_indexes: Sequence[int] | None = None) -> bytes:
    """Prefix ``body`` with the Confluent framing for ``schema_id``."""
    return encode_schema_ref(schema_id, message_indexes) + body


def _decode_ref(data: bytes | memoryview, *, protobuf: bool, what: str) -> tuple[SchemaRef, int]:
    if len(data) < 1:
        raise WireFormatError(f"{what} is empty; expected magic byte 0 and a 4-byte schema id")
    magic = data[0]
    if magic == MAGIC_BYTE:
        if len(data) < 5:
            raise WireFormatError(
                f"{what} is {len(data)} bytes; the framing needs 5 (magic byte + 4-byte id)"
            )
        schema_id = int.from_bytes(data[1:5], "big")
        pos = 5
        guid = None
    elif magic == MAGIC_BYTE_GUID:
        if len(data) < 17:
            raise WireFormatError(
                f"{what} is {len(data)} bytes; GUID framing needs 17 (magic 1 + 16-byte GUID)"
            )
        guid = uuid.UUID(bytes=bytes(data[1:17]))
        schema_id = None
        pos = 17
    else:
        raise WireFormatError(
            f"{what} starts with byte {magic:#04x}, not the magic byte 0x00: "
            "it was not written by a Schema Registry serializer"
        )
    indexes = None
    if protobuf:
        indexes, pos = decode_message_indexes(data, pos)
    return SchemaRef(schema_id=schema_id, guid=guid, message_indexes=indexes), pos


def unframe(data: bytes, *, protobuf: bool = False) -> Framed:
    """Split a framed payload into the writer schema reference and the body."""
    ref, pos = _decode_ref(data, protobuf=protobuf, what="payload")
    return Framed(ref=ref, body=data[pos:])


HeaderList = list[tuple[str, bytes | None]]


def header_value(headers: Iterable[tuple[str, bytes | str | None]] | None, name: str) -> bytes | None:
    """The last value of header ``name`` (Kafka allows repeats; the last one wins, as in Java clients)."""
    found: bytes | None = None
    for key, value in headers or ():
        if key == name and value is not None:
            found = value.encode() if isinstance(value, str) else value
    return found


def schema_id_header(
    schema_id: int, *, is_key: bool, message_indexes: Sequence[int] | None = None
) -> tuple[str, bytes]:
    """The ``__key_schema_id`` / ``__value_schema_id`` header carrying the id instead of a prefix."""
    name = KEY_SCHEMA_ID_HEADER if is_key else VALUE_SCHEMA_ID_HEADER
    return name, encode_schema_ref(schema_id, message_indexes)


def split_payload(
    data: bytes,
    headers: Iterable[tuple[str, bytes | str | None]] | None = None,
    *,
    is_key: bool = False,
    protobuf: bool = False,
) -> Framed:
    """Find the writer schema of a key or value: the schema-id header if present, else the prefix."""
    name = KEY_SCHEMA_ID_HEADER if is_key else VALUE_SCHEMA_ID_HEADER
    raw = header_value(headers, name)
    if raw is not None:
        ref, pos = _decode_ref(raw, protobuf=protobuf, what=f"header {name}")
        if pos != len(raw):
            raise WireFormatError(f"header {name} has {len(raw) - pos} unexpected trailing bytes")
        return Framed(ref=ref, body=data)
    return unframe(data, protobuf=protobuf)
