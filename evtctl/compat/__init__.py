"""Schema compatibility engine: Avro, Protobuf and JSON Schema behind one interface.

Public API (see /work/notes/INTERFACES.md and docs/compat.md)::

    parse_schema(schema_type, text, references={}, origin="<input>") -> ParsedSchema
    parse_schema_file(path, schema_type=None, reference_paths=()) -> ParsedSchema
    check_compatibility(candidate, history_oldest_first, level) -> CompatReport
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

from evtctl.compat.jsonpos import too_large
from evtctl.compat.levels import LEVELS, clear_cache, normalize_level, run_level
from evtctl.compat.model import (
    MAX_SCHEMA_BYTES,
    SCHEMA_TYPES,
    CompatReport,
    FormatChecker,
    ParsedSchema,
    SchemaType,
    Violation,
    sha256_hex,
)
from evtctl.errors import InputError, Location, UsageError

__all__ = [
    "LEVELS",
    "MAX_SCHEMA_BYTES",
    "SCHEMA_TYPES",
    "CompatReport",
    "FormatChecker",
    "ParsedSchema",
    "SchemaType",
    "Violation",
    "check_compatibility",
    "checker_for",
    "clear_cache",
    "clear_parse_cache",
    "guess_schema_type",
    "normalize_level",
    "normalize_schema_type",
    "parse_schema",
    "parse_schema_file",
]

_checkers: dict[str, FormatChecker] = {}


def normalize_schema_type(schema_type: str) -> SchemaType:
    value = schema_type.strip().upper()
    aliases: dict[str, SchemaType] = {
        "AVRO": "AVRO",
        "AVSC": "AVRO",
        "PROTOBUF": "PROTOBUF",
        "PROTO": "PROTOBUF",
        "JSON": "JSON",
        "JSONSCHEMA": "JSON",
        "JSON_SCHEMA": "JSON",
    }
    if value not in aliases:
        raise UsageError(f"unknown schema type '{schema_type}'", help="use avro, protobuf or json")
    return aliases[value]


def checker_for(schema_type: str) -> FormatChecker:
    st = normalize_schema_type(schema_type)
    checker = _checkers.get(st)
    if checker is None:
        # Imported lazily: protobuf pulls in grpc_tools, which is slow to import.
        if st == "AVRO":
            from evtctl.compat.avro import AvroChecker

            checker = AvroChecker()
        elif st == "PROTOBUF":
            from evtctl.compat.protobuf import ProtobufChecker

            checker = ProtobufChecker()
        else:
            from evtctl.compat.jsonschema import JsonSchemaChecker

            checker = JsonSchemaChecker()
        _checkers[st] = checker
    return checker


_PARSE_CACHE_SIZE = 4096
_parse_cache: OrderedDict[tuple[str, str, str, tuple[tuple[str, str], ...]], ParsedSchema] = OrderedDict()


def clear_parse_cache() -> None:
    """Forget parsed schemas (benchmarks measure cold parses with it)."""
    _parse_cache.clear()


def parse_schema(
    schema_type: str,
    text: str,
    *,
    references: Mapping[str, str] | None = None,
    origin: str = "<input>",
) -> ParsedSchema:
    """Parse and normalize a schema; cached by its text, origin and references.

    ``references`` maps a reference name (Avro: any label; Protobuf: the import path; JSON
    Schema: the ``$ref`` URI or file name) to that schema's text. Raises ``InputError`` located
    inside ``origin``.
    """
    st = normalize_schema_type(schema_type)
    refs = dict(references or {})
    key = (st, origin, sha256_hex(text), tuple((k, sha256_hex(v)) for k, v in sorted(refs.items())))
    hit = _parse_cache.get(key)
    if hit is not None:
        _parse_cache.move_to_end(key)
        return hit
    # Objects are not shared between texts with one fingerprint: each keeps its own text and
    # origin for locations. Compatibility results are cached by fingerprint (levels.py).
    parsed = checker_for(st).parse(text, refs, origin)
    _parse_cache[key] = parsed
    if len(_parse_cache) > _PARSE_CACHE_SIZE:
        _parse_cache.popitem(last=False)
    return parsed


_EXTENSIONS: dict[str, SchemaType] = {".avsc": "AVRO", ".avro": "AVRO", ".proto": "PROTOBUF", ".json": "JSON"}


def guess_schema_type(path: Path) -> SchemaType:
    st = _EXTENSIONS.get(path.suffix.lower())
    if st is None:
        raise UsageError(
            f"cannot tell the schema type of {path} from its extension",
            help="pass --type avro|protobuf|json",
        )
    return st


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SCHEMA_BYTES:
            raise too_large(size, str(path))
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"schema is not UTF-8 text ({err.reason})", location=Location(str(path))) from None
    except OSError as err:
        raise InputError(f"cannot read schema: {err.strerror}", location=Location(str(path))) from None


def parse_schema_file(
    path: Path,
    schema_type: str | None = None,
    *,
    reference_paths: Sequence[Path] | Mapping[str, Path] = (),
) -> ParsedSchema:
    """Parse a schema file. Protobuf imports and JSON Schema relative ``$ref`` files are found
    next to the file (and under ``reference_paths`` directories); Avro references are the named
    types defined in the ``reference_paths`` files."""
    st = normalize_schema_type(schema_type) if schema_type else guess_schema_type(path)
    text = read_text(path)
    if isinstance(reference_paths, Mapping):
        refs = {name: read_text(p) for name, p in reference_paths.items()}
        return parse_schema(st, text, references=refs, origin=str(path))
    if st == "AVRO":
        refs = {str(p): read_text(p) for p in reference_paths}
    elif st == "PROTOBUF":
        from evtctl.compat.protobuf import collect_imports

        refs = collect_imports(path, text, [Path(p) for p in reference_paths])
    else:
        from evtctl.compat.jsonschema import collect_file_refs

        refs = collect_file_refs(path, text)
    return parse_schema(st, text, references=refs, origin=str(path))


def check_compatibility(candidate: ParsedSchema, history: Sequence[ParsedSchema], level: str) -> CompatReport:
    """Check ``candidate`` against ``history`` (oldest first) at a Confluent compatibility level."""
    return run_level(checker_for(candidate.schema_type), candidate, history, level)
