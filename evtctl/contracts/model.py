"""Consumer contracts and producer examples: the two manifest kinds of consumer-driven contracts.

A ``Contract`` is owned by a consuming service and says what it needs from one topic's events:
the value fields it reads (with type and matching rules), the headers and the key. An
``EventExamples`` document is owned by a producing service and holds sample events that must
satisfy the producer's schema and every consumer's contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evtctl.contracts.fields import CONTRACT_TYPES, PathSyntaxError, split_path
from evtctl.errors import Location

CONTRACT_KIND = "Contract"
EXAMPLES_KIND = "EventExamples"

_RULE_PROPS: dict[str, Any] = {
    "type": {"enum": list(CONTRACT_TYPES)},
    "required": {"type": "boolean", "description": "The consumer needs the value present and non-null."},
    "regex": {"type": "string", "description": "Values must match (Python re.search)."},
    "enum": {
        "type": "array",
        "items": {"type": ["string", "number", "boolean"]},
        "description": "The only values the consumer accepts; the producer must not be able to send others.",
    },
    "requires_values": {
        "type": "array",
        "items": {"type": ["string", "number", "boolean"]},
        "description": "Values the consumer relies on the producer being able to send.",
    },
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "equals": {"type": ["string", "number", "boolean"]},
    "description": {"type": "string"},
}

FIELD_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {"path": {"type": "string", "minLength": 1}, **_RULE_PROPS},
}
HEADER_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, **_RULE_PROPS},
}
KEY_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {**_RULE_PROPS, "fields": {"type": "array", "items": FIELD_RULE_SCHEMA}},
}
EXAMPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["value"],
    "properties": {
        "name": {"type": "string"},
        "key": {},
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "value": {},
    },
}

# JSON Schemas of the ``spec`` of each kind (draft 2020-12); the manifest loader validates with them.
CONTRACT_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["consumer", "topic"],
    "properties": {
        "consumer": {"type": "string", "description": "The consuming Service."},
        "topic": {"type": "string"},
        "version": {"type": "integer", "minimum": 1, "description": "Contract version, for the matrix."},
        "value": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"fields": {"type": "array", "items": FIELD_RULE_SCHEMA}},
        },
        "key": KEY_RULE_SCHEMA,
        "headers": {"type": "array", "items": HEADER_RULE_SCHEMA},
        "examples": {"type": "array", "items": EXAMPLE_SCHEMA},
    },
}
EXAMPLES_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["producer", "topic", "examples"],
    "properties": {
        "producer": {"type": "string", "description": "The producing Service."},
        "topic": {"type": "string"},
        "headers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Headers the producer always sends (default: evtctl's standard event headers).",
        },
        "examples": {"type": "array", "minItems": 1, "items": EXAMPLE_SCHEMA},
    },
}


@dataclass(frozen=True, slots=True)
class Rule:
    """Expectations on one value: a field of the event, a header, or the key."""

    target: str  # field path, header name, or "key"
    type: str | None = None
    required: bool = True
    regex: str | None = None
    enum: tuple[object, ...] | None = None
    requires_values: tuple[object, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    equals: object | None = None
    location: Location = field(default_factory=Location)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("type", "regex", "minimum", "maximum", "equals"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if not self.required:
            out["required"] = False
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.requires_values:
            out["requires_values"] = list(self.requires_values)
        return out


@dataclass(frozen=True, slots=True)
class Example:
    value: Any
    key: Any = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    name: str = ""
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class Contract:
    name: str
    consumer: str
    topic: str
    fields: tuple[Rule, ...]
    headers: tuple[Rule, ...] = ()
    key: Rule | None = None
    key_fields: tuple[Rule, ...] = ()  # for structured (record) keys
    examples: tuple[Example, ...] = ()
    version: int | None = None
    owner: str | None = None
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class EventExamples:
    name: str
    producer: str
    topic: str
    examples: tuple[Example, ...]
    headers: tuple[str, ...] | None = None  # None: the standard evtctl headers
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class SpecProblem:
    message: str
    location: Location
    help: str | None = None


Locator = Any  # callable(path: tuple[str | int, ...]) -> Location


def _rule(raw: Mapping[str, Any], target: str, loc: Location, problems: list[SpecProblem]) -> Rule:
    regex = raw.get("regex")
    if isinstance(regex, str):
        try:
            re.compile(regex)
        except re.error as err:
            problems.append(
                SpecProblem(f"invalid regex {regex!r}: {err}", loc, "use Python regular expression syntax")
            )
    enum = raw.get("enum")
    return Rule(
        target=target,
        type=raw.get("type"),
        required=bool(raw.get("required", True)),
        regex=regex if isinstance(regex, str) else None,
        enum=tuple(enum) if isinstance(enum, list) else None,
        requires_values=tuple(raw.get("requires_values", ())),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        equals=raw.get("equals"),
        location=loc,
    )


def _field_rules(
    raw: Sequence[Mapping[str, Any]],
    base: tuple[str | int, ...],
    locate: Locator,
    problems: list[SpecProblem],
) -> tuple[Rule, ...]:
    out: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        loc = locate((*base, i))
        path = str(item["path"])
        try:
            split_path(path)
        except PathSyntaxError as err:
            problems.append(
                SpecProblem(
                    str(err), locate((*base, i, "path")), "write paths like customer.email or items[].sku"
                )
            )
            continue
        if path in seen:
            problems.append(SpecProblem(f"field {path!r} is listed twice", loc))
        seen.add(path)
        out.append(_rule(item, path, loc, problems))
    return tuple(out)


def plain(value: Any) -> Any:
    """Plain dicts and lists (manifest loaders hand out position-tracking subclasses, which
    serializers such as fastavro's writer reject)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _examples(
    raw: Sequence[Mapping[str, Any]], base: tuple[str | int, ...], locate: Locator
) -> tuple[Example, ...]:
    return tuple(
        Example(
            value=plain(item.get("value")),
            key=plain(item.get("key")),
            headers=dict(item.get("headers") or {}),
            name=str(item.get("name") or f"example {i + 1}"),
            location=locate((*base, i)),
        )
        for i, item in enumerate(raw)
    )


def build_contract(
    name: str,
    spec: Mapping[str, Any],
    locate: Locator,
    problems: list[SpecProblem],
    *,
    owner: str | None = None,
) -> Contract:
    """The model of a schema-valid ``Contract`` spec (``locate(path)`` gives positions inside ``spec``)."""
    value = spec.get("value") or {}
    key_raw = spec.get("key")
    headers: list[Rule] = []
    for i, h in enumerate(spec.get("headers") or ()):
        headers.append(_rule(h, str(h["name"]), locate(("headers", i)), problems))
    key = _rule(key_raw, "key", locate(("key",)), problems) if isinstance(key_raw, Mapping) else None
    key_fields = (
        _field_rules(key_raw.get("fields") or (), ("key", "fields"), locate, problems)
        if isinstance(key_raw, Mapping)
        else ()
    )
    return Contract(
        name=name,
        consumer=str(spec["consumer"]),
        topic=str(spec["topic"]),
        fields=_field_rules(value.get("fields") or (), ("value", "fields"), locate, problems),
        headers=tuple(headers),
        key=key,
        key_fields=key_fields,
        examples=_examples(spec.get("examples") or (), ("examples",), locate),
        version=spec.get("version"),
        owner=owner,
        location=locate(()),
    )


def build_examples(name: str, spec: Mapping[str, Any], locate: Locator) -> EventExamples:
    headers = spec.get("headers")
    return EventExamples(
        name=name,
        producer=str(spec["producer"]),
        topic=str(spec["topic"]),
        examples=_examples(spec.get("examples") or (), ("examples",), locate),
        headers=tuple(headers) if isinstance(headers, list) else None,
        location=locate(()),
    )


def contract_to_spec(contract: Contract) -> dict[str, Any]:
    """The manifest ``spec`` of a contract (the inverse of :func:`build_contract`)."""
    spec: dict[str, Any] = {"consumer": contract.consumer, "topic": contract.topic}
    if contract.version is not None:
        spec["version"] = contract.version
    if contract.fields:
        spec["value"] = {"fields": [{"path": r.target, **r.to_dict()} for r in contract.fields]}
    if contract.key is not None or contract.key_fields:
        key: dict[str, Any] = contract.key.to_dict() if contract.key is not None else {}
        if contract.key_fields:
            key["fields"] = [{"path": r.target, **r.to_dict()} for r in contract.key_fields]
        spec["key"] = key
    if contract.headers:
        spec["headers"] = [{"name": r.target, **r.to_dict()} for r in contract.headers]
    if contract.examples:
        spec["examples"] = [example_to_spec(e) for e in contract.examples]
    return spec


def example_to_spec(example: Example) -> dict[str, Any]:
    out: dict[str, Any] = {"name": example.name, "value": example.value}
    if example.key is not None:
        out["key"] = example.key
    if example.headers:
        out["headers"] = dict(example.headers)
    return out
