"""JSON Schema (drafts 7, 2019-09, 2020-12): parsing, ``$ref`` resolution, Confluent's rules.

The rules port Confluent Schema Registry's ``JsonSchemaDiff``: a change is a list of typed
differences from an *original* schema (the writer) to an *update* (the reader); any difference
outside Confluent's compatible set is a violation. BACKWARD compares old -> new, FORWARD
new -> old. The ``Difference.Type`` names are kept as rule ids (prefixed ``JSON_``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from evtctl.compat.jsonpos import PathItem, decode, error_at
from evtctl.compat.model import ParsedSchema, SchemaType, Violation, sha256_hex

COMPATIBLE_CHANGES = frozenset(
    [
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
        "MAX_CONTAINS_INCREASED",
        "MAX_CONTAINS_REMOVED",
        "MIN_CONTAINS_DECREASED",
        "MIN_CONTAINS_REMOVED",
        "UNEVALUATED_ITEMS_ADDED",
        "UNEVALUATED_ITEMS_EXTENDED",
        "THEN_BRANCH_REMOVED",
        "ELSE_BRANCH_REMOVED",
    ]
)

_OBJECT_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
        "maxProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "propertyNames",
    }
)
_ARRAY_KEYS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
    }
)
_STRING_KEYS = frozenset(
    {"minLength", "maxLength", "pattern", "format", "contentEncoding", "contentMediaType"}
)
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_TYPE_KEYS = {
    "object": _OBJECT_KEYS,
    "array": _ARRAY_KEYS,
    "string": _STRING_KEYS,
    "number": _NUMBER_KEYS,
    "integer": _NUMBER_KEYS,
    "boolean": frozenset(),
    "null": frozenset(),
}
_KIND_OF_TYPE = {
    "object": "object",
    "array": "array",
    "string": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "null": "null",
}


# ----------------------------------------------------------------------------- documents and $ref


@dataclass(slots=True)
class _Doc:
    key: str  # reference name ("<main>" for the schema itself)
    origin: str  # for error locations
    text: str
    obj: Any
    base: str  # $id of the document, for resolving relative $refs
    draft: int


def _draft(obj: Any) -> int:
    uri = obj.get("$schema", "") if isinstance(obj, dict) else ""
    if "2020-12" in uri:
        return 2020
    if "2019-09" in uri:
        return 2019
    return 7


def _pointer(obj: Any, fragment: str) -> tuple[Any, list[PathItem]] | None:
    """Follow a JSON pointer fragment (``/definitions/Address``); None when it does not exist."""
    path: list[PathItem] = []
    node = obj
    if fragment in ("", "/"):
        return node, path
    for raw in fragment.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            path.append(int(part))
        else:
            return None
    return node, path


def _find_anchor(obj: Any, anchor: str, path: list[PathItem]) -> tuple[Any, list[PathItem]] | None:
    if isinstance(obj, dict):
        if obj.get("$anchor") == anchor or obj.get("$id") == f"#{anchor}":
            return obj, path
        items: Iterator[tuple[PathItem, Any]] = iter(obj.items())
    elif isinstance(obj, list):
        items = iter(enumerate(obj))
    else:
        return None
    for k, v in items:
        found = _find_anchor(v, anchor, [*path, k])
        if found is not None:
            return found
    return None


class _Resolver:
    def __init__(self, main: _Doc, refs: Mapping[str, _Doc]) -> None:
        self.main = main
        self.docs = {"<main>": main, **refs}

    def _doc_for(self, uri: str, current: _Doc) -> _Doc | None:
        if not uri:
            return current
        candidates = [uri, urljoin(current.base, uri) if current.base else uri, uri.rsplit("/", 1)[-1]]
        for doc in self.docs.values():
            names = {doc.key, doc.base, doc.key.rsplit("/", 1)[-1]}
            if doc.base:
                names.add(doc.base.rsplit("/", 1)[-1])
            if any(c in names for c in candidates if c):
                return doc
        return None

    def resolve(self, ref: str, current: _Doc, at: list[PathItem]) -> tuple[_Doc, Any, list[PathItem]]:
        uri, _, fragment = ref.partition("#")
        doc = self._doc_for(uri, current)
        if doc is None:
            raise error_at(
                current.text,
                [*at, "$ref"],
                current.origin,
                f"unresolved $ref '{ref}'",
                "pass the referenced schema as a reference (its file next to this one in file mode)",
            )
        found = (
            _pointer(doc.obj, fragment)
            if fragment.startswith("/") or not fragment
            else _find_anchor(doc.obj, fragment, [])
        )
        if found is None:
            raise error_at(
                current.text,
                [*at, "$ref"],
                current.origin,
                f"$ref '{ref}' points to nothing",
                "check the JSON pointer after '#'",
            )
        return doc, found[0], found[1]


# ----------------------------------------------------------------------------- nodes


@dataclass(eq=False, slots=True)
class JNode:
    """A schema position with ``$ref`` already followed; children are built on demand."""

    kind: str  # empty false string number boolean null object array enum const combined not conditional
    raw: Any
    doc: _Doc
    ptr: str  # "#/properties/total" inside its document
    resolver: _Resolver
    parts: list[JNode] = field(default_factory=list)  # combined: subschemas
    criterion: str = "allOf"
    integer: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    def child(self, key: str, raw: Any, ptr_suffix: str) -> JNode:
        hit = self.cache.get(ptr_suffix)
        if hit is None:
            hit = _Builder(self.resolver).node(raw, self.doc, f"{self.ptr}/{ptr_suffix}")
            self.cache[ptr_suffix] = hit
        return hit

    def get(self, key: str) -> Any:
        return self.raw.get(key) if isinstance(self.raw, dict) else None

    def sig(self) -> str | None:
        """Identity of this subtree when it contains no $ref (then equal text means equal
        schemas); None otherwise. Computed once: histories compare the same subtrees often."""
        if "sig" not in self.cache:
            text = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
            self.cache["sig"] = None if '"$ref"' in text else f"{self.kind}{self.integer}{text}"
        sig: str | None = self.cache["sig"]
        return sig

    def prop_sigs(self) -> dict[str, str]:
        """Property name -> identity (its JSON text; unique when it holds a $ref)."""
        if "prop_sigs" not in self.cache:
            sigs: dict[str, str] = {}
            props = self.get("properties")
            for name, raw in props.items() if isinstance(props, dict) else ():
                text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
                sigs[name] = f"{id(self)}" if '"$ref"' in text else text
            self.cache["prop_sigs"] = sigs
            self.cache["props"] = frozenset(sigs.items())
        result: dict[str, str] = self.cache["prop_sigs"]
        return result

    def names_by_sig(self) -> dict[str, frozenset[str]]:
        """Identity -> the property names with that schema (to decide alike properties once)."""
        if "by_sig" not in self.cache:
            groups: dict[str, set[str]] = {}
            for name, sig in self.prop_sigs().items():
                groups.setdefault(sig, set()).add(name)
            self.cache["by_sig"] = {sig: frozenset(names) for sig, names in groups.items()}
        result: dict[str, frozenset[str]] = self.cache["by_sig"]
        return result

    def prop_items(self) -> frozenset[tuple[str, str]]:
        """(property name, identity) pairs, for set differences between versions."""
        self.prop_sigs()
        items: frozenset[tuple[str, str]] = self.cache["props"]
        return items


_NODE_CACHE_KEY = "__evtctl_nodes__"


class _Builder:
    def __init__(self, resolver: _Resolver) -> None:
        self.resolver = resolver

    def node(self, raw: Any, doc: _Doc, ptr: str) -> JNode:
        seen: set[int] = set()
        at = _ptr_path(ptr)
        while isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
            if id(raw) in seen:
                raise error_at(
                    doc.text,
                    [*at, "$ref"],
                    doc.origin,
                    "$ref loop: the reference chain returns to itself",
                    "a $ref chain must end at a schema with content",
                )
            seen.add(id(raw))
            doc, raw, path = self.resolver.resolve(raw["$ref"], doc, at)
            at = path
            ptr = "#" + "".join(f"/{p}" for p in path)
        # One node object per schema position, so recursive schemas compare as cycles.
        nodes: dict[tuple[str, str], JNode] = self.resolver.__dict__.setdefault(_NODE_CACHE_KEY, {})
        key = (doc.key, ptr)
        hit = nodes.get(key)
        if hit is not None:
            return hit
        made = self._make(raw, doc, ptr)
        nodes[key] = made
        return made

    def _make(self, raw: Any, doc: _Doc, ptr: str) -> JNode:
        r = self.resolver
        if raw is True or raw == {}:
            return JNode("empty", raw, doc, ptr, r)
        if raw is False:
            return JNode("false", raw, doc, ptr, r)
        if not isinstance(raw, dict):
            return JNode("empty", raw, doc, ptr, r)
        parts: list[JNode] = []
        t = raw.get("type")
        if isinstance(t, list):
            subs = [self._typed(raw, doc, f"{ptr}", str(x)) for x in t if isinstance(x, str)]
            parts.append(subs[0] if len(subs) == 1 else JNode("combined", raw, doc, ptr, r, subs, "anyOf"))
        elif isinstance(t, str):
            parts.append(self._typed(raw, doc, ptr, t))
        else:
            kinds = [
                k
                for k, keys in (
                    ("object", _OBJECT_KEYS),
                    ("array", _ARRAY_KEYS),
                    ("string", _STRING_KEYS),
                    ("number", _NUMBER_KEYS),
                )
                if keys & raw.keys()
            ]
            parts += [self._typed(raw, doc, ptr, k) for k in kinds]
        if "enum" in raw:
            parts.append(JNode("enum", raw, doc, ptr, r))
        if "const" in raw:  # its own kind, as in everit: const -> enum is a type change
            parts.append(JNode("const", raw, doc, ptr, r))
        for crit in ("allOf", "anyOf", "oneOf"):
            subs_raw = raw.get(crit)
            if isinstance(subs_raw, list):
                subs = [self.node(s, doc, f"{ptr}/{crit}/{i}") for i, s in enumerate(subs_raw)]
                parts.append(JNode("combined", raw, doc, ptr, r, subs, crit))
        if "not" in raw:
            parts.append(JNode("not", raw, doc, ptr, r))
        if "if" in raw and ("then" in raw or "else" in raw):  # without both, validation ignores them
            parts.append(JNode("conditional", raw, doc, ptr, r))
        if not parts:
            return JNode("empty", raw, doc, ptr, r)
        if len(parts) == 1:
            return parts[0]
        # Several aspects at once (e.g. "type" plus "enum"): everit makes a synthetic allOf.
        return JNode("combined", raw, doc, ptr, r, parts, "allOf")

    def _typed(self, raw: dict[str, Any], doc: _Doc, ptr: str, t: str) -> JNode:
        kind = _KIND_OF_TYPE.get(t, "empty")
        return JNode(kind, raw, doc, ptr, self.resolver, integer=(t == "integer"))


def _ptr_path(ptr: str) -> list[PathItem]:
    out: list[PathItem] = []
    for part in ptr.lstrip("#").split("/"):
        if part:
            out.append(int(part) if part.isdigit() else part.replace("~1", "/").replace("~0", "~"))
    return out


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class JsonModel:
    root: JNode
    json: Any
    draft: int


def _check_meta(obj: Any, text: str, origin: str) -> None:
    from jsonschema import Draft7Validator, validators
    from jsonschema.exceptions import SchemaError

    if not isinstance(obj, dict | bool):
        raise error_at(text, [], origin, "a JSON Schema must be an object or a boolean")
    try:
        validators.validator_for(obj, default=Draft7Validator).check_schema(obj)
    except SchemaError as err:
        path = list(err.absolute_path)
        raise error_at(text, path, origin, f"invalid JSON Schema: {err.message[:200]}") from None


def _walk_refs(doc: _Doc, builder: _Builder) -> None:
    """Resolve every $ref once at parse time so unresolved refs and loops fail with a location."""
    stack: list[tuple[Any, list[PathItem]]] = [(doc.obj, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                builder.node(node, doc, "#" + "".join(f"/{_esc(str(p))}" for p in path))
            stack.extend(
                (v, [*path, k]) for k, v in node.items() if k not in ("enum", "const", "default", "examples")
            )
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(node))


class JsonSchemaChecker:
    schema_type: SchemaType = "JSON"

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        obj = decode(text, origin)
        _check_meta(obj, text, origin)
        refs: dict[str, _Doc] = {}
        for name, ref_text in references.items():
            ref_obj = decode(ref_text, name)
            _check_meta(ref_obj, ref_text, name)
            refs[name] = _Doc(name, name, ref_text, ref_obj, _base(ref_obj), _draft(ref_obj))
        main = _Doc("<main>", origin, text, obj, _base(obj), _draft(obj))
        resolver = _Resolver(main, refs)
        builder = _Builder(resolver)
        try:
            for doc in resolver.docs.values():
                _walk_refs(doc, builder)
            root = builder.node(obj, main, "#")
        except RecursionError:
            raise error_at(text, [], origin, "schema nested too deeply") from None
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        ref_canon = sorted(f"{k}:{sha256_hex(json.dumps(d.obj, sort_keys=True))}" for k, d in refs.items())
        fingerprint = sha256_hex(canonical + "\n" + "\n".join(ref_canon))
        model = JsonModel(root=root, json=obj, draft=main.draft)
        return ParsedSchema("JSON", canonical, fingerprint, text, origin, model, dict(references))

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        ctx = _Context()
        _compare(ctx, writer.model.root, reader.model.root, "#")
        out: list[Violation] = []
        seen: set[tuple[str, str]] = set()
        for d in ctx.diffs:
            if d.type in COMPATIBLE_CHANGES or (d.type, d.path) in seen:
                continue
            seen.add((d.type, d.path))
            out.append(_violation(d, reader_is_new))
        return out


def _base(obj: Any) -> str:
    if isinstance(obj, dict):
        for key in ("$id", "id"):
            if isinstance(obj.get(key), str):
                return str(obj[key]).partition("#")[0]
    return ""


def find_file_refs(path: Path, text: str) -> dict[str, Path]:
    """Files that ``$ref``s point to (relative to the referring file), found transitively."""
    found: dict[str, Path] = {}
    todo: list[tuple[Path, str]] = [(path.parent, text)]
    while todo:
        base, body = todo.pop()
        for ref in re.findall(r'"\$ref"\s*:\s*"([^"#]+)(?:#[^"]*)?"', body):
            if "://" in ref or ref in found:
                continue
            candidate = base / ref
            if candidate.is_file():
                found[ref] = candidate
                todo.append((candidate.parent, candidate.read_text(encoding="utf-8", errors="replace")))
    return found


def collect_file_refs(path: Path, text: str) -> dict[str, str]:
    """``$ref`` name -> text of every file the schema refers to (see :func:`find_file_refs`)."""
    from evtctl.compat import read_text

    return {name: read_text(p) for name, p in find_file_refs(path, text).items()}


# ----------------------------------------------------------------------------- diff (Confluent's SchemaDiff)


@dataclass(frozen=True, slots=True)
class _Difference:
    type: str
    path: str
    original: Any = None
    update: Any = None


class _Context:
    def __init__(self, visited: set[tuple[int, int]] | None = None) -> None:
        self.diffs: list[_Difference] = []
        self.visited: set[tuple[int, int]] = visited if visited is not None else set()
        self.compatible_seen = False

    def add(self, type_: str, path: str, original: Any = None, update: Any = None) -> None:
        if type_ in COMPATIBLE_CHANGES:
            # Confluent lists compatible differences too, but they never change a verdict or
            # show up in a report, and long histories produce thousands of them.
            self.compatible_seen = True
            return
        # Values stay raw: most differences are compatible and never shown.
        self.diffs.append(_Difference(type_, path, original, update))

    def sub(self) -> _Context:
        return _Context(self.visited)  # the in-progress set is a stack: shared, entries popped

    @property
    def compatible(self) -> bool:
        return not self.diffs  # only incompatible differences are recorded


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)[:200]


def _describe(n: JNode) -> str:
    if n.kind == "number":
        return "integer" if n.integer else "number"
    if n.kind == "combined":
        t = n.get("type")
        if isinstance(t, list) and n.criterion == "anyOf":
            return "/".join(str(x) for x in t)
        return n.criterion
    return n.kind


def _compare(ctx: _Context, o: JNode | None, u: JNode | None, path: str) -> None:
    if o is None and u is None:
        return
    if o is None:
        ctx.add("SCHEMA_ADDED", path)
        return
    if u is None:
        ctx.add("SCHEMA_REMOVED", path)
        return
    if o.kind != "combined" and u.kind == "combined":
        if len(u.parts) == 1:
            sub = ctx.sub()
            _compare(sub, o, u.parts[0], path)
            if sub.compatible:
                ctx.diffs += sub.diffs
                return
        elif u.criterion in ("anyOf", "oneOf"):
            for part in u.parts:
                sub = ctx.sub()
                _compare(sub, o, part, path)
                if sub.compatible:
                    ctx.diffs += sub.diffs
                    ctx.add("SUM_TYPE_EXTENDED", path)
                    return
    elif o.kind == "combined" and u.kind != "combined" and len(o.parts) == 1:
        sub = ctx.sub()
        _compare(sub, o.parts[0], u, path)
        if sub.compatible:
            ctx.diffs += sub.diffs
            return
    if o.kind == u.kind and o.integer == u.integer:
        sig = o.sig()
        if sig is not None and sig == u.sig():
            return  # identical subtrees: no differences
    if o.kind != u.kind:
        if o.kind == "false" or u.kind == "empty":
            return
        ctx.add("TYPE_CHANGED", path, _describe(o), _describe(u))
        return
    key = (id(o), id(u))
    if key in ctx.visited:
        return  # recursive schema: this pair is already being compared further up
    ctx.visited.add(key)
    try:
        _compare_same_kind(ctx, o, u, path)
    finally:
        ctx.visited.discard(key)


def _compare_same_kind(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    for attr, diff in (
        ("$id", "ID_CHANGED"),
        ("title", "TITLE_CHANGED"),
        ("description", "DESCRIPTION_CHANGED"),
        ("default", "DEFAULT_CHANGED"),
    ):
        if o.get(attr) != u.get(attr):
            ctx.add(diff, path)
    if o.kind == "string":
        _limits(ctx, o, u, path, "maxLength", "MAX_LENGTH")
        _limits(ctx, o, u, path, "minLength", "MIN_LENGTH")
        op, up = o.get("pattern"), u.get("pattern")
        if op != up:
            kind = "PATTERN_ADDED" if op is None else "PATTERN_REMOVED" if up is None else "PATTERN_CHANGED"
            ctx.add(kind, f"{path}/pattern", op, up)
    elif o.kind == "number":
        _number(ctx, o, u, path)
    elif o.kind == "const":
        if json.dumps(o.get("const"), sort_keys=True) != json.dumps(u.get("const"), sort_keys=True):
            ctx.add("ENUM_ARRAY_CHANGED", f"{path}/const", o.get("const"), u.get("const"))
    elif o.kind == "enum":
        ov, uv = _enum_values(o), _enum_values(u)
        if ov != uv:
            kind = (
                "ENUM_ARRAY_EXTENDED"
                if ov <= uv
                else "ENUM_ARRAY_NARROWED"
                if uv <= ov
                else "ENUM_ARRAY_CHANGED"
            )
            ctx.add(
                kind, f"{path}/enum", [json.loads(v) for v in sorted(ov)], [json.loads(v) for v in sorted(uv)]
            )
    elif o.kind == "combined":
        _combined(ctx, o, u, path)
    elif o.kind == "not":
        sub = ctx.sub()
        _compare(sub, u.child("not", u.get("not"), "not"), o.child("not", o.get("not"), "not"), f"{path}/not")
        if not sub.compatible:
            ctx.add("NOT_TYPE_EXTENDED", f"{path}/not")
        elif sub.diffs or sub.compatible_seen:
            ctx.add("NOT_TYPE_NARROWED", f"{path}/not")
    elif o.kind == "conditional":
        _conditional(ctx, o, u, path)
    elif o.kind == "object":
        _object(ctx, o, u, path)
    elif o.kind == "array":
        _array(ctx, o, u, path)


def _conditional(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    """``if``/``then``/``else``. The condition must stay the same schema (compatible both ways):
    otherwise data moves between the branches. Each branch then compares like any subschema, so
    relaxing ``then`` is backward compatible and tightening it is not; a branch added constrains,
    a branch removed relaxes. (Confluent's checker ignores these keywords; Apicurio's rules match.)"""
    o_if, u_if = o.child("if", o.get("if"), "if"), u.child("if", u.get("if"), "if")
    forward, backward = ctx.sub(), ctx.sub()
    _compare(forward, o_if, u_if, f"{path}/if")
    _compare(backward, u_if, o_if, f"{path}/if")
    if not (forward.compatible and backward.compatible):
        ctx.add("CONDITION_CHANGED", f"{path}/if", o.get("if"), u.get("if"))
    for key in ("then", "else"):
        o_raw, u_raw = o.get(key), u.get(key)
        branch = f"{key.upper()}_BRANCH"
        if o_raw is None and u_raw is None:
            continue
        if u_raw is None:
            ctx.add(f"{branch}_REMOVED", f"{path}/{key}")
        elif o_raw is None:
            ctx.add(f"{branch}_ADDED", f"{path}/{key}")
        else:
            _compare(ctx, o.child(key, o_raw, key), u.child(key, u_raw, key), f"{path}/{key}")


def _enum_values(n: JNode) -> set[str]:
    values = n.get("enum")
    return {json.dumps(v, sort_keys=True) for v in (values if isinstance(values, list) else [])}


def _limits(ctx: _Context, o: JNode, u: JNode, path: str, key: str, name: str) -> None:
    ov, uv = o.get(key), u.get(key)
    if ov == uv:
        return
    if ov is None:
        ctx.add(f"{name}_ADDED", f"{path}/{key}", ov, uv)
    elif uv is None:
        ctx.add(f"{name}_REMOVED", f"{path}/{key}", ov, uv)
    elif isinstance(ov, int | float) and isinstance(uv, int | float) and not isinstance(ov, bool):
        ctx.add(f"{name}_INCREASED" if ov < uv else f"{name}_DECREASED", f"{path}/{key}", ov, uv)


def _exclusive(n: JNode, key: str) -> Any:
    value = n.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _number(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    _limits(ctx, o, u, path, "maximum", "MAXIMUM")
    _limits(ctx, o, u, path, "minimum", "MINIMUM")
    for key, name in (("exclusiveMaximum", "EXCLUSIVE_MAXIMUM"), ("exclusiveMinimum", "EXCLUSIVE_MINIMUM")):
        ov, uv = _exclusive(o, key), _exclusive(u, key)
        if ov != uv:
            if ov is None:
                ctx.add(f"{name}_ADDED", f"{path}/{key}", ov, uv)
            elif uv is None:
                ctx.add(f"{name}_REMOVED", f"{path}/{key}", ov, uv)
            else:
                ctx.add(f"{name}_INCREASED" if ov < uv else f"{name}_DECREASED", f"{path}/{key}", ov, uv)
    om, um = o.get("multipleOf"), u.get("multipleOf")
    if om != um:
        if om is None:
            ctx.add("MULTIPLE_OF_ADDED", f"{path}/multipleOf", om, um)
        elif um is None:
            ctx.add("MULTIPLE_OF_REMOVED", f"{path}/multipleOf", om, um)
        elif int(om) and int(um) and int(um) % int(om) == 0:
            ctx.add("MULTIPLE_OF_EXPANDED", f"{path}/multipleOf", om, um)
        elif int(om) and int(um) and int(om) % int(um) == 0:
            ctx.add("MULTIPLE_OF_REDUCED", f"{path}/multipleOf", om, um)
        else:
            ctx.add("MULTIPLE_OF_CHANGED", f"{path}/multipleOf", om, um)
    if o.integer != u.integer:
        ctx.add("TYPE_EXTENDED" if o.integer else "TYPE_NARROWED", f"{path}/type", _describe(o), _describe(u))


def _combined(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    oc, uc = o.criterion, u.criterion
    changed = False
    if oc != uc:
        if (
            uc == "anyOf"
            or (uc == "oneOf" and len(o.parts) == 1)
            or (uc == "allOf" and len(o.parts) == 1 and len(u.parts) == 1)
        ):
            ctx.add("COMBINED_TYPE_EXTENDED", path, oc, uc)
        else:
            ctx.add("COMBINED_TYPE_CHANGED", path, oc, uc)
            changed = True
    if changed:
        return
    o_parts = _dedupe(o.parts)
    u_parts = _dedupe(u.parts)
    if len(o_parts) < len(u_parts):
        ctx.add(
            "PRODUCT_TYPE_EXTENDED" if uc == "allOf" else "SUM_TYPE_EXTENDED",
            path,
            len(o_parts),
            len(u_parts),
        )
    elif len(o_parts) > len(u_parts):
        ctx.add(
            "PRODUCT_TYPE_NARROWED" if uc == "allOf" else "SUM_TYPE_NARROWED",
            path,
            len(o_parts),
            len(u_parts),
        )
    edges: dict[int, dict[int, list[_Difference]]] = {}
    for i, op in enumerate(o_parts):
        for j, up in enumerate(u_parts):
            sub = ctx.sub()
            _compare(sub, op, up, f"{path}/{oc}/{i}")
            if sub.compatible:
                edges.setdefault(i, {})[j] = sub.diffs
    matching = _max_matching(edges, len(u_parts))
    for i, j in matching.items():
        ctx.diffs += edges[i][j]
    if len(matching) < min(len(o_parts), len(u_parts)):
        # Explain with the reasons of unmatched parts of the same kind (e.g. the enum half of a
        # synthetic {"type": "string", "enum": [...]} allOf), then the generic difference.
        free_u = [j for j in range(len(u_parts)) if j not in matching.values()]
        for i, op in enumerate(o_parts):
            if i in matching:
                continue
            same = next((j for j in free_u if u_parts[j].kind == op.kind), None)
            if same is not None:
                free_u.remove(same)
                _compare(ctx, op, u_parts[same], path)
        ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path)


def _dedupe(parts: list[JNode]) -> list[JNode]:
    seen: set[str] = set()
    out = []
    for p in parts:
        key = json.dumps(p.raw, sort_keys=True, default=str) + p.kind + str(p.integer)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _max_matching(edges: Mapping[int, Mapping[int, Any]], right: int) -> dict[int, int]:
    """Maximum bipartite matching (Kuhn's augmenting paths); subschema counts are tiny."""
    match_right: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges.get(i, {}):
            if j in seen:
                continue
            seen.add(j)
            if j not in match_right or augment(match_right[j], seen):
                match_right[j] = i
                return True
        return False

    for i in edges:
        augment(i, set())
    return {i: j for j, i in match_right.items()}


def _props(n: JNode) -> dict[str, Any]:
    p = n.get("properties")
    return p if isinstance(p, dict) else {}


def _required(n: JNode) -> set[str]:
    r = n.get("required")
    return {x for x in r if isinstance(x, str)} if isinstance(r, list) else set()


def _additional(n: JNode, key: str, fallback: str) -> tuple[bool, Any, str]:
    """(permits additional, schema of additional or None, keyword used); ``unevaluated*`` counts
    when the ``additional*`` keyword is absent (both close the content model the same way)."""
    value = n.get(key)
    used = key
    if value is None:
        value, used = n.get(fallback), fallback
    if value is False:
        return False, None, used
    if value is None or value is True or value == {}:
        return True, None, used
    return True, value, used


def _open(n: JNode) -> bool:
    permits, schema, _ = _additional(n, "additionalProperties", "unevaluatedProperties")
    return permits and schema is None and not n.get("patternProperties")


def _covered(ctx: _Context, original: JNode, update: JNode, path: str, what: str) -> None:
    """A property or item on one side only, judged by the other side's partially open content
    model (``patternProperties`` / an ``additional*`` schema)."""
    sub = ctx.sub()
    _compare(sub, original, update, path)
    ctx.diffs += sub.diffs
    outcome = "IS_COVERED" if sub.compatible else "NOT_COVERED"
    ctx.add(f"{what}_{outcome}_BY_PARTIALLY_OPEN_CONTENT_MODEL", path)


def _partial(n: JNode, prop: str) -> JNode | None:
    patterns = n.get("patternProperties")
    if isinstance(patterns, dict):
        for pattern, raw in patterns.items():
            try:
                if re.search(pattern, prop):
                    return n.child(pattern, raw, f"patternProperties/{_esc(pattern)}")
            except re.error:
                continue
    _, schema, used = _additional(n, "additionalProperties", "unevaluatedProperties")
    return n.child(used, schema, used) if schema is not None else None


def _has_default(n: JNode, prop: str) -> bool:
    raw = _props(n).get(prop)
    return isinstance(raw, dict) and "default" in raw


def _object(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    op, up = _props(o), _props(u)
    oreq, ureq = _required(o), _required(u)
    for name in sorted((oreq ^ ureq) & op.keys() & up.keys()):
        if name in oreq:
            ctx.add("REQUIRED_ATTRIBUTE_REMOVED", f"{path}/required/{_esc(name)}")
        else:
            ctx.add(
                "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                if _has_default(u, name)
                else "REQUIRED_ATTRIBUTE_ADDED",
                f"{path}/required/{_esc(name)}",
                name,
                name,
            )
    o_open, u_open = _open(o), _open(u)
    o_sigs, u_sigs = o.prop_sigs(), u.prop_sigs()
    # Only properties that differ by name or content need a look (set difference in C).
    diff = {name for name, _ in o.prop_items() ^ u.prop_items()}
    added, removed = diff - o_sigs.keys(), diff - u_sigs.keys()
    for name in sorted(diff - added - removed):
        _object_property(ctx, o, u, path, name, o_open, u_open)
    # Added (or removed) properties with the same schema and requiredness get the same verdict,
    # unless patternProperties make it depend on the name: decide one of each group, and the
    # rest only when that one was not clean (long histories add many alike properties).
    by_name = bool(o.get("patternProperties") or u.get("patternProperties"))
    for names, side in ((added, u), (removed, o)):
        if by_name:
            groups = [frozenset([name]) for name in sorted(names)]
        else:
            by_sig = side.names_by_sig()
            groups = []
            for sig in sorted({side.prop_sigs()[name] for name in names}):
                alike = by_sig[sig] & names
                groups += [g for g in (alike & ureq, alike - ureq) if g]
        for group in groups:
            first = min(group)
            before = len(ctx.diffs)
            _object_property(ctx, o, u, path, first, o_open, u_open)
            if len(ctx.diffs) != before:
                for name in sorted(group - {first}):
                    _object_property(ctx, o, u, path, name, o_open, u_open)
    _object_rest(ctx, o, u, path)


def _object_property(
    ctx: _Context, o: JNode, u: JNode, path: str, name: str, o_open: bool, u_open: bool
) -> None:
    op, up, ureq = _props(o), _props(u), _required(u)
    ppath = f"{path}/properties/{_esc(name)}"
    if name not in up:
        o_child = o.child(name, op[name], f"properties/{_esc(name)}")
        if u_open:
            ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", ppath)
            return
        partial = _partial(u, name)
        if partial is not None:
            _covered(ctx, o_child, partial, ppath, "PROPERTY_REMOVED")
        elif o_child.kind == "false":
            ctx.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", ppath)
        else:
            ctx.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", ppath, name, None)
    elif name not in op:
        u_child = u.child(name, up[name], f"properties/{_esc(name)}")
        if o_open:
            ctx.add(
                "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                if u_child.kind == "empty"
                else "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                ppath,
                None,
                name,
            )
            return
        partial = _partial(o, name)
        if partial is not None:
            _covered(ctx, partial, u_child, ppath, "PROPERTY_ADDED")
        if name in ureq:
            ctx.add(
                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                if _has_default(u, name)
                else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                ppath,
                None,
                name,
            )
        else:
            ctx.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", ppath)
    else:
        _compare(
            ctx,
            o.child(name, op[name], f"properties/{_esc(name)}"),
            u.child(name, up[name], f"properties/{_esc(name)}"),
            ppath,
        )


def _object_rest(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    _dependencies(ctx, o, u, path)
    o_perm, o_schema, o_key = _additional(o, "additionalProperties", "unevaluatedProperties")
    u_perm, u_schema, u_key = _additional(u, "additionalProperties", "unevaluatedProperties")
    apath = f"{path}/additionalProperties"
    if o_perm != u_perm:
        ctx.add("ADDITIONAL_PROPERTIES_ADDED" if u_perm else "ADDITIONAL_PROPERTIES_REMOVED", apath)
    elif o_schema is None and u_schema is not None:
        ctx.add("ADDITIONAL_PROPERTIES_NARROWED", apath)
    elif u_schema is None and o_schema is not None:
        ctx.add("ADDITIONAL_PROPERTIES_EXTENDED", apath)
    elif o_schema is not None:
        _compare(ctx, o.child(o_key, o_schema, o_key), u.child(u_key, u_schema, u_key), apath)
    _limits(ctx, o, u, path, "maxProperties", "MAX_PROPERTIES")
    _limits(ctx, o, u, path, "minProperties", "MIN_PROPERTIES")


def _deps(n: JNode) -> tuple[dict[str, set[str]], dict[str, Any]]:
    arrays: dict[str, set[str]] = {}
    schemas: dict[str, Any] = {}
    for key in ("dependencies", "dependentRequired", "dependentSchemas"):
        value = n.get(key)
        if isinstance(value, dict):
            for prop, dep in value.items():
                if isinstance(dep, list):
                    arrays[prop] = {str(x) for x in dep}
                else:
                    schemas[prop] = (key, dep)
    return arrays, schemas


def _dependencies(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    oa, os_ = _deps(o)
    ua, us = _deps(u)
    for prop in sorted(set(oa) | set(ua)):
        dpath = f"{path}/dependencies/{_esc(prop)}"
        if prop not in ua:
            ctx.add("DEPENDENCY_ARRAY_REMOVED", dpath)
        elif prop not in oa:
            ctx.add("DEPENDENCY_ARRAY_ADDED", dpath, None, sorted(ua[prop]))
        elif oa[prop] != ua[prop]:
            kind = (
                "DEPENDENCY_ARRAY_EXTENDED"
                if ua[prop] >= oa[prop]
                else "DEPENDENCY_ARRAY_NARROWED"
                if oa[prop] >= ua[prop]
                else "DEPENDENCY_ARRAY_CHANGED"
            )
            ctx.add(kind, dpath, sorted(oa[prop]), sorted(ua[prop]))
    for prop in sorted(set(os_) | set(us)):
        dpath = f"{path}/dependencies/{_esc(prop)}"
        if prop not in us:
            ctx.add("DEPENDENCY_SCHEMA_REMOVED", dpath)
        elif prop not in os_:
            ctx.add("DEPENDENCY_SCHEMA_ADDED", dpath)
        else:
            (ok, ov), (uk, uv) = os_[prop], us[prop]
            _compare(
                ctx, o.child(prop, ov, f"{ok}/{_esc(prop)}"), u.child(prop, uv, f"{uk}/{_esc(prop)}"), dpath
            )


def _tuple_and_rest(n: JNode) -> tuple[list[Any], Any, bool, str]:
    """(tuple item schemas, schema for all/remaining items, whether ``items`` is a single schema,
    keyword for the rest) across drafts: 2020-12 ``prefixItems``+``items``, older ``items`` list
    + ``additionalItems``."""
    items = n.get("items")
    if isinstance(n.get("prefixItems"), list):
        return list(n.get("prefixItems")), items, False, "items"
    if isinstance(items, list):
        return items, n.get("additionalItems"), False, "additionalItems"
    return [], items, True, "additionalItems"


def _array(ctx: _Context, o: JNode, u: JNode, path: str) -> None:
    o_tuple, o_rest, o_single, o_key = _tuple_and_rest(o)
    u_tuple, u_rest, u_single, u_key = _tuple_and_rest(u)
    if o_single or u_single:
        o_all = o.child("items", o_rest, "items") if o_single and o_rest is not None else None
        u_all = u.child("items", u_rest, "items") if u_single and u_rest is not None else None
        if o_all is not None or u_all is not None:
            _compare(ctx, o_all, u_all, f"{path}/items")
        o_rest = o.get("additionalItems") if o_single else o_rest
        u_rest = u.get("additionalItems") if u_single else u_rest
    for i in range(min(len(o_tuple), len(u_tuple))):
        _compare(
            ctx,
            o.child(str(i), o_tuple[i], f"items/{i}"),
            u.child(str(i), u_tuple[i], f"items/{i}"),
            f"{path}/items/{i}",
        )
    u_open = u_rest is None or u_rest is True or u_rest == {}
    o_open = o_rest is None or o_rest is True or o_rest == {}
    for i in range(len(u_tuple), len(o_tuple)):
        ipath = f"{path}/items/{i}"
        o_item = o.child(str(i), o_tuple[i], f"items/{i}")
        if u_open:
            ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", ipath)
        elif u_rest is not False:
            _covered(ctx, o_item, u.child(u_key, u_rest, u_key), ipath, "ITEM_REMOVED")
        elif o_item.kind == "false":
            ctx.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", ipath)
        else:
            ctx.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", ipath)
    for i in range(len(o_tuple), len(u_tuple)):
        ipath = f"{path}/items/{i}"
        u_item = u.child(str(i), u_tuple[i], f"items/{i}")
        if o_open:
            ctx.add(
                "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                if u_item.kind == "empty"
                else "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
                ipath,
            )
        elif o_rest is not False:
            _covered(ctx, o.child(o_key, o_rest, o_key), u_item, ipath, "ITEM_ADDED")
        else:
            ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", ipath)
    if not (o_single and u_single) or o_rest is not None or u_rest is not None:
        apath = f"{path}/additionalItems"
        o_perm, u_perm = o_rest is not False, u_rest is not False
        o_schema = None if o_open or o_rest is False else o_rest
        u_schema = None if u_open or u_rest is False else u_rest
        if o_perm != u_perm:
            ctx.add("ADDITIONAL_ITEMS_ADDED" if u_perm else "ADDITIONAL_ITEMS_REMOVED", apath)
        elif o_schema is None and u_schema is not None:
            ctx.add("ADDITIONAL_ITEMS_NARROWED", apath)
        elif u_schema is None and o_schema is not None:
            ctx.add("ADDITIONAL_ITEMS_EXTENDED", apath)
        elif o_schema is not None and not (o_single and u_single):
            _compare(ctx, o.child(o_key, o_schema, o_key), u.child(u_key, u_schema, u_key), apath)
    _limits(ctx, o, u, path, "maxItems", "MAX_ITEMS")
    _limits(ctx, o, u, path, "minItems", "MIN_ITEMS")
    if bool(o.get("uniqueItems")) != bool(u.get("uniqueItems")):
        ctx.add(
            "UNIQUE_ITEMS_REMOVED" if o.get("uniqueItems") else "UNIQUE_ITEMS_ADDED", f"{path}/uniqueItems"
        )
    _limits(ctx, o, u, path, "maxContains", "MAX_CONTAINS")
    _limits(ctx, o, u, path, "minContains", "MIN_CONTAINS")


# ----------------------------------------------------------------------------- wording

_FLIP = {
    "ADDED": "REMOVED",
    "REMOVED": "ADDED",
    "INCREASED": "DECREASED",
    "DECREASED": "INCREASED",
    "EXTENDED": "NARROWED",
    "NARROWED": "EXTENDED",
    "EXPANDED": "REDUCED",
    "REDUCED": "EXPANDED",
}
_VERBS = {*_FLIP, "CHANGED", "MOVED"}
_KEYWORDS = {
    "MAX_LENGTH": "maxLength",
    "MIN_LENGTH": "minLength",
    "PATTERN": "pattern",
    "MAXIMUM": "maximum",
    "MINIMUM": "minimum",
    "EXCLUSIVE_MAXIMUM": "exclusiveMaximum",
    "EXCLUSIVE_MINIMUM": "exclusiveMinimum",
    "MULTIPLE_OF": "multipleOf",
    "MAX_PROPERTIES": "maxProperties",
    "MIN_PROPERTIES": "minProperties",
    "MAX_ITEMS": "maxItems",
    "MIN_ITEMS": "minItems",
    "UNIQUE_ITEMS": "uniqueItems",
    "ADDITIONAL_PROPERTIES": "additionalProperties",
    "ADDITIONAL_ITEMS": "additionalItems",
    "MAX_CONTAINS": "maxContains",
    "MIN_CONTAINS": "minContains",
    "ENUM_ARRAY": "The enum",
    "REQUIRED_ATTRIBUTE": "The required flag",
    "TYPE": "The type",
    "COMBINED_TYPE": "The combination keyword",
    "SUM_TYPE": "The anyOf/oneOf branch list",
    "PRODUCT_TYPE": "The allOf branch list",
    "NOT_TYPE": "The not schema",
    "CONDITION": "The if condition",
    "THEN_BRANCH": "A then branch",
    "ELSE_BRANCH": "An else branch",
    "SCHEMA": "A schema",
    "DEPENDENCY_ARRAY": "A property dependency",
    "DEPENDENCY_SCHEMA": "A schema dependency",
}
_HINTS = {
    "content": "add properties only to closed content models (additionalProperties: false) and remove them "
    "only from open ones; see docs/compat.md",
    "limit": "under BACKWARD only relax constraints, under FORWARD only tighten them; FULL allows neither",
    "required": "give the property a default, or keep it optional",
    "type": "only widen types (integer to number) under BACKWARD; FORWARD allows only narrowing",
    "enum": "under BACKWARD only add enum values, under FORWARD only remove them",
    "combined": "keep the combination keyword and its branches; add anyOf/oneOf branches only under BACKWARD",
    "conditional": "keep the if condition as it is; relax then/else only under BACKWARD, tighten them only "
    "under FORWARD",
}


def _hint(type_: str) -> str:
    if "CONTENT_MODEL" in type_:
        return _HINTS["content"]
    if type_.startswith(("REQUIRED", "DEPENDENCY")):
        return _HINTS["required"]
    if type_.startswith("TYPE"):
        return _HINTS["type"]
    if type_.startswith("ENUM"):
        return _HINTS["enum"]
    if type_.startswith(("COMBINED", "SUM", "PRODUCT", "NOT")):
        return _HINTS["combined"]
    if type_.startswith(("CONDITION", "THEN", "ELSE")):
        return _HINTS["conditional"]
    return _HINTS["limit"]


def _violation(d: _Difference, reader_is_new: bool) -> Violation:
    """Word a Confluent difference for a person: ``reader_is_new`` means the difference runs
    old -> new; otherwise it runs new -> old and the verbs flip (a property "removed" from the
    new to the old schema was *added* by the change)."""
    words = d.type.split("_")
    i = next((k for k, w in enumerate(words) if w in _VERBS), len(words))
    subject_key, verb, rest = "_".join(words[:i]), words[i] if i < len(words) else "CHANGED", words[i + 1 :]
    if not reader_is_new:
        verb = _FLIP.get(verb, verb)
        rest = [{"TO": "FROM", "FROM": "TO"}.get(w, w) for w in rest]
    old, new = (_show(d.original), _show(d.update)) if reader_is_new else (_show(d.update), _show(d.original))
    name = d.path.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    if subject_key in ("PROPERTY", "ITEM") or subject_key.endswith(("_PROPERTY", "_ITEM")):
        noun = " ".join(words[:i]).lower().capitalize()
        subject = f"{noun} '{name}'" if subject_key.endswith("PROPERTY") else f"{noun} {name}"
    else:
        subject = _KEYWORDS.get(subject_key, subject_key.replace("_", " ").lower().capitalize())
    tail = " ".join(rest).lower().replace("unopen", "closed or partially open")
    values = ""
    if (old is not None or new is not None) and subject_key not in ("PROPERTY", "ITEM"):
        values = (
            f" (old: {old if old is not None else 'absent'}, new: {new if new is not None else 'absent'})"
        )
    consequence = (
        "so the new schema rejects data valid under the old one"
        if reader_is_new
        else "so the old schema rejects data valid under the new one"
    )
    for prep in ("to ", "from "):
        for model in ("closed", "open", "partially"):
            tail = tail.replace(f"{prep}{model}", f"{prep}a {model}")
    tail_text = f" {tail}" if tail else ""
    message = f"{subject} was {verb.lower()}{tail_text} at {d.path}{values}, {consequence}."
    direction = "backward" if reader_is_new else "forward"
    return Violation(f"JSON_{d.type}", d.path, message, old, new, _hint(d.type), direction=direction)
