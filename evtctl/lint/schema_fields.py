"""The field outline of a contract: names and coarse types of the top-level record's fields.

Lint only needs "is there a field called eventId" and "is the partition key a boolean or an enum",
so this reads Avro, JSON Schema and Protobuf files into one small outline rather than a full
schema model (validate already reported files that do not parse; those give ``None`` here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Coarse types: boolean, enum, string, int, long, float, double, bytes, record, array, map, unknown.
LOW_CARDINALITY = frozenset({"boolean", "enum"})


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: str
    children: Mapping[str, FieldInfo] = field(default_factory=dict)  # for records


@dataclass(frozen=True, slots=True)
class Outline:
    fields: Mapping[str, FieldInfo]

    def lookup(self, path: str) -> FieldInfo | None:
        """A field by dotted path (``customer.id``)."""
        scope: Mapping[str, FieldInfo] = self.fields
        found: FieldInfo | None = None
        for part in path.split("."):
            found = scope.get(part)
            if found is None:
                return None
            scope = found.children
        return found

    def names(self, depth: int = 2) -> set[str]:
        """Field names at the top level and (by default) one record level below it."""
        out: set[str] = set()
        level: list[Mapping[str, FieldInfo]] = [self.fields]
        for _ in range(depth):
            nxt: list[Mapping[str, FieldInfo]] = []
            for scope in level:
                out.update(scope)
                nxt.extend(f.children for f in scope.values() if f.children)
            level = nxt
        return out


def outline(path: Path, fmt: str, record_name: str | None = None) -> Outline | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        if fmt == "AVRO":
            return _avro(json.loads(text))
        if fmt == "JSON":
            return _jsonschema(json.loads(text))
        if fmt == "PROTOBUF":
            return _protobuf(text, record_name)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        return None
    return None


# --- Avro -------------------------------------------------------------------------------------------

_AVRO_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _avro(schema: Any) -> Outline | None:
    named: dict[str, FieldInfo] = {}
    top = _avro_type(schema, named, "")
    return Outline(top.children) if top.type == "record" else None


def _avro_type(schema: Any, named: dict[str, FieldInfo], namespace: str) -> FieldInfo:
    if isinstance(schema, str):
        if schema in _AVRO_PRIMITIVES:
            return FieldInfo("", schema)
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        return named.get(full) or named.get(schema) or FieldInfo("", "unknown")
    if isinstance(schema, list):  # union: the non-null branch decides (nullable X is still X)
        branches = [b for b in schema if b != "null"]
        return _avro_type(branches[0], named, namespace) if len(branches) == 1 else FieldInfo("", "union")
    if not isinstance(schema, dict):
        return FieldInfo("", "unknown")
    kind = schema.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        ns = schema.get("namespace", namespace)
        name = str(schema.get("name", ""))
        full = name if "." in name or not ns else f"{ns}.{name}"
        if kind == "enum":
            info = FieldInfo("", "enum")
        elif kind == "fixed":
            info = FieldInfo("", "bytes")
        else:
            children: dict[str, FieldInfo] = {}
            info = FieldInfo("", "record", children)
            named[full] = info  # before the fields: recursive types refer to themselves
            for f in schema.get("fields", []):
                child = _avro_type(f["type"], named, ns)
                children[f["name"]] = FieldInfo(f["name"], child.type, child.children)
        named[full] = info
        named.setdefault(name, info)
        return info
    if kind in ("array", "map"):
        return FieldInfo("", kind)
    return _avro_type(kind, named, namespace)  # {"type": "string", "logicalType": ...}


# --- JSON Schema ------------------------------------------------------------------------------------


def _jsonschema(schema: Any) -> Outline | None:
    if not isinstance(schema, dict):
        return None
    top = _json_type(schema, schema, 0)
    return Outline(top.children) if top.type == "record" else None


def _json_type(node: Any, root: dict[str, Any], depth: int) -> FieldInfo:
    if not isinstance(node, dict) or depth > 8:
        return FieldInfo("", "unknown")
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _json_type(target, root, depth + 1)
    if "enum" in node or "const" in node:
        return FieldInfo("", "enum")
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else "union"
    if kind == "object" or (kind is None and "properties" in node):
        props = node.get("properties", {})
        children = {
            name: FieldInfo(name, sub.type, sub.children)
            for name, sub in ((n, _json_type(s, root, depth + 1)) for n, s in props.items())
        }
        return FieldInfo("", "record", children)
    mapping = {
        "integer": "long",
        "number": "double",
        "string": "string",
        "boolean": "boolean",
        "array": "array",
    }
    return FieldInfo("", mapping.get(str(kind), "unknown"))


# --- Protobuf ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"|[{};=]|[^\s{};=]+", re.S)
_IDENT = re.compile(r"[A-Za-z_]\w*")
_PROTO_SCALARS = {
    "bool": "boolean",
    "string": "string",
    "bytes": "bytes",
    "double": "double",
    "float": "float",
    "int32": "int",
    "sint32": "int",
    "uint32": "int",
    "fixed32": "int",
    "sfixed32": "int",
    "int64": "long",
    "sint64": "long",
    "uint64": "long",
    "fixed64": "long",
    "sfixed64": "long",
}


def _protobuf(text: str, record_name: str | None) -> Outline | None:
    tokens = [t for t in _TOKEN.findall(text) if not t.startswith(("//", "/*"))]
    messages: dict[str, list[tuple[str, str]]] = {}  # message -> [(field, type name)]
    enums: set[str] = set()
    order: list[str] = []
    stack: list[tuple[str, str]] = []  # (kind, name) of open blocks
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("message", "enum", "oneof", "service") and i + 2 < len(tokens) and tokens[i + 2] == "{":
            name = tokens[i + 1]
            if tok == "message":
                messages.setdefault(name, [])
                if not stack:
                    order.append(name)
            elif tok == "enum":
                enums.add(name)
            stack.append((tok, name))
            i += 3
            continue
        if tok == "{":
            stack.append(("block", ""))
        elif tok == "}":
            if stack:
                stack.pop()
        elif tok == "=" and stack and i >= 2:
            owner = next((n for k, n in reversed(stack) if k == "message"), None)
            kind = stack[-1][0]
            fname, ftype = tokens[i - 1], tokens[i - 2]
            if (
                owner is not None
                and kind in ("message", "oneof")
                and _IDENT.fullmatch(fname)
                and ftype != "option"
            ):
                repeated = i >= 3 and tokens[i - 3] == "repeated"
                messages[owner].append(
                    (fname, "map<" if ftype.endswith(">") else "[]" if repeated else ftype)
                )
        i += 1
    wanted = record_name.rsplit(".", 1)[-1] if record_name else (order[0] if order else None)
    if wanted is None or wanted not in messages:
        return None

    def build(name: str, seen: frozenset[str]) -> dict[str, FieldInfo]:
        out: dict[str, FieldInfo] = {}
        for fname, ftype in messages.get(name, []):
            short = ftype.rsplit(".", 1)[-1]
            if ftype == "[]":
                out[fname] = FieldInfo(fname, "array")
            elif ftype in _PROTO_SCALARS:
                out[fname] = FieldInfo(fname, _PROTO_SCALARS[ftype])
            elif short in enums:
                out[fname] = FieldInfo(fname, "enum")
            elif short in messages and short not in seen:
                out[fname] = FieldInfo(fname, "record", build(short, seen | {short}))
            elif ftype.startswith("map<"):
                out[fname] = FieldInfo(fname, "map")
            else:
                out[fname] = FieldInfo(fname, "unknown")
        return out

    return Outline(build(wanted, frozenset({wanted})))
