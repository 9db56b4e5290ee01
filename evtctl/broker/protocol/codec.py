"""A Kafka message codec compiled from Apache Kafka's JSON message specs.

The specs in ``specs/`` are Apache Kafka's own (Apache-2.0, as shipped by kafka-python 3.0.12). For each
(message, version) we compile a decoder and an encoder once, as closures over ``struct`` calls, so the
hot path does no spec interpretation. Messages are plain dicts with snake_case keys
(``ThrottleTimeMs`` -> ``throttle_time_ms``). ``records`` fields stay opaque bytes: the broker never
decodes record batches on the produce or fetch path.

Tagged fields are written only when they differ from their default (old librdkafka, e.g. 2.0.2 in
Debian's kcat, cannot parse some of them), and unknown tagged fields are skipped on read.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).with_name("specs")

Message = dict[str, Any]
Reader = Callable[[memoryview, int], tuple[Any, int]]
Writer = Callable[[bytearray, Any], None]


class DecodeError(ValueError):
    """The bytes do not form a valid message of the expected version."""


# ---------------------------------------------------------------------------------------- primitives

_i8 = struct.Struct(">b")
_i16 = struct.Struct(">h")
_i32 = struct.Struct(">i")
_i64 = struct.Struct(">q")
_u16 = struct.Struct(">H")
_u32 = struct.Struct(">I")
_f64 = struct.Struct(">d")


def read_uvarint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def write_uvarint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    raw, pos = read_uvarint(buf, pos)
    return (raw >> 1) ^ -(raw & 1), pos


def write_varint(out: bytearray, value: int) -> None:
    write_uvarint(out, (value << 1) ^ (value >> 63))


def _fixed(st: struct.Struct) -> tuple[Reader, Writer]:
    size = st.size
    unpack = st.unpack_from
    pack = st.pack

    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        if pos + size > len(buf):
            raise DecodeError("truncated message")
        return unpack(buf, pos)[0], pos + size

    def write(out: bytearray, value: Any) -> None:
        out += pack(value)

    return read, write


def _bool_rw() -> tuple[Reader, Writer]:
    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise DecodeError("truncated message")
        return buf[pos] != 0, pos + 1

    def write(out: bytearray, value: Any) -> None:
        out.append(1 if value else 0)

    return read, write


def _uuid_rw() -> tuple[Reader, Writer]:
    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        if pos + 16 > len(buf):
            raise DecodeError("truncated uuid")
        return uuid.UUID(bytes=bytes(buf[pos : pos + 16])), pos + 16

    def write(out: bytearray, value: Any) -> None:
        out += value.bytes if isinstance(value, uuid.UUID) else (value or bytes(16))

    return read, write


def _length_read(buf: memoryview, pos: int, compact: bool, width: struct.Struct) -> tuple[int, int]:
    """A length prefix; -1 means null."""
    if compact:
        n, pos = read_uvarint(buf, pos)
        return n - 1, pos
    if pos + width.size > len(buf):
        raise DecodeError("truncated length")
    return width.unpack_from(buf, pos)[0], pos + width.size


def _length_write(out: bytearray, n: int, compact: bool, width: struct.Struct) -> None:
    if compact:
        write_uvarint(out, n + 1)
    else:
        out += width.pack(n)


def _bytes_rw(compact: bool, nullable: bool, as_str: bool, view: bool = False) -> tuple[Reader, Writer]:
    """Strings, bytes, and (``view``) record sets, which are read as a memoryview into the request."""
    width = _i16 if as_str else _i32

    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        n, pos = _length_read(buf, pos, compact, width)
        if n < 0:
            if not nullable and as_str:
                raise DecodeError("null for a non-nullable string")
            return None, pos
        end = pos + n
        if end > len(buf):
            raise DecodeError("truncated string or bytes")
        chunk = buf[pos:end]
        if as_str:
            try:
                return str(chunk, "utf-8"), end
            except UnicodeDecodeError:
                raise DecodeError("invalid UTF-8 in string") from None
        return (chunk if view else bytes(chunk)), end

    def write(out: bytearray, value: Any) -> None:
        if value is None:
            _length_write(out, -1, compact, width)
            return
        data = value.encode("utf-8") if isinstance(value, str) else value
        _length_write(out, len(data), compact, width)
        if len(data) >= ATTACH_THRESHOLD and isinstance(out, ChunkedBuffer):
            out.attach(data)  # record batches of a fetch: referenced, not copied
        else:
            out += data

    return read, write


_PRIMITIVES: dict[str, tuple[Reader, Writer]] = {
    "int8": _fixed(_i8),
    "int16": _fixed(_i16),
    "int32": _fixed(_i32),
    "int64": _fixed(_i64),
    "uint16": _fixed(_u16),
    "uint32": _fixed(_u32),
    "float64": _fixed(_f64),
    "bool": _bool_rw(),
    "uuid": _uuid_rw(),
}

ZERO_UUID = uuid.UUID(int=0)


class Raw(bytes):
    """An array field's complete encoding (length prefix and items), written as it is.

    Handlers that answer with the same large arrays again and again (DescribeConfigs of thousands of
    topics) encode them once and hand the bytes in place of the list: see :func:`array_prefix` and
    :func:`element_writer`."""


class RawParts(tuple[bytes, ...]):
    """Like :class:`Raw`, in pieces written one after the other: a handler answering with megabytes
    (DescribeConfigs of 10,000 topics) joins its elements into pieces of a convenient size instead of
    one string (each copy of 14 MB costs ~10 ms), and large pieces are referenced, not copied."""


def array_prefix(count: int, flexible: bool) -> bytes:
    """The length prefix of an array of ``count`` items at a (non-)flexible version."""
    out = bytearray()
    _length_write(out, count, flexible, _i32)
    return bytes(out)


ATTACH_THRESHOLD = 32 * 1024
Chunk = bytes | bytearray | memoryview


class ChunkedBuffer(bytearray):
    """An output buffer that keeps large byte strings by reference: encoding a 1 MB fetch response then
    costs no megabyte copies (each copy of fresh memory also page-faults). ``finish()`` returns the chunks
    in order."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[Chunk] = []

    def attach(self, data: Chunk) -> None:
        if self:
            self.chunks.append(bytes(self))
            self.clear()
        self.chunks.append(data)

    def finish(self) -> list[Chunk]:
        if self:
            self.chunks.append(bytes(self))
            self.clear()
        return self.chunks


# ---------------------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class VersionRange:
    low: int
    high: int  # inclusive; a large number for "N+"

    @classmethod
    def parse(cls, text: str | None) -> VersionRange:
        if text is None or text == "none":
            return cls(1, 0)  # empty
        if text.endswith("+"):
            return cls(int(text[:-1]), 1 << 15)
        if "-" in text:
            lo, hi = text.split("-")
            return cls(int(lo), int(hi))
        return cls(int(text), int(text))

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.low <= version <= self.high


_COMMENTS = re.compile(r"(?m)^\s*//.*\n?")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


@cache
def load_spec(name: str) -> dict[str, Any]:
    """The JSON spec ``name`` (e.g. ``"FetchRequest"``), with common structs resolved."""
    text = (SPEC_DIR / f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(_COMMENTS.sub("", text))
    common = {s["name"]: s["fields"] for s in data.get("commonStructs", [])}

    def resolve(fields: list[dict[str, Any]]) -> None:
        for f in fields:
            inner = f["type"][2:] if f["type"].startswith("[]") else f["type"]
            if inner in common and "fields" not in f:
                f["fields"] = common[inner]
            if "fields" in f:
                resolve(f["fields"])

    resolve(data.get("fields", []))
    return data


def _default_for(field: dict[str, Any], version: int, flexible: bool) -> Any:
    ftype: str = field["type"]
    default = field.get("default")
    nullable = version in VersionRange.parse(field.get("nullableVersions"))
    if ftype.startswith("[]"):
        return None if (nullable and default == "null") else []
    if ftype in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        if default is None or default == "":
            return 0
        return int(str(default), 0)
    if ftype == "float64":
        return float(default) if default not in (None, "") else 0.0
    if ftype == "bool":
        return str(default).lower() == "true" if default is not None else False
    if ftype == "string":
        if default == "null":
            return None
        return "" if default is None else str(default)
    if ftype == "bytes":
        return None if (nullable and default == "null") else b""
    if ftype == "records":
        return None
    if ftype == "uuid":
        return ZERO_UUID
    # struct
    return _struct_defaults(field.get("fields", []), version, flexible)


def _struct_defaults(fields: list[dict[str, Any]], version: int, flexible: bool) -> Message:
    return {
        snake(f["name"]): _default_for(f, version, flexible)
        for f in fields
        if version in VersionRange.parse(f.get("versions"))
    }


def _field_rw(field: dict[str, Any], version: int, flexible: bool) -> tuple[Reader, Writer]:
    ftype: str = field["type"]
    nullable = version in VersionRange.parse(field.get("nullableVersions"))
    if ftype.startswith("[]"):
        inner = ftype[2:]
        if inner in _PRIMITIVES or inner in ("string", "bytes"):
            item_r, item_w = _type_rw(inner, field, version, flexible, nullable=False)
        else:
            item_r, item_w = _struct_rw(field.get("fields", []), version, flexible)
        return _array_rw(item_r, item_w, flexible, nullable)
    return _type_rw(ftype, field, version, flexible, nullable=nullable)


def _type_rw(
    ftype: str, field: dict[str, Any], version: int, flexible: bool, *, nullable: bool
) -> tuple[Reader, Writer]:
    if ftype in _PRIMITIVES:
        return _PRIMITIVES[ftype]
    if ftype == "string":
        return _bytes_rw(flexible, nullable, as_str=True)
    if ftype in ("bytes", "records"):
        if ftype == "records":
            return _bytes_rw(flexible, True, as_str=False, view=True)
        return _bytes_rw(flexible, nullable, as_str=False)
    return _struct_rw(field.get("fields", []), version, flexible)


def _array_rw(item_r: Reader, item_w: Writer, compact: bool, nullable: bool) -> tuple[Reader, Writer]:
    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        n, pos = _length_read(buf, pos, compact, _i32)
        if n < 0:
            return (None if nullable else []), pos
        if n > len(buf) - pos:  # every element takes at least one byte: reject absurd counts early
            raise DecodeError("array length exceeds the message")
        items = []
        for _ in range(n):
            item, pos = item_r(buf, pos)
            items.append(item)
        return items, pos

    def write(out: bytearray, value: Any) -> None:
        if type(value) is Raw:  # pre-encoded by the handler (length prefix included)
            if len(value) >= ATTACH_THRESHOLD and isinstance(out, ChunkedBuffer):
                out.attach(value)  # large pre-encoded arrays: referenced, not copied
            else:
                out += value
            return
        if type(value) is RawParts:
            for piece in value:
                if len(piece) >= ATTACH_THRESHOLD and isinstance(out, ChunkedBuffer):
                    out.attach(piece)
                else:
                    out += piece
            return
        if value is None:
            _length_write(out, -1, compact, _i32)
            return
        _length_write(out, len(value), compact, _i32)
        for item in value:
            item_w(out, item)

    return read, write


def skip_tagged_fields(buf: memoryview, pos: int) -> int:
    """Past a tagged-fields section whose tags nobody reads (request headers, hand-written readers)."""
    count, pos = read_uvarint(buf, pos)
    for _ in range(count):
        _, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
        if pos > len(buf):
            raise DecodeError("truncated tagged field")
    return pos


def _skip_tagged(buf: memoryview, pos: int) -> tuple[int, int]:
    size, pos = read_uvarint(buf, pos)
    if pos + size > len(buf):
        raise DecodeError("truncated tagged field")
    return size, pos + size


def _struct_rw(fields: list[dict[str, Any]], version: int, flexible: bool) -> tuple[Reader, Writer]:
    plain: list[tuple[str, Reader, Writer]] = []
    tagged: dict[int, tuple[str, Reader, Writer, Any]] = {}
    defaults: Message = {}
    for f in fields:
        if version not in VersionRange.parse(f.get("versions")):
            continue
        key = snake(f["name"])
        r, w = _field_rw(f, version, flexible)
        default = _default_for(f, version, flexible)
        defaults[key] = default
        if flexible and "tag" in f and version in VersionRange.parse(f.get("taggedVersions")):
            tagged[int(f["tag"])] = (key, r, w, default)
        else:
            plain.append((key, r, w))
    tagged_order = sorted(tagged.items())

    def read(buf: memoryview, pos: int) -> tuple[Any, int]:
        msg: Message = {}
        for key, r, _ in plain:
            msg[key], pos = r(buf, pos)
        if flexible:
            count, pos = read_uvarint(buf, pos)
            for _ in range(count):
                tag, pos = read_uvarint(buf, pos)
                size, pos = read_uvarint(buf, pos)
                end = pos + size
                if end > len(buf):
                    raise DecodeError("truncated tagged field")
                if tag in tagged:
                    key, r, _, _ = tagged[tag]
                    msg[key], _ = r(buf[:end], pos)
                pos = end
            for key, _, _, default in tagged.values():
                msg.setdefault(key, default)
        return msg, pos

    def write(out: bytearray, value: Any) -> None:
        get = value.get
        for key, _, w in plain:
            v = get(key)
            w(out, defaults[key] if v is None and key not in value else v)
        if flexible:
            present = []
            for tag, (key, _, w, default) in tagged_order:
                v = get(key, default)
                if v is not None and v != default:
                    present.append((tag, w, v))
            write_uvarint(out, len(present))
            for tag, w, v in present:
                body = bytearray()
                w(body, v)
                write_uvarint(out, tag)
                write_uvarint(out, len(body))
                out += body

    return read, write


@dataclass(frozen=True, slots=True)
class MessageCodec:
    name: str
    version: int
    flexible: bool
    reader: Reader
    writer: Writer
    defaults: Message

    def decode(self, data: bytes | memoryview, pos: int = 0) -> Message:
        buf = data if isinstance(data, memoryview) else memoryview(data)
        try:
            msg, _ = self.reader(buf, pos)
        except (struct.error, IndexError) as err:
            raise DecodeError(f"{self.name} v{self.version}: {err}") from None
        except DecodeError as err:
            raise DecodeError(f"{self.name} v{self.version}: {err}") from None
        return dict(msg)

    def encode(self, msg: Message, out: bytearray | None = None) -> bytearray:
        buf = bytearray() if out is None else out
        self.writer(buf, msg)
        return buf


@cache
def codec(name: str, version: int) -> MessageCodec:
    """The codec for message ``name`` (e.g. ``"MetadataResponse"``) at ``version``: the compiled one,
    with the reader registered by :func:`register_fast_reader` if there is one."""
    compiled = generic_codec(name, version)
    factory = _FAST_READERS.get(name)
    fast = factory(version, compiled.flexible) if factory is not None else None
    return compiled if fast is None else replace(compiled, reader=fast)


@cache
def generic_codec(name: str, version: int) -> MessageCodec:
    """The codec compiled from the spec alone (the reference a hand-written reader is tested against)."""
    spec = load_spec(name)
    flexible = version in VersionRange.parse(spec.get("flexibleVersions"))
    fields = spec.get("fields", [])
    reader, writer = _struct_rw(fields, version, flexible)
    return MessageCodec(name, version, flexible, reader, writer, _struct_defaults(fields, version, flexible))


# Hand-written readers, by message name: a factory from (version, flexible) to a reader, or None to
# keep the compiled one. Only for requests whose generic decoding dominates their cost (DescribeConfigs
# of 10,000 topics); each must decode exactly what the compiled reader decodes.
ReaderFactory = Callable[[int, bool], Reader | None]
_FAST_READERS: dict[str, ReaderFactory] = {}


def register_fast_reader(name: str, factory: ReaderFactory) -> None:
    _FAST_READERS[name] = factory
    codec.cache_clear()  # codecs of ``name`` built before the registration


@cache
def element_writer(name: str, version: int, *path: str) -> Writer:
    """The writer of one element of the (nested) array field ``path`` of message ``name``, e.g.
    ``element_writer("DescribeConfigsResponse", 1, "results", "configs")`` for one config entry."""
    spec = load_spec(name)
    flexible = version in VersionRange.parse(spec.get("flexibleVersions"))
    fields: list[dict[str, Any]] = spec.get("fields", [])
    for step in path:
        field = next((f for f in fields if snake(f["name"]) == step), None)
        if field is None or "fields" not in field:
            raise KeyError(f"{name} has no struct array {'.'.join(path)}")
        fields = field["fields"]
    return _struct_rw(fields, version, flexible)[1]


def is_flexible(name: str, version: int) -> bool:
    return version in VersionRange.parse(load_spec(name).get("flexibleVersions"))
