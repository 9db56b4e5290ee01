"""Avro: parsing into a type graph, canonical form, and schema-resolution compatibility.

Parsing: ``json.loads`` plus our own walk (for located errors: fastavro reports no positions),
then fastavro's ``parse_schema`` as a second opinion on validity.

Compatibility: our own implementation of the Avro specification's resolution rules, mirroring
Apache Avro Java's ``SchemaCompatibility`` (which Confluent Schema Registry calls) so verdicts
match Confluent's. We do not call fastavro or the ``avro`` package's checker because neither
gives field-level reasons, and the ``avro`` checker differs from Java in small ways (aliases,
namespaces). One deliberate difference from Java: decimal precision/scale changes are
incompatible, as the specification requires (see docs/compat.md).
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evtctl.compat.jsonpos import PathItem, decode, error_at
from evtctl.compat.model import ParsedSchema, SchemaType, Violation, sha256_hex
from evtctl.errors import InputError, Location

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Underlying types each logical type annotates; anything else makes the logical type invalid,
# which the specification says to ignore (Java does the same), so it is dropped, not refused.
_LOGICAL: dict[str, frozenset[str]] = {
    "decimal": frozenset({"bytes", "fixed"}),
    "big-decimal": frozenset({"bytes"}),
    "uuid": frozenset({"string", "fixed"}),
    "date": frozenset({"int"}),
    "time-millis": frozenset({"int"}),
    "time-micros": frozenset({"long"}),
    "timestamp-millis": frozenset({"long"}),
    "timestamp-micros": frozenset({"long"}),
    "timestamp-nanos": frozenset({"long"}),
    "local-timestamp-millis": frozenset({"long"}),
    "local-timestamp-micros": frozenset({"long"}),
    "local-timestamp-nanos": frozenset({"long"}),
    "duration": frozenset({"fixed"}),
}
_RESERVED_TYPE_KEYS = frozenset(
    {
        "type",
        "name",
        "namespace",
        "aliases",
        "doc",
        "fields",
        "symbols",
        "default",
        "size",
        "items",
        "values",
        "logicalType",
        "precision",
        "scale",
    }
)
_RESERVED_FIELD_KEYS = frozenset({"name", "type", "default", "aliases", "doc", "order"})


@dataclass(eq=False, slots=True)
class AvroField:
    name: str
    type: AvroNode
    has_default: bool = False
    default: Any = None
    aliases: tuple[str, ...] = ()
    order: str = "ascending"
    doc: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    json_path: tuple[PathItem, ...] = ()


@dataclass(eq=False, slots=True)
class AvroNode:
    """One Avro type; named types are shared objects, so recursive schemas are cyclic graphs."""

    kind: str
    fullname: str | None = None
    aliases: tuple[str, ...] = ()  # fully qualified
    fields: list[AvroField] = field(default_factory=list)
    symbols: tuple[str, ...] = ()
    enum_default: str | None = None
    size: int = 0
    items: AvroNode | None = None
    values: AvroNode | None = None
    branches: list[AvroNode] = field(default_factory=list)
    logical: str | None = None
    precision: int | None = None
    scale: int | None = None
    doc: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    json_path: tuple[PathItem, ...] = ()
    sig: str | None = None  # canonical form of the subtree, computed on first use
    _field_index: dict[str, AvroField] | None = None
    _field_items: frozenset[tuple[str, str]] | None = None
    # Record field facts for set-based comparison, filled by prepare() on the first check.
    defaulted_names: frozenset[str] = frozenset()
    field_position: dict[str, int] = field(default_factory=dict)
    field_aliases: bool = False

    def field_items(self) -> frozenset[tuple[str, str]]:
        """(field name, type signature) of a record's fields, for set differences."""
        if self._field_items is None:
            self._field_items = frozenset((f.name, f.type.signature()) for f in self.fields)
        return self._field_items

    def field_index(self) -> dict[str, AvroField]:
        if self._field_index is None:
            self._field_index = {f.name: f for f in self.fields}
        return self._field_index

    def prepare(self) -> None:
        """Precompute what the checker compares, once per parsed record (not per check)."""
        self.field_items()
        self.field_index()
        self.defaulted_names = frozenset(f.name for f in self.fields if f.has_default)
        self.field_position = {f.name: i for i, f in enumerate(self.fields)}
        self.field_aliases = any(f.aliases for f in self.fields)

    def signature(self) -> str:
        """Full canonical form of this type: equal signatures mean identical types."""
        if self.sig is None:
            self.sig = _dump(_canonical(self, set(), full=True))
        return self.sig

    @property
    def short_name(self) -> str:
        return (self.fullname or self.kind).rsplit(".", 1)[-1]

    def describe(self) -> str:
        """Short human form: ``long``, ``decimal(10,2)``, ``shop.Order``, ``array<string>``."""
        if self.kind == "union":
            return "[" + ", ".join(b.describe() for b in self.branches) + "]"
        if self.kind == "array":
            assert self.items is not None
            return f"array<{self.items.describe()}>"
        if self.kind == "map":
            assert self.values is not None
            return f"map<{self.values.describe()}>"
        if self.logical == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.fullname:
            return self.fullname
        return f"{self.kind}({self.logical})" if self.logical else self.kind


@dataclass(frozen=True, slots=True)
class AvroModel:
    root: AvroNode
    names: Mapping[str, AvroNode]  # every named type defined by the schema and its references
    own_names: tuple[str, ...]  # defined by this schema text itself
    json: Any  # the decoded document (for lint rules)


def _fullname(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class _Builder:
    def __init__(self, text: str, origin: str, names: dict[str, AvroNode]) -> None:
        self.text = text
        self.origin = origin
        self.names = names
        self.own: list[str] = []
        self.pending_defaults: list[AvroField] = []

    def fail(self, path: tuple[PathItem, ...], message: str, help: str | None = None) -> InputError:
        return error_at(self.text, path, self.origin, message, help)

    def build(self, obj: Any, path: tuple[PathItem, ...], ns: str | None) -> AvroNode:
        if isinstance(obj, str):
            if obj in PRIMITIVES:
                return AvroNode(kind=obj, json_path=path)
            return self._lookup(obj, path, ns)
        if isinstance(obj, list):
            return self._union(obj, path, ns)
        if isinstance(obj, dict):
            return self._object(obj, path, ns)
        raise self.fail(path, f"expected a type name, a type object or a union list, found {json.dumps(obj)}")

    def _lookup(self, name: str, path: tuple[PathItem, ...], ns: str | None) -> AvroNode:
        for candidate in (_fullname(name, ns), name):
            node = self.names.get(candidate)
            if node is not None:
                return node
        close = difflib.get_close_matches(name, [*self.names, *PRIMITIVES], n=1)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else (
                "define the named type before it is used, or pass the schema that defines it as a reference"
            )
        )
        raise self.fail(path, f"unknown type '{name}'", hint)

    def _union(self, obj: list[Any], path: tuple[PathItem, ...], ns: str | None) -> AvroNode:
        branches: list[AvroNode] = []
        seen: set[str] = set()
        for i, item in enumerate(obj):
            node = self.build(item, (*path, i), ns)
            if node.kind == "union":
                raise self.fail((*path, i), "a union cannot directly contain another union")
            key = node.fullname or node.kind
            if key in seen:
                raise self.fail((*path, i), f"union contains '{key}' more than once")
            seen.add(key)
            branches.append(node)
        return AvroNode(kind="union", branches=branches, json_path=path)

    def _names_list(self, obj: dict[str, Any], key: str, path: tuple[PathItem, ...]) -> list[str]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail((*path, key), f"'{key}' must be a list of strings")
        return value

    def _object(self, obj: dict[str, Any], path: tuple[PathItem, ...], ns: str | None) -> AvroNode:
        if "type" not in obj:
            raise self.fail(path, "type object has no 'type'")
        t = obj["type"]
        if not isinstance(t, str):
            # {"type": {...}} / {"type": [...]} : fastavro accepts a nested type here, so do we.
            return self.build(t, (*path, "type"), ns)
        props = {k: v for k, v in obj.items() if k not in _RESERVED_TYPE_KEYS}
        doc = obj.get("doc") if isinstance(obj.get("doc"), str) else None
        if t in PRIMITIVES:
            node = AvroNode(kind=t, props=props, doc=doc, json_path=path)
            self._logical(node, obj)
            return node
        if t in NAMED_KINDS:
            return self._named(t, obj, path, ns, props, doc)
        if t == "array":
            if "items" not in obj:
                raise self.fail(path, "array has no 'items'")
            return AvroNode(
                kind="array",
                items=self.build(obj["items"], (*path, "items"), ns),
                props=props,
                json_path=path,
            )
        if t == "map":
            if "values" not in obj:
                raise self.fail(path, "map has no 'values'")
            return AvroNode(
                kind="map",
                values=self.build(obj["values"], (*path, "values"), ns),
                props=props,
                json_path=path,
            )
        # {"type": "com.acme.Money"} refers to a named type.
        return self._lookup(t, (*path, "type"), ns)

    def _logical(self, node: AvroNode, obj: dict[str, Any]) -> None:
        logical = obj.get("logicalType")
        if not isinstance(logical, str) or node.kind not in _LOGICAL.get(logical, frozenset()):
            if isinstance(logical, str):
                node.props["logicalType"] = logical  # unknown or misplaced: kept as a plain property
            return
        if logical == "decimal":
            precision, scale = obj.get("precision"), obj.get("scale", 0)
            valid = (
                isinstance(precision, int)
                and not isinstance(precision, bool)
                and precision > 0
                and isinstance(scale, int)
                and not isinstance(scale, bool)
                and 0 <= scale <= precision
            )
            if node.kind == "fixed" and valid and isinstance(precision, int):
                # The largest precision a signed two's-complement number of ``size`` bytes holds.
                valid = node.size > 0 and precision <= math.floor((8 * node.size - 1) * math.log10(2))
            if not valid:
                node.props.update({k: obj[k] for k in ("logicalType", "precision", "scale") if k in obj})
                return
            node.precision, node.scale = precision, scale
        if logical == "duration" and node.size != 12:
            node.props["logicalType"] = logical
            return
        node.logical = logical

    def _named(
        self,
        kind: str,
        obj: dict[str, Any],
        path: tuple[PathItem, ...],
        ns: str | None,
        props: dict[str, Any],
        doc: str | None,
    ) -> AvroNode:
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail(path, f"{kind} has no 'name'")
        namespace = obj.get("namespace", ns)
        if namespace is not None and not isinstance(namespace, str):
            raise self.fail((*path, "namespace"), "'namespace' must be a string")
        full = _fullname(name, namespace or None)
        for part in full.split("."):
            if not _NAME_RE.match(part):
                raise self.fail(
                    (*path, "name"),
                    f"invalid name '{full}'",
                    "names start with a letter or '_' and contain only letters, digits and '_'",
                )
        if full in PRIMITIVES:
            raise self.fail((*path, "name"), f"'{full}' is a primitive type and cannot be redefined")
        if full in self.names:
            raise self.fail((*path, "name"), f"type '{full}' is defined twice")
        inner_ns = full.rsplit(".", 1)[0] if "." in full else None
        aliases = tuple(_fullname(a, inner_ns) for a in self._names_list(obj, "aliases", path))
        node = AvroNode(
            kind="record" if kind == "error" else kind,
            fullname=full,
            aliases=aliases,
            doc=doc,
            props=props,
            json_path=path,
        )
        if kind == "error":
            node.props["__error__"] = True
        self.names[full] = node  # before the fields: a record may refer to itself
        self.own.append(full)
        if kind in ("record", "error"):
            self._fields(node, obj, path, inner_ns)
        elif kind == "enum":
            symbols = self._names_list(obj, "symbols", path) if "symbols" in obj else None
            if symbols is None:
                raise self.fail(path, "enum has no 'symbols'")
            for i, s in enumerate(symbols):
                if not _NAME_RE.match(s):
                    raise self.fail((*path, "symbols", i), f"invalid enum symbol '{s}'")
            if len(set(symbols)) != len(symbols):
                raise self.fail((*path, "symbols"), f"enum {full} has duplicate symbols")
            node.symbols = tuple(symbols)
            if "default" in obj:
                if obj["default"] not in symbols:
                    raise self.fail(
                        (*path, "default"),
                        f"enum default {json.dumps(obj['default'])} is not a symbol of {full}",
                    )
                node.enum_default = obj["default"]
        else:
            size = obj.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise self.fail(path, f"fixed {full} needs a non-negative integer 'size'")
            node.size = size
            self._logical(node, obj)
        return node

    def _fields(
        self, node: AvroNode, obj: dict[str, Any], path: tuple[PathItem, ...], ns: str | None
    ) -> None:
        fields = obj.get("fields")
        if not isinstance(fields, list):
            raise self.fail(path, f"record {node.fullname} needs a 'fields' list")
        seen: set[str] = set()
        for i, f in enumerate(fields):
            fpath = (*path, "fields", i)
            if not isinstance(f, dict):
                raise self.fail(fpath, "a field must be an object with 'name' and 'type'")
            name = f.get("name")
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise self.fail(fpath, f"field has an invalid or missing 'name': {json.dumps(name)}")
            if name in seen:
                raise self.fail((*fpath, "name"), f"field '{name}' is defined twice in {node.fullname}")
            seen.add(name)
            if "type" not in f:
                raise self.fail(fpath, f"field '{name}' has no 'type'")
            order = f.get("order", "ascending")
            if order not in ("ascending", "descending", "ignore"):
                raise self.fail((*fpath, "order"), f"invalid order {json.dumps(order)}")
            af = AvroField(
                name=name,
                type=self.build(f["type"], (*fpath, "type"), ns),
                has_default="default" in f,
                default=f.get("default"),
                aliases=tuple(self._names_list(f, "aliases", fpath)),
                order=order,
                doc=f.get("doc") if isinstance(f.get("doc"), str) else None,
                props={k: v for k, v in f.items() if k not in _RESERVED_FIELD_KEYS},
                json_path=fpath,
            )
            node.fields.append(af)
            if af.has_default:
                self.pending_defaults.append(af)

    def check_defaults(self) -> None:
        for f in self.pending_defaults:
            if not valid_default(f.type, f.default):
                expected = f.type.branches[0].describe() if f.type.kind == "union" else f.type.describe()
                raise self.fail(
                    (*f.json_path, "default"),
                    f"default {json.dumps(f.default)[:80]} of field '{f.name}' is not a valid {expected}",
                    "a union's default must match its first branch" if f.type.kind == "union" else None,
                )


_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def valid_default(node: AvroNode, value: Any, _depth: int = 0) -> bool:
    """Whether ``value`` is a valid JSON default for ``node`` (specification's default encoding)."""
    if _depth > 64:
        return True  # recursive types with deep literal defaults: accept rather than recurse forever
    k = node.kind
    if k == "null":
        return value is None
    if k == "boolean":
        return isinstance(value, bool)
    if k in _INT_RANGE:
        lo, hi = _INT_RANGE[k]
        return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    if k in ("float", "double"):
        return (isinstance(value, int | float) and not isinstance(value, bool)) or value in (
            "NaN",
            "Infinity",
            "-Infinity",
        )
    if k in ("bytes", "string"):
        return isinstance(value, str)
    if k == "enum":
        return isinstance(value, str) and value in node.symbols
    if k == "fixed":
        return isinstance(value, str) and len(value) == node.size
    if k == "array":
        assert node.items is not None
        return isinstance(value, list) and all(valid_default(node.items, v, _depth + 1) for v in value)
    if k == "map":
        assert node.values is not None
        return isinstance(value, dict) and all(
            valid_default(node.values, v, _depth + 1) for v in value.values()
        )
    if k == "record":
        if not isinstance(value, dict):
            return False
        return all(
            valid_default(f.type, value[f.name], _depth + 1) if f.name in value else f.has_default
            for f in node.fields
        )
    if k == "union":
        return bool(node.branches) and valid_default(node.branches[0], value, _depth + 1)
    return False


# ----------------------------------------------------------------------------- canonical form


def _canonical(node: AvroNode, seen: set[str], full: bool) -> Any:
    """Parsing Canonical Form (``full=False``), or PCF plus every attribute that changes meaning.

    The full form keeps the specification's PCF key order and fullnames, and adds defaults,
    aliases, logical types, enum defaults, field order, docs and custom properties (sorted), so a
    change to any of them is a new version while whitespace and JSON key order are not. Record
    field order is kept: it is significant in Avro's binary encoding.
    """
    if node.kind == "union":
        return [_canonical(b, seen, full) for b in node.branches]
    extras: dict[str, Any] = {}
    if full:
        if node.logical:
            extras["logicalType"] = node.logical
            if node.logical == "decimal":
                extras["precision"], extras["scale"] = node.precision, node.scale
        if node.doc:
            extras["doc"] = node.doc
        extras.update(sorted(node.props.items()))
    if node.kind in PRIMITIVES:
        return {"type": node.kind, **extras} if extras else node.kind
    if node.fullname is not None:
        if node.fullname in seen:
            return node.fullname
        seen.add(node.fullname)
        kind = "error" if node.props.get("__error__") else node.kind
        extras.pop("__error__", None)
        out: dict[str, Any] = {"name": node.fullname, "type": kind}
        if node.kind == "record":
            out["fields"] = [_canonical_field(f, seen, full) for f in node.fields]
        elif node.kind == "enum":
            out["symbols"] = list(node.symbols)
            if full and node.enum_default is not None:
                out["default"] = node.enum_default
        else:
            out["size"] = node.size
        if full and node.aliases:
            out["aliases"] = sorted(node.aliases)
        out.update(extras)
        return out
    if node.kind == "array":
        assert node.items is not None
        return {"type": "array", "items": _canonical(node.items, seen, full), **extras}
    assert node.values is not None
    return {"type": "map", "values": _canonical(node.values, seen, full), **extras}


def _canonical_field(f: AvroField, seen: set[str], full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": _canonical(f.type, seen, full)}
    if full:
        if f.has_default:
            out["default"] = f.default
        if f.aliases:
            out["aliases"] = sorted(f.aliases)
        if f.order != "ascending":
            out["order"] = f.order
        if f.doc:
            out["doc"] = f.doc
        out.update(sorted(f.props.items()))
    return out


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def parsing_canonical_form(schema: ParsedSchema) -> str:
    """The specification's Parsing Canonical Form (drops defaults, docs, aliases, logical types)."""
    model: AvroModel = schema.model
    return _dump(_canonical(model.root, set(), full=False))


# ----------------------------------------------------------------------------- parsing


def _build_references(references: Mapping[str, str]) -> dict[str, AvroNode]:
    """Named types from referenced schemas; a reference may use names from another one."""
    names: dict[str, AvroNode] = {}
    todo = dict(references)
    while todo:
        progressed = False
        last_error: InputError | None = None
        for ref_name, text in list(todo.items()):
            trial = dict(names)
            builder = _Builder(text, ref_name, trial)
            try:
                builder.build(decode(text, ref_name), (), None)
                builder.check_defaults()
            except InputError as err:
                if "unknown type" not in err.message:
                    raise
                last_error = err
                continue
            names = trial
            del todo[ref_name]
            progressed = True
        if not progressed:
            assert last_error is not None
            raise last_error
    return names


class AvroChecker:
    schema_type: SchemaType = "AVRO"

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        obj = decode(text, origin)
        names = _build_references(references) if references else {}
        ref_names = dict(names)
        builder = _Builder(text, origin, names)
        root = builder.build(obj, (), None)
        builder.check_defaults()
        # Records are prepared for comparison on their first check (_record): parsing alone,
        # as lint and validate do for every schema file, does not pay for it.
        self._fastavro_check(obj, ref_names, origin)
        canonical = _dump(_canonical(root, set(), full=True))
        root.sig = canonical  # the root's signature is the canonical form
        model = AvroModel(root=root, names=names, own_names=tuple(builder.own), json=obj)
        return ParsedSchema("AVRO", canonical, sha256_hex(canonical), text, origin, model, dict(references))

    @staticmethod
    def _fastavro_check(obj: Any, ref_names: Mapping[str, AvroNode], origin: str) -> None:
        import fastavro

        named: dict[str, Any] = {}
        try:
            seen: set[str] = set()
            for node in ref_names.values():
                if node.fullname and node.fullname not in seen:
                    fastavro.parse_schema(
                        json.loads(_dump(_canonical(node, set(seen), True))), named_schemas=named
                    )
                    seen.add(node.fullname)
            fastavro.parse_schema(obj, named_schemas=named)
        except (
            fastavro.schema.SchemaParseException,
            fastavro.schema.UnknownType,
            ValueError,
            TypeError,
        ) as err:
            raise InputError(f"invalid Avro schema: {err}", location=Location(origin, 1, 1)) from None

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        r: AvroModel = reader.model
        w: AvroModel = writer.model
        return _Resolver(reader_is_new).check(r.root, w.root)


# ----------------------------------------------------------------------------- resolution

_PROMOTIONS = {
    "long": frozenset({"int"}),
    "float": frozenset({"int", "long"}),
    "double": frozenset({"int", "long", "float"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


def _names_match(r: AvroNode, w: AvroNode) -> bool:
    # Java's SchemaCompatibility compares unqualified names (so a namespace change alone is
    # compatible) or accepts the writer's fullname among the reader's aliases.
    return r.short_name == w.short_name or (w.fullname is not None and w.fullname in r.aliases)


def _same_family(r: AvroNode, w: AvroNode) -> bool:
    """Whether ``w`` is the "same thing" as ``r`` (worth explaining field by field)."""
    if r.kind != w.kind:
        return w.kind in _PROMOTIONS.get(r.kind, frozenset())
    return r.fullname is None or _names_match(r, w)


class _Resolver:
    def __init__(self, reader_is_new: bool) -> None:
        self.reader_is_new = reader_is_new
        self.memo: dict[tuple[int, int], list[Violation] | None] = {}
        self.direction = "backward" if reader_is_new else "forward"
        self.consequence = (
            "so the new schema cannot read data written with the old one"
            if reader_is_new
            else "so consumers using the old schema cannot read data written with the new one"
        )

    def check(self, r: AvroNode, w: AvroNode) -> list[Violation]:
        root = r.short_name if r.fullname else "<root>"
        found = self.compat(r, w, root)
        unique: dict[tuple[str, str, str], Violation] = {}
        for v in found:
            unique.setdefault((v.rule_id, v.path, v.message), v)
        return list(unique.values())

    def _v(self, rule: str, path: str, message: str, r: str | None, w: str | None, hint: str) -> Violation:
        old, new = (w, r) if self.reader_is_new else (r, w)
        return Violation(f"AVRO_{rule}", path, message, old, new, hint, direction=self.direction)

    def _old_new(self, r: AvroNode, w: AvroNode) -> tuple[AvroNode, AvroNode]:
        return (w, r) if self.reader_is_new else (r, w)

    def compat(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        if r is w or (r.kind == w.kind and r.signature() == w.signature()):
            return []  # identical types always resolve; the common case in long histories
        key = (id(r), id(w))
        if key in self.memo:
            return self.memo[key] or []  # None: recursion in progress, assumed compatible (as Java)
        self.memo[key] = None
        result = self._calc(r, w, path)
        self.memo[key] = result
        return result

    def _calc(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        if r.kind == w.kind:
            k = r.kind
            if k in PRIMITIVES:
                return self._decimal(r, w, path)
            if k == "array":
                assert r.items is not None and w.items is not None
                return self.compat(r.items, w.items, f"{path}[]")
            if k == "map":
                assert r.values is not None and w.values is not None
                return self.compat(r.values, w.values, f"{path}{{}}")
            if k == "union":
                out: list[Violation] = []
                for wb in w.branches:
                    out += self._into_reader_union(r, wb, path)
                return out
            out = self._name(r, w, path)
            if k == "fixed":
                if r.size != w.size:
                    old, new = self._old_new(r, w)
                    out.append(
                        self._v(
                            "FIXED_SIZE_MISMATCH",
                            path,
                            f"The size of fixed {w.fullname} changed from {old.size} to {new.size} bytes, "
                            f"{self.consequence}.",
                            str(r.size),
                            str(w.size),
                            "fixed sizes cannot change; add a new field with the new size instead",
                        )
                    )
                return out + self._decimal(r, w, path)
            if k == "enum":
                return out + self._enum(r, w, path)
            return out + self._record(r, w, path)
        if w.kind == "union":
            out = []
            for wb in w.branches:
                if r.kind == "union" or _same_family(r, wb):
                    out += self.compat(r, wb, path)
                elif self.compat(r, wb, path):
                    old, new = self._old_new(r, w)
                    if self.reader_is_new:
                        message = (
                            f"The type of {path} changed from {old.describe()} to {new.describe()}, which no "
                            f"longer accepts its {wb.describe()} branch, {self.consequence}."
                        )
                        hint = f"keep {wb.describe()} in the union"
                    else:
                        message = (
                            f"The type of {path} changed from {old.describe()} to {new.describe()}, whose "
                            f"{wb.describe()} branch the old schema cannot read, {self.consequence}."
                        )
                        hint = "make the new type readable by the old one, or change the compatibility level"
                    out.append(self._v("TYPE_MISMATCH", path, message, r.describe(), w.describe(), hint))
            return out
        if r.kind == "union":
            return self._into_reader_union(r, w, path)
        if w.kind in _PROMOTIONS.get(r.kind, frozenset()):
            return []
        old, new = self._old_new(r, w)
        return [
            self._v(
                "TYPE_MISMATCH",
                path,
                f"The type of {path} changed from {old.describe()} to {new.describe()}, {self.consequence}.",
                r.describe(),
                w.describe(),
                "keep the old type, or use a promotion Avro allows (int to long, float or double; "
                "long to float "
                "or double; float to double; string to and from bytes)",
            )
        ]

    def _into_reader_union(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        """A writer value of type ``w`` must fit some branch of the reader union ``r``."""
        family: list[Violation] | None = None
        for rb in r.branches:
            found = self.compat(rb, w, path)
            if not found:
                return []
            if family is None and rb.kind == w.kind and _same_family(rb, w):
                family = found
        if family is not None:
            return family  # the "same" type is there but changed: its own reasons explain better
        if self.reader_is_new:
            message = f"The union at {path} no longer accepts {w.describe()}, {self.consequence}."
            hint = f"keep {w.describe()} as a branch of the union"
        else:
            message = (
                f"{path} now allows {w.describe()}, which the old schema's union does not accept, "
                f"{self.consequence}."
            )
            hint = "add union branches only when consumers already use a schema that has them"
        return [self._v("MISSING_UNION_BRANCH", path, message, r.describe(), w.describe(), hint)]

    def _name(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        if _names_match(r, w):
            return []
        old, new = self._old_new(r, w)
        hint = (
            f'add "aliases": ["{w.fullname}"] to {r.fullname}'
            if self.reader_is_new
            else "keep the old name: aliases in the new schema do not help consumers using the old one"
        )
        return [
            self._v(
                "NAME_MISMATCH",
                path,
                f"The {r.kind} {old.fullname} was renamed to {new.fullname} without an alias, "
                f"{self.consequence}.",
                r.fullname,
                w.fullname,
                hint,
            )
        ]

    def _decimal(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        if r.logical != "decimal" or w.logical != "decimal":
            return []
        if (r.precision, r.scale) == (w.precision, w.scale):
            return []
        old, new = self._old_new(r, w)
        return [
            self._v(
                "DECIMAL_MISMATCH",
                path,
                f"The decimal at {path} changed from {old.describe()} to {new.describe()}, "
                "which would reinterpret "
                f"stored values, {self.consequence}.",
                r.describe(),
                w.describe(),
                "keep precision and scale; add a new field for the new decimal",
            )
        ]

    def _enum(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        missing = [s for s in w.symbols if s not in r.symbols]
        if not missing or r.enum_default is not None:
            return []
        listed = ", ".join(missing)
        if self.reader_is_new:
            message = (
                f"Symbols {listed} were removed from enum {r.fullname}, which has no default symbol, "
                f"{self.consequence}."
            )
            hint = f'keep the symbols, or give {r.fullname} a "default" symbol for unknown values'
        else:
            message = (
                f"Symbols {listed} were added to enum {w.fullname}, "
                "and the old schema has no default symbol, "
                f"{self.consequence}."
            )
            hint = 'release a version whose enum has a "default" symbol before adding symbols'
        return [
            self._v(
                "MISSING_ENUM_SYMBOLS", f"{path}", message, ", ".join(r.symbols), ", ".join(w.symbols), hint
            )
        ]

    def _record(self, r: AvroNode, w: AvroNode, path: str) -> list[Violation]:
        # Set operations (in C) narrow the work to the reader fields whose name or type differs
        # from the writer's, minus fields the writer lacks but the reader defaults: long
        # histories are mostly unchanged fields.
        r_items = r.field_items()
        if r_items <= w.field_items():
            return []
        if len(r.field_position) != len(r.fields):
            r.prepare()  # first comparison of this record
        by_name = w.field_index()
        todo = {name for name, _ in r_items - w.field_items()}
        if not r.field_aliases:
            todo -= r.defaulted_names - by_name.keys()
        out: list[Violation] = []
        index = r.field_index()
        for name in sorted(todo, key=r.field_position.__getitem__):
            rf = index[name]
            wf = by_name.get(name)
            if wf is None and rf.aliases:
                wf = next((by_name[a] for a in rf.aliases if a in by_name), None)
            if wf is not None:
                out += self.compat(rf.type, wf.type, f"{path}.{name}")
                continue
            if rf.has_default:
                continue
            fpath = f"{path}.{name}"
            if self.reader_is_new:
                message = f"Field {fpath} was added without a default, {self.consequence}."
                hint = f'add a default to {name} (for example a ["null", ...] union with "default": null)'
            else:
                message = (
                    f"Field {fpath} was removed, but the old schema declares it without a default, "
                    f"{self.consequence}."
                )
                hint = f"keep {name}, or first release a version that gives it a default"
            out.append(
                self._v("READER_FIELD_MISSING_DEFAULT_VALUE", fpath, message, rf.type.describe(), None, hint)
            )
        return out
