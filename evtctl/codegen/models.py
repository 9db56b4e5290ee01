"""Avro and JSON Schema contracts -> class specs for frozen, slotted dataclasses and enums.

Each schema type maps to a Python annotation plus two expression builders: to the encoder's plain
data (fastavro objects for Avro, JSON values for JSON Schema) and back. Records become
``@dataclass(frozen=True, slots=True, kw_only=True)`` classes (kw_only: Avro field order and
defaults never force an argument order); Avro/JSON enums become ``enum.Enum``. Class names come from
the schema (Avro record names, JSON Schema ``title``/definition names) or, for a top-level JSON
Schema without a title, from the manifest's record name or the file name; nested anonymous JSON
objects are named ``<Parent><Property>``. Nothing is ever called ``AnonymousSchema1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evtctl.codegen.naming import enum_member, identifier, pascal
from evtctl.errors import InputError, Location

Expr = Callable[[str, int], str]  # (value expression, nesting depth) -> expression


def _same(v: str, _d: int) -> str:
    return v


@dataclass(slots=True)
class PyType:
    annotation: str
    to_wire: Expr = _same
    from_wire: Expr = _same
    identity: bool = True  # both conversions are the identity (lets containers skip comprehensions)


def _record_type(name: str) -> PyType:
    t = PyType(name, identity=False)
    t.to_wire = lambda v, d: f"{v}.to_dict()"
    t.from_wire = lambda v, d: f"{t.annotation}.from_dict({v})"  # reads the final (deduplicated) name
    return t


def _enum_type(name: str) -> PyType:
    t = PyType(name, identity=False)
    t.to_wire = lambda v, d: f"{v}.value"
    t.from_wire = lambda v, d: f"{t.annotation}({v})"
    return t


def _around(annotation: str, inner: PyType, convert: Callable[[Expr, str, int], str]) -> PyType:
    """A type holding ``inner`` values: ``convert(conversion, v, d)`` applies ``inner``'s conversion
    (to or from the wire) inside the container expression over ``v`` at depth ``d``."""
    if inner.identity:
        return PyType(annotation)
    return PyType(
        annotation,
        lambda v, d: convert(inner.to_wire, v, d),
        lambda v, d: convert(inner.from_wire, v, d),
        identity=False,
    )


def _optional(inner: PyType) -> PyType:
    return _around(
        f"{inner.annotation} | None", inner, lambda conv, v, d: f"(None if {v} is None else {conv(v, d)})"
    )


def _list_of(item: PyType) -> PyType:
    return _around(
        f"list[{item.annotation}]", item, lambda conv, v, d: f"[{conv(f'i{d}', d + 1)} for i{d} in {v}]"
    )


def _dict_of(val: PyType) -> PyType:
    return _around(
        f"dict[str, {val.annotation}]",
        val,
        lambda conv, v, d: f"{{k{d}: {conv(f'v{d}', d + 1)} for k{d}, v{d} in {v}.items()}}",
    )


def _without_null(types: list[PyType]) -> tuple[list[PyType], bool]:
    """A union's non-null branches, and whether null was one of the branches."""
    non_null = [t for t in types if t.annotation != "None"]
    return non_null, len(non_null) < len(types)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str  # Python attribute
    wire_name: str  # name in the schema / on the wire
    annotation: str
    to_code: str  # expression over ``self.<name>``
    from_code: str  # expression over ``data[<wire_name>]``
    default: str | None = None  # Python expression; None = required
    factory: bool = False  # default is a zero-argument callable (dataclasses.field(default_factory=...))
    omit_none: bool = False  # JSON: leave the key out when the value is None
    doc: str | None = None

    @classmethod
    def of(
        cls,
        name: str,
        wire_name: str,
        t: PyType,
        *,
        default: str | None,
        factory: bool = False,
        omit_none: bool = False,
        doc: str | None,
    ) -> FieldSpec:
        """The field ``name`` of type ``t``, read from and written to the key ``wire_name``."""
        return cls(
            name=name,
            wire_name=wire_name,
            annotation=t.annotation,
            to_code=t.to_wire(f"self.{name}", 0),
            from_code=t.from_wire(f'data["{wire_name}"]', 0),
            default=default,
            factory=factory,
            omit_none=omit_none,
            doc=doc,
        )


@dataclass(frozen=True, slots=True)
class EnumSpec:
    name: str
    members: tuple[tuple[str, str], ...]  # (Python member, wire symbol)
    doc: str | None = None
    kind: str = "enum"


@dataclass(frozen=True, slots=True)
class ClassSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    format: str  # AVRO | JSON
    full_name: str  # schema name (Avro full name or JSON pointer)
    doc: str | None = None
    kind: str = "record"


@dataclass(slots=True)
class ModelSet:
    """Every class of the package, keyed by Python name; identical definitions are shared."""

    classes: dict[str, ClassSpec | EnumSpec] = field(default_factory=dict)
    imports: set[str] = field(default_factory=set)  # "datetime", "decimal", "uuid", "enum", "field", "Any"
    _by_schema_name: dict[tuple[str, str], str] = field(default_factory=dict)  # (format, full name) -> class

    def add(self, spec: ClassSpec | EnumSpec, key: tuple[str, str], origin: str) -> str:
        existing = self.classes.get(spec.name)
        if existing is not None and existing != spec:
            # Same short name, different definition: qualify with the namespace/schema path.
            alt = pascal(key[1].replace(".", "_"))
            if alt in self.classes and self.classes[alt] != spec:
                raise InputError(
                    f"two different schemas both define {key[1]!r}; generated class names would clash",
                    location=Location(file=origin),
                    help="rename one of the records, or generate each service separately with --service",
                )
            spec = _renamed(spec, alt)
        self.classes[spec.name] = spec
        self._by_schema_name[key] = spec.name
        return spec.name

    def sorted(self) -> list[ClassSpec | EnumSpec]:
        """Enums first, then records in dependency order is not needed (annotations are lazy)."""
        return sorted(self.classes.values(), key=lambda s: (s.kind != "enum", s.name))


def _renamed(spec: ClassSpec | EnumSpec, name: str) -> ClassSpec | EnumSpec:
    if isinstance(spec, EnumSpec):
        return EnumSpec(name=name, members=spec.members, doc=spec.doc)
    return ClassSpec(
        name=name, fields=spec.fields, format=spec.format, full_name=spec.full_name, doc=spec.doc
    )


def _field_names(wire_names: list[str], origin: str, owner: str) -> list[str]:
    names = [identifier(n) for n in wire_names]
    if len(set(names)) != len(names):
        raise InputError(
            f"fields of {owner} map to clashing Python names: {sorted(wire_names)}",
            location=Location(file=origin),
        )
    return names


# -- Avro ------------------------------------------------------------------------------------------

_AVRO_PRIMITIVES = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}
_AVRO_LOGICAL = {
    "decimal": ("decimal.Decimal", "decimal"),
    "big-decimal": ("decimal.Decimal", "decimal"),
    "uuid": ("uuid.UUID", "uuid"),
    "date": ("datetime.date", "datetime"),
    "time-millis": ("datetime.time", "datetime"),
    "time-micros": ("datetime.time", "datetime"),
    "timestamp-millis": ("datetime.datetime", "datetime"),
    "timestamp-micros": ("datetime.datetime", "datetime"),
    "local-timestamp-millis": ("datetime.datetime", "datetime"),
    "local-timestamp-micros": ("datetime.datetime", "datetime"),
}


class UndefinedAvroTypeError(InputError):
    """A name that neither the schema nor the references processed so far define."""


class AvroModels:
    """Converts Avro schemas (parsed JSON) into class specs inside a shared :class:`ModelSet`.

    Named types are remembered across schemas, so a schema's references (other subjects defining
    named types) are converted first with :meth:`define_references` and their classes are shared
    by every contract that uses them.
    """

    def __init__(self, models: ModelSet) -> None:
        self.models = models
        self._named: dict[str, PyType] = {}  # Avro full name -> type

    def top_level(self, schema: Any, origin: str) -> PyType:
        return self._type(schema, namespace="", origin=origin)

    def define_references(self, references: list[tuple[str, Any]]) -> None:
        """Convert referenced schemas ``(origin, parsed JSON)`` in an order where each one's names
        are defined first (a reference may use names of another one, as the registry allows)."""
        todo = list(references)
        while todo:
            failed: UndefinedAvroTypeError | None = None
            left: list[tuple[str, Any]] = []
            for origin, schema in todo:
                named = dict(self._named)
                try:
                    self._type(schema, namespace="", origin=origin)
                except UndefinedAvroTypeError as exc:
                    self._named = named  # no half-converted placeholders stay behind
                    failed = exc
                    left.append((origin, schema))
            if failed is not None and len(left) == len(todo):
                raise failed  # no progress: a name no reference defines
            todo = left

    def _full(self, name: str, namespace: str) -> str:
        return name if "." in name or not namespace else f"{namespace}.{name}"

    def _type(self, schema: Any, *, namespace: str, origin: str) -> PyType:
        models = self.models
        if isinstance(schema, str):
            if schema in _AVRO_PRIMITIVES:
                return PyType(_AVRO_PRIMITIVES[schema])
            for candidate in (self._full(schema, namespace), schema):
                if candidate in self._named:
                    return self._named[candidate]
            raise UndefinedAvroTypeError(
                f"Avro type {schema!r} is not defined before use", location=Location(file=origin)
            )
        if isinstance(schema, list):
            return self._union(schema, namespace=namespace, origin=origin)
        if not isinstance(schema, Mapping):
            raise InputError(f"not an Avro schema: {schema!r}", location=Location(file=origin))
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if isinstance(logical, str) and logical in _AVRO_LOGICAL:
            annotation, module = _AVRO_LOGICAL[logical]
            models.imports.add(module)
            return PyType(annotation)
        if kind in ("record", "error"):
            return self._record(schema, namespace=namespace, origin=origin)
        if kind == "enum":
            full = self._full(str(schema["name"]), str(schema.get("namespace", namespace)))
            members = tuple((enum_member(str(s)), str(s)) for s in schema.get("symbols", []))
            models.imports.add("enum")
            spec = EnumSpec(name=pascal(full.rsplit(".", 1)[-1]), members=members, doc=schema.get("doc"))
            name = models.add(spec, ("AVRO", full), origin)
            t = _enum_type(name)
            self._named[full] = t
            return t
        if kind == "fixed":
            full = self._full(str(schema["name"]), str(schema.get("namespace", namespace)))
            self._named[full] = PyType("bytes")
            return self._named[full]
        if kind == "array":
            return _list_of(self._type(schema["items"], namespace=namespace, origin=origin))
        if kind == "map":
            return _dict_of(self._type(schema["values"], namespace=namespace, origin=origin))
        if isinstance(kind, (str, list, Mapping)):
            return self._type(kind, namespace=namespace, origin=origin)
        raise InputError(f"unsupported Avro schema {schema!r}", location=Location(file=origin))

    def _union(self, branches: list[Any], *, namespace: str, origin: str) -> PyType:
        non_null, nullable = _without_null(
            [self._type(b, namespace=namespace, origin=origin) for b in branches]
        )
        if len(non_null) == 1:
            return _optional(non_null[0]) if nullable else non_null[0]
        annotation = " | ".join([t.annotation for t in non_null] + (["None"] if nullable else []))
        records = [t for t in non_null if not t.identity]
        if not records:
            return PyType(annotation)
        # Several named branches: write with fastavro's (name, value) tuple notation, read with
        # return_record_name so the branch is known; enums in such unions are not supported.
        names = {t.annotation: full for full, t in self._named.items() if t in records}

        def to_wire(v: str, d: int) -> str:
            expr = v
            for t in reversed(records):
                branch = f'("{names[t.annotation]}", {t.to_wire(v, d)})'
                expr = f"({branch} if isinstance({v}, {t.annotation}) else {expr})"
            return expr

        def from_wire(v: str, d: int) -> str:
            expr = v
            for t in reversed(records):
                full = names[t.annotation]
                test = f'isinstance({v}, tuple) and {v}[0] == "{full}"'
                expr = f"({t.from_wire(f'{v}[1]', d)} if {test} else {expr})"
            return expr

        return PyType(annotation, to_wire, from_wire, identity=False)

    def _record(self, schema: Mapping[str, Any], *, namespace: str, origin: str) -> PyType:
        models = self.models
        ns = str(schema.get("namespace", namespace))
        full = self._full(str(schema["name"]), ns)
        ns = full.rsplit(".", 1)[0] if "." in full else ""
        name = pascal(full.rsplit(".", 1)[-1])
        # Register before the fields so recursive references resolve.
        placeholder = _record_type(name)
        self._named[full] = placeholder
        raw_fields = list(schema.get("fields", []))
        wire_names = [str(f["name"]) for f in raw_fields]
        py_names = _field_names(wire_names, origin, full)
        fields: list[FieldSpec] = []
        for raw, wire, py in zip(raw_fields, wire_names, py_names, strict=True):
            t = self._type(raw["type"], namespace=ns, origin=origin)
            default, factory = (None, False)
            if "default" in raw:
                default, factory = self._default(raw["default"], raw["type"], t, origin)
            fields.append(FieldSpec.of(py, wire, t, default=default, factory=factory, doc=raw.get("doc")))
        spec = ClassSpec(
            name=name, fields=tuple(fields), format="AVRO", full_name=full, doc=schema.get("doc")
        )
        final = models.add(spec, ("AVRO", full), origin)
        if final != name:
            placeholder.annotation = final
        return placeholder

    def _default(self, value: Any, schema: Any, t: PyType, origin: str) -> tuple[str, bool]:
        if value is None:
            return "None", False
        branch = schema[0] if isinstance(schema, list) and schema else schema
        logical = branch.get("logicalType") if isinstance(branch, Mapping) else None
        if logical in ("timestamp-millis", "timestamp-micros") and isinstance(value, int):
            self.models.imports.add("datetime")
            scale = 1000 if logical == "timestamp-millis" else 1_000_000
            return f"datetime.datetime.fromtimestamp({value} / {scale}, tz=datetime.timezone.utc)", False
        enum_spec = self.models.classes.get(t.annotation.split(" | ")[0])
        if isinstance(value, str) and isinstance(enum_spec, EnumSpec):
            member = next((m for m, sym in enum_spec.members if sym == value), None)
            if member is None:
                raise InputError(
                    f"default {value!r} is not a symbol of enum {enum_spec.name}",
                    location=Location(file=origin),
                )
            return f"{enum_spec.name}.{member}", False
        if isinstance(value, str) and t.identity and logical is None:
            return json.dumps(value, ensure_ascii=False), False
        if isinstance(value, (bool, int, float)) and t.identity and logical is None:
            return repr(value), False
        if isinstance(value, (list, dict)):
            literal = json.dumps(value, sort_keys=True)
            if not value:
                return ("list" if isinstance(value, list) else "dict"), True
            return f"lambda: {t.from_wire(literal, 0)}", True
        raise InputError(
            f"default {value!r} of a {logical or 'field'} is not supported by codegen",
            location=Location(file=origin),
        )


# -- JSON Schema -----------------------------------------------------------------------------------

_JSON_FORMATS = {
    "date-time": ("datetime.datetime", "datetime", "{v}.isoformat()", "datetime.datetime.fromisoformat({v})"),
    "date": ("datetime.date", "datetime", "{v}.isoformat()", "datetime.date.fromisoformat({v})"),
    "time": ("datetime.time", "datetime", "{v}.isoformat()", "datetime.time.fromisoformat({v})"),
    "uuid": ("uuid.UUID", "uuid", "str({v})", "uuid.UUID({v})"),
}


class JsonModels:
    """Converts JSON Schema documents into class specs inside a shared :class:`ModelSet`."""

    def __init__(self, models: ModelSet) -> None:
        self.models = models

    def top_level(self, schema: Mapping[str, Any], *, name: str, origin: str) -> PyType:
        self._root = schema
        self._origin = origin
        self._defs: dict[str, PyType] = {}
        title = schema.get("title")
        return self._type(schema, pascal(str(title)) if isinstance(title, str) and title else name, "#")

    def _resolve(self, ref: str) -> PyType:
        if ref in self._defs:
            return self._defs[ref]
        if not ref.startswith("#/"):
            raise InputError(
                f"$ref {ref!r} points outside this schema; only local references are generated",
                location=Location(file=self._origin),
            )
        node: Any = self._root
        for part in ref[2:].split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise InputError(f"$ref {ref!r} does not resolve", location=Location(file=self._origin))
            node = node[part]
        title = node.get("title") if isinstance(node, Mapping) else None
        name = pascal(str(title)) if isinstance(title, str) and title else pascal(ref.rsplit("/", 1)[-1])
        return self._type(node, name, ref)

    def _type(self, schema: Any, name: str, pointer: str) -> PyType:
        models = self.models
        if schema is True or schema == {}:
            models.imports.add("Any")
            return PyType("Any")
        if not isinstance(schema, Mapping):
            raise InputError(
                f"not a JSON Schema at {pointer}: {schema!r}", location=Location(file=self._origin)
            )
        if "$ref" in schema:
            return self._resolve(str(schema["$ref"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._union([*schema[key]], name, f"{pointer}/{key}")
        kind = schema.get("type")
        if isinstance(kind, list):
            branches = [{**schema, "type": k} for k in kind]
            return self._union(branches, name, pointer)
        if "enum" in schema and all(isinstance(s, str) for s in schema["enum"]):
            members = tuple((enum_member(s), s) for s in schema["enum"])
            models.imports.add("enum")
            cls = models.add(
                EnumSpec(name=name, members=members, doc=schema.get("description")),
                ("JSON", pointer),
                self._origin,
            )
            t = _enum_type(cls)
            self._defs[pointer] = t
            return t
        if kind == "null":
            return PyType("None")
        if kind == "boolean":
            return PyType("bool")
        if kind == "integer":
            return PyType("int")
        if kind == "number":
            return PyType("float", _same, lambda v, d: f"float({v})", identity=False)
        if kind == "string":
            fmt = schema.get("format")
            if isinstance(fmt, str) and fmt in _JSON_FORMATS:
                annotation, module, to_fmt, from_fmt = _JSON_FORMATS[fmt]
                models.imports.add(module)
                return PyType(
                    annotation,
                    lambda v, d: to_fmt.format(v=v),
                    lambda v, d: from_fmt.format(v=v),
                    identity=False,
                )
            return PyType("str")
        if kind == "array":
            return _list_of(self._type(schema.get("items", {}), f"{name}Item", f"{pointer}/items"))
        if kind == "object" or "properties" in schema:
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            if not props and isinstance(extra, Mapping):
                return _dict_of(self._type(extra, f"{name}Value", f"{pointer}/additionalProperties"))
            return self._object(schema, name, pointer)
        models.imports.add("Any")
        return PyType("Any")

    def _union(self, branches: list[Any], name: str, pointer: str) -> PyType:
        non_null, nullable = _without_null(
            [self._type(b, name, f"{pointer}/{i}") for i, b in enumerate(branches)]
        )
        if len(non_null) == 1:
            return _optional(non_null[0]) if nullable else non_null[0]
        if all(t.identity for t in non_null):
            return PyType(" | ".join([t.annotation for t in non_null] + (["None"] if nullable else [])))
        raise InputError(
            f"{pointer}: unions of objects/enums/formatted strings are not generated",
            location=Location(file=self._origin),
            help="give the alternatives a common object type with optional properties",
        )

    def _object(self, schema: Mapping[str, Any], name: str, pointer: str) -> PyType:
        placeholder = _record_type(name)
        self._defs[pointer] = placeholder
        props: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        wire_names = list(props)
        py_names = _field_names(wire_names, self._origin, name)
        fields: list[FieldSpec] = []
        for wire, py in zip(wire_names, py_names, strict=True):
            sub = props[wire]
            t = self._type(sub, name + pascal(wire), f"{pointer}/properties/{wire}")
            default: str | None = None
            omit = False
            if wire not in required:
                raw_default = sub.get("default") if isinstance(sub, Mapping) else None
                if (
                    raw_default is not None
                    and t.identity
                    and isinstance(raw_default, (bool, int, float, str))
                ):
                    default = repr(raw_default)
                else:
                    default, omit = "None", True
                    if not t.annotation.endswith("| None") and t.annotation not in ("Any", "None"):
                        t = _optional(t)
            doc = sub.get("description") if isinstance(sub, Mapping) else None
            fields.append(FieldSpec.of(py, wire, t, default=default, omit_none=omit, doc=doc))
        spec = ClassSpec(
            name=name, fields=tuple(fields), format="JSON", full_name=pointer, doc=schema.get("description")
        )
        final = self.models.add(spec, ("JSON", f"{self._origin}{pointer}"), self._origin)
        placeholder.annotation = final
        return placeholder
