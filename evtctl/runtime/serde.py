"""Serializers for generated clients: Confluent framing + Avro / JSON Schema / Protobuf bodies.

Writing: the body is encoded with the generated (reader) schema and framed with the id that schema
has under its subject (looked up once, cached). Reading: the writer schema is ALWAYS resolved by the
id in the payload (cached per id) and the body is decoded with it, then projected onto the generated
model (Avro schema resolution with writer + reader schema), so an event written with a newer
compatible schema reads correctly and fields the reader does not know are dropped, not fatal.
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

import fastavro

from evtctl.registry.client import SCHEMA_NOT_FOUND, RegistryError, SchemaById
from evtctl.runtime.registry import SchemaCache, UnresolvedReferenceError, WriterId
from evtctl.runtime.wire import WireFormatError, frame, split_payload

T = TypeVar("T")
HeadersIn = Iterable[tuple[str, bytes | str | None]] | None


class Record(Protocol):
    """What generated dataclasses provide: a plain-data form for the encoder and back."""

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...


class DeserializationError(ValueError):
    """A payload could not be decoded (bad framing, wrong schema type, body not matching its schema)."""


class Codec(Generic[T]):
    """Converts a typed value to the encoder's plain data and back (records: to_dict/from_dict)."""

    def __init__(self, encode: Callable[[T], Any], decode: Callable[[Any], T]) -> None:
        self.encode = encode
        self.decode = decode


def record_codec(cls: type[Any]) -> Codec[Any]:
    return Codec(lambda value: value.to_dict(), cls.from_dict)


def message_codec() -> Codec[Any]:
    """Protobuf: the generated message class is the model, nothing to convert."""
    return Codec(lambda value: value, lambda value: value)


def protobuf_dict_codec(message_type: Any) -> Codec[dict[str, Any]]:
    """Protobuf carrying JSON-like dicts (proto field names), as contract examples are written.

    Reading back gives every field (defaults included) and 64-bit integers as ints, not the
    strings of protobuf's JSON mapping, so values compare with what was sent.
    """
    from google.protobuf import json_format

    def encode(value: dict[str, Any]) -> Any:
        return json_format.ParseDict(value, message_type())

    def decode(message: Any) -> dict[str, Any]:
        data: dict[str, Any] = json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        _int64s_as_ints(message.DESCRIPTOR, data)
        return data

    return Codec(encode, decode)


_INT64_TYPES = frozenset({3, 4, 6, 16, 18})  # INT64, UINT64, FIXED64, SFIXED64, SINT64


def _int64s_as_ints(descriptor: Any, data: dict[str, Any]) -> None:
    for field in descriptor.fields:
        if field.name not in data:
            continue
        value = data[field.name]
        # protobuf 6 added is_repeated; 7 removed label.
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        message = field.message_type
        if field.type in _INT64_TYPES:
            data[field.name] = [int(v) for v in value] if repeated else int(value)
        elif message is not None and not message.full_name.startswith("google.protobuf."):
            if message.GetOptions().map_entry:
                inner = message.fields_by_name["value"]
                for key, item in value.items():
                    if inner.type in _INT64_TYPES:
                        value[key] = int(item)
                    elif inner.message_type is not None:
                        _int64s_as_ints(inner.message_type, item)
            elif repeated:
                for item in value:
                    _int64s_as_ints(message, item)
            else:
                _int64s_as_ints(message, value)


def plain_codec(kind: type[T]) -> Codec[T]:
    """For primitive (non-record) schemas, such as a string key."""

    def decode(obj: Any) -> T:
        if not isinstance(obj, kind):
            raise DeserializationError(f"expected {kind.__name__}, decoded {type(obj).__name__}")
        return obj

    return Codec(lambda value: value, decode)


class Serde(Generic[T]):
    """Base: subject, own schema text, framing and writer resolution; subclasses encode bodies."""

    schema_type = "AVRO"

    def __init__(
        self,
        *,
        subject: str,
        schema: str,
        codec: Codec[T],
        cache: SchemaCache,
        is_key: bool = False,
        auto_register: bool = False,
        references: tuple[tuple[str, str, int | None], ...] = (),
    ) -> None:
        self.references = references
        self.subject = subject
        self.schema = schema
        self.codec = codec
        self.cache = cache
        self.is_key = is_key
        self.auto_register = auto_register

    def writer(self) -> WriterId:
        return self.cache.writer_id(
            self.subject,
            self.schema,
            self.schema_type,
            auto_register=self.auto_register,
            references=self.references,
        )

    def serialize(self, value: T) -> bytes:
        return frame(self.writer().schema_id, self.encode_body(value), self.message_indexes())

    def deserialize(self, data: bytes, headers: HeadersIn = None) -> T:
        try:
            framed = split_payload(
                data, headers, is_key=self.is_key, protobuf=self.message_indexes() is not None
            )
        except WireFormatError as exc:
            raise DeserializationError(str(exc)) from exc
        if framed.ref.schema_id is None:
            raise DeserializationError(
                "payload names its writer schema by GUID; this registry resolves ids only"
            )
        try:
            writer = self.cache.schema(framed.ref.schema_id)
        except RegistryError as exc:
            if exc.error_code != SCHEMA_NOT_FOUND:
                raise  # registry trouble is not the payload's fault: do not dead-letter it
            raise DeserializationError(
                f"writer schema id {framed.ref.schema_id} is not in the registry"
            ) from exc
        if writer.schema_type.upper() != self.schema_type:
            raise DeserializationError(
                f"schema id {framed.ref.schema_id} is a {writer.schema_type} schema, "
                f"this {'key' if self.is_key else 'value'} expects {self.schema_type}"
            )
        try:
            return self.decode_body(framed.body, framed.ref.schema_id)
        except (DeserializationError, RegistryError):
            raise  # registry trouble (other than a missing schema) is not the payload's fault
        except Exception as exc:  # any decoder failure is a poison payload, reported with its cause
            raise DeserializationError(
                f"body does not decode with writer schema id {framed.ref.schema_id}: {exc}"
            ) from exc

    def message_indexes(self) -> tuple[int, ...] | None:
        return None

    def encode_body(self, value: T) -> bytes:
        raise NotImplementedError

    def decode_body(self, body: bytes, writer_id: int) -> T:
        raise NotImplementedError


def avro_named_schemas(references: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """fastavro's named types of referenced schemas ``(name, text)``, in any order (a reference may
    use the names of another)."""
    named: dict[str, Any] = {}
    todo = [(name, json.loads(text)) for name, text in references]
    while todo:
        left: list[tuple[str, Any]] = []
        failure: Exception | None = None
        for name, obj in todo:
            trial = dict(named)
            try:
                fastavro.parse_schema(obj, named_schemas=trial)
            except fastavro.schema.UnknownType as exc:
                left.append((name, obj))
                failure = exc
                continue
            named = trial
        if failure is not None and len(left) == len(todo):
            raise DeserializationError(f"referenced schemas use an undefined name: {failure}")
        todo = left
    return named


def parse_avro(schema: str, references: Iterable[tuple[str, str]] = ()) -> Any:
    """A self-contained parsed Avro schema: the named types of ``references`` are inlined."""
    obj = json.loads(schema)
    refs = list(references)
    if refs:
        obj = fastavro.parse_schema(obj, named_schemas=avro_named_schemas(refs), expand=True)
    return fastavro.parse_schema(obj, named_schemas={})


class AvroSerde(Serde[T]):
    schema_type = "AVRO"

    def __init__(self, *, reference_schemas: Iterable[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reader = parse_avro(self.schema, reference_schemas)

    def encode_body(self, value: T) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self.reader, self.codec.encode(value))
        return buf.getvalue()

    def _parse_writer(self, schema: SchemaById) -> Any:
        """The writer schema with its references (fetched from the registry, recursively)."""
        try:
            references = self.cache.resolve_references(schema.references) if schema.references else []
        except UnresolvedReferenceError as exc:
            raise DeserializationError(f"writer schema id {schema.id}: {exc}") from exc
        return parse_avro(schema.schema, references)

    def decode_body(self, body: bytes, writer_id: int) -> T:
        writer = self.cache.parsed("avro", writer_id, self._parse_writer)
        buf = io.BytesIO(body)
        obj = fastavro.schemaless_reader(buf, writer, self.reader)
        if buf.tell() != len(body):
            raise DeserializationError(
                f"{len(body) - buf.tell()} bytes left after decoding with writer schema id {writer_id}"
            )
        return self.codec.decode(obj)


def _json_validator(schema: SchemaById) -> Any:
    # Deferred (only JSON Schema topics pay for it) and untyped for users' type checkers.
    jsonschema: Any = importlib.import_module("jsonschema")
    parsed = json.loads(schema.schema)
    cls = jsonschema.validators.validator_for(parsed)
    return cls(parsed, format_checker=cls.FORMAT_CHECKER)


class JsonSchemaSerde(Serde[T]):
    """JSON body; the writer's schema validates what is read (projection is by field name)."""

    schema_type = "JSON"

    def __init__(self, *, validate: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validate = validate
        self._own: Any = None

    def encode_body(self, value: T) -> bytes:
        obj = self.codec.encode(value)
        if self.validate:
            if self._own is None:
                self._own = _json_validator(SchemaById(id=-1, schema=self.schema, schema_type="JSON"))
            self._own.validate(obj)
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def decode_body(self, body: bytes, writer_id: int) -> T:
        obj = json.loads(body)
        if self.validate:
            self.cache.parsed("json", writer_id, _json_validator).validate(obj)
        return self.codec.decode(obj)


def protobuf_message_indexes(descriptor: Any) -> tuple[int, ...]:
    """The path of a message descriptor inside its file: indexes from the top level down."""
    path: list[int] = []
    current = descriptor
    while current.containing_type is not None:
        parent = current.containing_type
        path.append(list(parent.nested_types).index(current))
        current = parent
    top_level = list(current.file.message_types_by_name.values())
    path.append(top_level.index(current))
    return tuple(reversed(path))


class ProtobufSerde(Serde[T]):
    """Protobuf body of a protoc-generated message class; unknown fields are kept by protobuf itself."""

    schema_type = "PROTOBUF"

    def __init__(self, *, message_type: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message_type = message_type
        self._indexes = protobuf_message_indexes(message_type.DESCRIPTOR)

    def message_indexes(self) -> tuple[int, ...] | None:
        return self._indexes

    def encode_body(self, value: T) -> bytes:
        data: bytes = self.codec.encode(value).SerializeToString()
        return data

    def decode_body(self, body: bytes, writer_id: int) -> T:
        return self.codec.decode(self.message_type.FromString(body))


class StringKeySerde:
    """A key without a registered key schema: the partition-key value as UTF-8 text."""

    def serialize(self, value: object) -> bytes:
        return str(value).encode()

    def deserialize(self, data: bytes, headers: HeadersIn = None) -> str:
        return data.decode("utf-8", errors="replace")
