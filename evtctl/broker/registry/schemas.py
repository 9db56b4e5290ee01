"""Turning registration requests into parsed schemas with evtctl's compatibility engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from evtctl.broker.registry import errors
from evtctl.broker.registry.protobuf_text import decode_descriptor, descriptor_to_text, with_builtin_imports
from evtctl.broker.registry.store import Reference, StoredSchema
from evtctl.compat import MAX_SCHEMA_BYTES, ParsedSchema, parse_schema
from evtctl.errors import EvtctlError

SCHEMA_TYPES = ("JSON", "PROTOBUF", "AVRO")  # the order Confluent's /schemas/types answers with
MAX_REFERENCE_DEPTH = 64


def schema_type_of(raw: object) -> str:
    if raw is None:
        return "AVRO"
    if not isinstance(raw, str) or raw.upper() not in SCHEMA_TYPES:
        raise errors.invalid_schema(f"Invalid schema type {raw!r}; valid types are AVRO, PROTOBUF and JSON")
    return raw.upper()


def source_text(schema_type: str, text: str) -> str:
    """Protobuf schemas sent as base64 ``FileDescriptorProto`` (Confluent's Python/Go serializers)
    become ``.proto`` source, the form Confluent stores and everything else sends."""
    if schema_type == "PROTOBUF":
        fdp = decode_descriptor(text)
        if fdp is not None:
            return descriptor_to_text(fdp)
    return text


def resolve_references(
    references: Sequence[Reference],
    lookup: Callable[[str, int], StoredSchema | None],
) -> dict[str, str]:
    """name -> schema text for every reference, transitively (a Protobuf import's own imports
    must be present too). Missing targets and cycles are invalid schemas (42201)."""
    resolved: dict[str, str] = {}

    def visit(refs: Sequence[Reference], chain: tuple[tuple[str, int], ...]) -> None:
        if len(chain) > MAX_REFERENCE_DEPTH:
            raise errors.invalid_schema(f"Schema references are nested deeper than {MAX_REFERENCE_DEPTH}")
        for ref in refs:
            target = (ref.subject, ref.version)
            if target in chain:
                cycle = " -> ".join(f"{s}/{v}" for s, v in (*chain, target))
                raise errors.invalid_schema(f"Invalid schema: reference cycle {cycle}")
            stored = lookup(ref.subject, ref.version)
            if stored is None:
                raise errors.invalid_schema(
                    f"Invalid schema: reference '{ref.name}' points to subject '{ref.subject}' "
                    f"version {ref.version}, which does not exist"
                )
            visit(stored.references, (*chain, target))
            resolved.setdefault(ref.name, stored.text)

    visit(references, ())
    return resolved


def parse(schema_type: str, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
    """Parse with the compat engine; its located error becomes Confluent's 42201 answer."""
    if len(text.encode("utf-8")) > MAX_SCHEMA_BYTES:
        raise errors.invalid_schema(f"Invalid schema: larger than {MAX_SCHEMA_BYTES} bytes")
    if schema_type == "PROTOBUF":
        references = with_builtin_imports(text, references)
    try:
        return parse_schema(schema_type, text, references=references, origin=origin)
    except EvtctlError as err:
        where = f" at {err.location}" if err.location is not None and str(err.location) else ""
        raise errors.invalid_schema(f"Invalid schema of type {schema_type}{where}: {err.message}") from None
    except RecursionError:
        raise errors.invalid_schema("Invalid schema: nested too deeply") from None
