"""The Plan: typed changes with risk classes, as data (computed purely, rendered, saved, applied)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evtctl.errors import Location

PLAN_FORMAT_VERSION = 1


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Risk(enum.StrEnum):
    SAFE = "safe"
    NEEDS_APPROVAL = "needs-approval"
    DATA_LOSS = "data-loss"
    IMPOSSIBLE = "impossible"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {Risk.SAFE: 0, Risk.NEEDS_APPROVAL: 1, Risk.DATA_LOSS: 2, Risk.IMPOSSIBLE: 3}


def worst(risks: list[Risk] | tuple[Risk, ...]) -> Risk:
    return max(risks, key=lambda r: r.rank, default=Risk.SAFE)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed attribute: ``partitions``, ``replication``, ``config.retention.ms``, ``schema``..."""

    field: str
    before: Any
    after: Any
    risk: Risk = Risk.SAFE
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "risk": str(self.risk),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    name: str
    action: Action
    before: Mapping[str, Any] | None  # the live resource (None for create)
    after: Mapping[str, Any] | None  # the desired resource, complete enough to apply (None for delete)
    fields: tuple[FieldChange, ...] = ()
    risk: Risk = Risk.SAFE
    reasons: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "action": str(self.action),
            "risk": str(self.risk),
            "reasons": list(self.reasons),
            "before": _plain(self.before),
            "after": _plain(self.after),
            "fields": [f.to_json() for f in self.fields],
            "location": _loc(self.location),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            kind=data["kind"],
            name=data["name"],
            action=Action(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            fields=tuple(
                FieldChange(f["field"], f.get("before"), f.get("after"), Risk(f["risk"]), f.get("reason"))
                for f in data.get("fields", ())
            ),
            risk=Risk(data["risk"]),
            reasons=tuple(data.get("reasons", ())),
            location=_unloc(data.get("location")),
        )


@dataclass(frozen=True, slots=True)
class PlanError:
    """A change the plan refuses to make (impossible, incompatible schema, unsupported API, guard)."""

    address: str
    message: str
    details: tuple[str, ...] = ()
    recipe: str | None = None
    risk: Risk = Risk.IMPOSSIBLE
    location: Location | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "message": self.message,
            "details": list(self.details),
            "recipe": self.recipe,
            "risk": str(self.risk),
            "location": _loc(self.location),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanError:
        return cls(
            data["address"],
            data["message"],
            tuple(data.get("details", ())),
            data.get("recipe"),
            Risk(data.get("risk", "impossible")),
            _unloc(data.get("location")),
        )


@dataclass(frozen=True, slots=True)
class Withheld:
    """A live resource outside the manifests that plan will not delete, and why."""

    address: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[Change, ...] = ()
    errors: tuple[PlanError, ...] = ()
    withheld: tuple[Withheld, ...] = ()  # deletions not made (not allowed, out of scope)
    warnings: tuple[str, ...] = ()  # e.g. resource kinds this cluster cannot manage

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "errors": len(self.errors)}
        for c in self.changes:
            out[str(c.action)] += 1
        return out

    def risk_counts(self) -> dict[str, int]:
        out = {str(r): 0 for r in Risk}
        for c in self.changes:
            out[str(c.risk)] += 1
        for e in self.errors:
            out[str(e.risk)] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "summary": self.summary(),
            "risks": self.risk_counts(),
            "changes": [c.to_json() for c in self.changes],
            "errors": [e.to_json() for e in self.errors],
            "withheld": [w.to_json() for w in self.withheld],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            changes=tuple(Change.from_json(c) for c in data.get("changes", ())),
            errors=tuple(PlanError.from_json(e) for e in data.get("errors", ())),
            withheld=tuple(Withheld(w["address"], w["reason"]) for w in data.get("withheld", ())),
            warnings=tuple(data.get("warnings", ())),
        )


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _loc(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"file": loc.file, "line": loc.line, "col": loc.col}


def _unloc(data: Mapping[str, Any] | None) -> Location | None:
    if not data:
        return None
    return Location(data.get("file"), data.get("line"), data.get("col"))


_NULLABLE_STR = {"type": ["string", "null"]}
_LOCATION = {
    "type": ["object", "null"],
    "properties": {
        "file": _NULLABLE_STR,
        "line": {"type": ["integer", "null"]},
        "col": {"type": ["integer", "null"]},
    },
}
_RISK = {"enum": [str(r) for r in Risk]}

# The documented, versioned JSON form of a plan (`evtctl plan -o json`, saved plans). Additive
# changes keep format_version; anything else bumps it.
PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "evtctl plan",
    "type": "object",
    "required": ["format_version", "summary", "risks", "changes", "errors", "withheld", "warnings"],
    "properties": {
        "format_version": {"const": PLAN_FORMAT_VERSION},
        "summary": {
            "type": "object",
            "required": ["create", "update", "delete", "errors"],
            "additionalProperties": {"type": "integer"},
        },
        "risks": {"type": "object", "additionalProperties": {"type": "integer"}},
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "address",
                    "kind",
                    "name",
                    "action",
                    "risk",
                    "reasons",
                    "before",
                    "after",
                    "fields",
                ],
                "properties": {
                    "address": {"type": "string"},
                    "kind": {"enum": ["user", "topic", "acl", "quota", "subject", "consumer-group"]},
                    "name": {"type": "string"},
                    "action": {"enum": [str(a) for a in Action]},
                    "risk": _RISK,
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "before": {"type": ["object", "null"]},
                    "after": {"type": ["object", "null"]},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["field", "before", "after", "risk", "reason"],
                            "properties": {
                                "field": {"type": "string"},
                                "risk": _RISK,
                                "reason": _NULLABLE_STR,
                            },
                        },
                    },
                    "location": _LOCATION,
                },
            },
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["address", "message", "details", "recipe", "risk"],
                "properties": {
                    "address": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "string"}},
                    "recipe": _NULLABLE_STR,
                    "risk": _RISK,
                    "location": _LOCATION,
                },
            },
        },
        "withheld": {
            "type": "array",
            "items": {"type": "object", "required": ["address", "reason"]},
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
        "context": {"type": "string"},
        "round_trips": {"type": "integer"},
        "level_reads": {"type": "integer"},
        "live_fingerprint": {"type": "object", "additionalProperties": {"type": "string"}},
        "kinds": {"type": "array", "items": {"type": "string"}},
        "targets": {"type": "array", "items": {"type": "string"}},
        "config_topics": {"type": ["array", "null"], "items": {"type": "string"}},
        "level_subjects": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
