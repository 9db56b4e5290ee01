"""What a producer's schema guarantees about one field path, in any of the three formats.

Consumer contracts name fields as paths (``customer.email``, ``items[].sku``, ``attributes{}``);
this module answers, for a parsed schema, "is that path there, with which type, and is it always
present?". It reads the models the compat engine already built (Avro type graph, Protobuf
descriptors) so a schema is parsed once; JSON Schema is walked from its document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evtctl.compat import ParsedSchema

# The contract type vocabulary. ``integer`` satisfies ``number``; ``enum`` satisfies ``string``.
CONTRACT_TYPES = ("string", "integer", "number", "boolean", "bytes", "object", "array", "map", "enum", "any")

_SEGMENT = re.compile(r"^(?P<name>[^.\[\]{}]+)(?P<suffix>(?:\[\]|\{\})*)$")


class PathSyntaxError(ValueError):
    """A field path that is not ``name(.name)*`` with optional ``[]`` / ``{}`` suffixes."""


def split_path(path: str) -> list[str]:
    """``items[].sku`` -> ``["items", "[]", "sku"]``; raises :class:`PathSyntaxError`."""
    steps: list[str] = []
    if not path:
        raise PathSyntaxError("empty field path")
    for part in path.split("."):
        match = _SEGMENT.match(part)
        if match is None:
            raise PathSyntaxError(f"invalid field path {path!r}: segment {part!r}")
        steps.append(match.group("name"))
        suffix = match.group("suffix")
        steps.extend(suffix[i : i + 2] for i in range(0, len(suffix), 2))
    return steps


@dataclass(slots=True)
class Node:
    """One type in the uniform view (mutable while building: recursive types refer to themselves)."""

    kind: str  # a CONTRACT_TYPES entry, or "null" / "union"
    fields: dict[str, Edge] = field(default_factory=dict)  # object
    item: Node | None = None  # array items, map values
    symbols: tuple[str, ...] = ()  # enum
    branches: list[Node] = field(default_factory=list)  # union
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    type_name: str | None = None  # record / message / enum full name, for messages
    describe: str = ""  # the schema's own spelling, e.g. "long", "shop.Order", "int32"


@dataclass(slots=True)
class Edge:
    """A field of an object: its type and whether the schema guarantees it is present."""

    node: Node
    always_present: bool  # present and never null in every valid event
    why_optional: str | None = None  # "is nullable", "is not in 'required'", "is in oneof 'payment'"


@dataclass(frozen=True, slots=True)
class Resolution:
    node: Node | None
    always_present: bool
    why_optional: str | None
    missing_at: str | None  # the path prefix that does not exist


def view(schema: ParsedSchema, record_name: str | None = None) -> Node:
    """The uniform view of a parsed schema's top-level record / message."""
    if schema.schema_type == "AVRO":
        return _AvroView().node(schema.model.root)
    if schema.schema_type == "PROTOBUF":
        return _ProtoView(schema.model).root(record_name)
    return _JsonView(schema).root()


def resolve(root: Node, path: str) -> Resolution:
    """Walk ``path`` through ``root``; presence is guaranteed only if every step guarantees it."""
    node: Node | None = root
    always = True
    why: str | None = None
    walked: list[str] = []
    for step in split_path(path):
        node = _non_null(node) if node is not None else None
        if node is None:
            return Resolution(None, False, why, ".".join(walked) or step)
        if step in ("[]", "{}"):
            want = "array" if step == "[]" else "map"
            if node.kind != want:
                return Resolution(None, False, why, _join(walked, step))
            walked.append(step)
            node = node.item
            continue
        edge = _field(node, step)
        if edge is None:
            return Resolution(None, False, why, _join(walked, step))
        walked.append(step)
        if not edge.always_present and always:
            always, why = False, f"'{_join(walked[:-1], step)}' {edge.why_optional}"
        node = edge.node
    return Resolution(node, always, why, None)


def _join(walked: list[str], step: str) -> str:
    out = ""
    for part in [*walked, step]:
        out += part if part in ("[]", "{}") or not out else f".{part}"
    return out


def _non_null(node: Node) -> Node | None:
    if node.kind != "union":
        return node
    branches = [b for b in node.branches if b.kind != "null"]
    return branches[0] if len(branches) == 1 else node


def _field(node: Node, name: str) -> Edge | None:
    if node.kind == "object":
        return node.fields.get(name)
    if node.kind == "union":
        # A field reached through one branch of a union of records exists only when that branch
        # is the one written: present, but never guaranteed.
        for branch in node.branches:
            inner = _field(branch, name) if branch.kind in ("object", "union") else None
            if inner is not None:
                return Edge(inner.node, False, f"is inside a union branch ({branch.describe or branch.kind})")
    return None


def satisfies(actual: Node, expected: str) -> bool:
    """Whether values of ``actual`` are acceptable where a contract expects type ``expected``."""
    node = _non_null(actual)
    if node is None or expected == "any":
        return True
    kind = node.kind
    if kind == "union":
        return all(satisfies(b, expected) for b in node.branches if b.kind != "null")
    if expected == "number":
        return kind in ("number", "integer")
    if expected == "string":
        return kind in ("string", "enum")
    if expected == "object":
        return kind in ("object", "map")
    return kind == expected


def kind_of(node: Node) -> str:
    inner = _non_null(node)
    return "union" if inner is None else (inner.describe or inner.kind)


# --------------------------------------------------------------------------------------- Avro

_AVRO_KINDS = {
    "string": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "bytes": "bytes",
    "fixed": "bytes",
    "null": "null",
    "enum": "enum",
}


class _AvroView:
    def __init__(self) -> None:
        self.named: dict[int, Node] = {}

    def node(self, avro: Any) -> Node:
        key = id(avro)
        if key in self.named:
            return self.named[key]
        kind: str = avro.kind
        describe = avro.describe() if kind not in ("record", "error") else (avro.fullname or "record")
        if kind in ("record", "error"):
            out = Node("object", type_name=avro.fullname, describe=describe)
            self.named[key] = out  # before the fields: recursive records
            for f in avro.fields:
                child = self.node(f.type)
                nullable = child.kind == "union" and any(b.kind == "null" for b in child.branches)
                out.fields[f.name] = Edge(child, not nullable and child.kind != "null", "is nullable")
            return out
        if kind == "union":
            return Node("union", branches=[self.node(b) for b in avro.branches], describe=describe)
        if kind == "array":
            return Node("array", item=self.node(avro.items), describe=describe)
        if kind == "map":
            return Node("map", item=self.node(avro.values), describe=describe)
        if avro.logical == "decimal":
            return Node("number", describe=describe)
        if avro.logical == "uuid":
            return Node("string", describe=describe)
        mapped = _AVRO_KINDS.get(kind, "any")
        return Node(mapped, symbols=tuple(avro.symbols), type_name=avro.fullname, describe=describe)


# ----------------------------------------------------------------------------------- Protobuf

_PROTO_KINDS = {
    "string": "string",
    "bytes": "bytes",
    "bool": "boolean",
    "double": "number",
    "float": "number",
}


class _ProtoView:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.built: dict[str, Node] = {}

    def root(self, record_name: str | None) -> Node:
        messages = self.model.messages
        if record_name:
            target = self.model.types.get(record_name) or next(
                (
                    m
                    for m in messages.values()
                    if m.fullname.endswith("." + record_name) or m.fullname == record_name
                ),
                None,
            )
        else:
            target = next(iter(messages.values()), None)
        if target is None:
            return Node("any")
        return self.message(target)

    def message(self, msg: Any) -> Node:
        if msg.fullname in self.built:
            return self.built[msg.fullname]
        out = Node("object", type_name=msg.fullname, describe=msg.fullname)
        self.built[msg.fullname] = out
        for f in msg.fields:
            child = self.field_type(f)
            if f.label == "repeated" and f.type != "map":
                child = Node("array", item=child, describe=f"repeated {child.describe}")
            if f.oneof:
                out.fields[f.name] = Edge(child, False, f"is in oneof '{f.oneof}'")
            elif f.type == "message" and f.label != "repeated":
                # Singular message fields have presence: an unset one reads as absent.
                out.fields[f.name] = Edge(child, False, "is a message field that may be unset")
            else:
                # Scalars always decode (to their default when unset), so the field is there.
                out.fields[f.name] = Edge(child, True)
        return out

    def field_type(self, f: Any) -> Node:
        if f.type == "map":
            entry = self.model.types.get(f.type_name)
            value = next((x for x in entry.fields if x.name == "value"), None) if entry else None
            return Node("map", item=self.field_type(value) if value else Node("any"), describe="map")
        if f.type == "message":
            target = self.model.types.get(f.type_name)
            return self.message(target) if target is not None else Node("any", describe=f.type_name or "")
        if f.type == "enum":
            target = self.model.types.get(f.type_name)
            symbols = tuple(target.values) if target is not None else ()
            return Node("enum", symbols=symbols, type_name=f.type_name, describe=f.type_name or "enum")
        kind = _PROTO_KINDS.get(f.type, "integer")
        return Node(kind, describe=f.type)


# -------------------------------------------------------------------------------- JSON Schema

_JSON_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
    "object": "object",
    "array": "array",
}


class _JsonView:
    def __init__(self, schema: ParsedSchema) -> None:
        self.doc: Any = json.loads(schema.text)
        self.refs: dict[str, Any] = {}
        for name, text in schema.references.items():
            try:
                self.refs[name] = json.loads(text)
            except ValueError:
                continue
        self.built: dict[int, Node] = {}

    def root(self) -> Node:
        return self.node(self.doc, self.doc)

    def deref(self, ref: str, base: Any) -> tuple[Any, Any]:
        file_part, _, pointer = ref.partition("#")
        doc = base
        if file_part:
            doc = self.refs.get(file_part)
            if doc is None:
                doc = next((d for n, d in self.refs.items() if n.endswith(file_part)), {})
        target: Any = doc
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target, doc

    def node(self, schema: Any, base: Any) -> Node:
        if schema is True or not isinstance(schema, dict):
            return Node("any")
        key = id(schema)
        if key in self.built:
            return self.built[key]
        if isinstance(schema.get("$ref"), str):
            target, doc = self.deref(schema["$ref"], base)
            out = self.node(target, doc)
            self.built[key] = out
            return out
        for combinator in ("oneOf", "anyOf"):
            if isinstance(schema.get(combinator), list):
                out = Node("union", describe=combinator)
                self.built[key] = out
                out.branches = [self.node(s, base) for s in schema[combinator]]
                return out
        merged = dict(schema)
        if isinstance(schema.get("allOf"), list):
            for part in schema["allOf"]:
                if isinstance(part, dict) and isinstance(part.get("$ref"), str):
                    part, _ = self.deref(part["$ref"], base)
                if isinstance(part, dict):
                    for k, v in part.items():
                        if k == "properties":
                            merged["properties"] = {**merged.get("properties", {}), **v}
                        elif k == "required":
                            merged["required"] = [*merged.get("required", []), *v]
                        else:
                            merged.setdefault(k, v)
        if "enum" in merged:
            symbols = tuple(str(v) for v in merged["enum"])
            out = Node("enum", symbols=symbols, describe="enum")
            self.built[key] = out
            return out
        kind = merged.get("type")
        if isinstance(kind, list):
            out = Node("union", describe="/".join(map(str, kind)))
            self.built[key] = out
            out.branches = [self.node({**merged, "type": k}, base) for k in kind]
            return out
        if kind is None and "properties" in merged:
            kind = "object"
        mapped = _JSON_KINDS.get(str(kind), "any")
        out = Node(mapped, describe=str(kind) if kind else "any")
        self.built[key] = out
        if mapped == "object":
            required = set(merged.get("required", []))
            for name, sub in (merged.get("properties") or {}).items():
                child = self.node(sub, base)
                nullable = child.kind == "null" or (
                    child.kind == "union" and any(b.kind == "null" for b in child.branches)
                )
                if name not in required:
                    out.fields[name] = Edge(child, False, "is not in 'required'")
                else:
                    out.fields[name] = Edge(child, not nullable, "is nullable")
            extra = merged.get("additionalProperties")
            if not out.fields and isinstance(extra, dict):
                out.kind, out.item = "map", self.node(extra, base)
        elif mapped == "array":
            items = merged.get("items")
            out.item = self.node(items, base) if isinstance(items, dict) else Node("any")
        elif mapped in ("integer", "number"):
            out.minimum = _num(merged.get("minimum", merged.get("exclusiveMinimum")))
            out.maximum = _num(merged.get("maximum", merged.get("exclusiveMaximum")))
        elif mapped == "string":
            pattern = merged.get("pattern")
            out.pattern = pattern if isinstance(pattern, str) else None
        return out


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def symbols_of(node: Node) -> tuple[str, ...] | None:
    inner = _non_null(node)
    if inner is None or inner.kind != "enum":
        return None
    return inner.symbols


def as_mapping(node: Node) -> Mapping[str, Edge]:
    inner = _non_null(node)
    return inner.fields if inner is not None else {}
