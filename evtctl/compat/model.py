"""Data types shared by every schema format: parsed schemas, violations, reports, the checker Protocol."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

SchemaType = Literal["AVRO", "PROTOBUF", "JSON"]
SCHEMA_TYPES: tuple[SchemaType, ...] = ("AVRO", "PROTOBUF", "JSON")

# A schema larger than this is refused before parsing: real schemas are far smaller, and a
# 10 MB paste into a registry is almost always a mistake (and a cheap denial of service).
MAX_SCHEMA_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a schema pair is incompatible.

    ``message`` is one plain past-tense sentence (the registry returns it verbatim);
    ``version_index`` is the position of the offending version in the history (oldest = 0).
    """

    rule_id: str
    path: str
    message: str
    old: str | None = None
    new: str | None = None
    hint: str | None = None
    version_index: int | None = None
    direction: str | None = None  # "backward" (new reads old) or "forward" (old reads new)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "path": self.path,
            "message": self.message,
            "old": self.old,
            "new": self.new,
            "hint": self.hint,
            "version_index": self.version_index,
            "direction": self.direction,
        }


@dataclass(frozen=True, slots=True)
class CompatReport:
    compatible: bool
    violations: list[Violation] = field(default_factory=list)
    level: str = "NONE"
    checked_versions: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "compatible": self.compatible,
            "level": self.level,
            "checked_versions": list(self.checked_versions),
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(frozen=True, slots=True, eq=False)
class ParsedSchema:
    """A schema parsed once; identity is the canonical form (``fingerprint`` is its SHA-256).

    ``model`` is the format's own representation (Avro type graph, Protobuf descriptor set,
    resolved JSON Schema); only that format's checker looks inside it.
    """

    schema_type: SchemaType
    canonical: str
    fingerprint: str
    text: str
    origin: str
    model: Any
    references: Mapping[str, str] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParsedSchema) and (self.schema_type, self.fingerprint) == (
            other.schema_type,
            other.fingerprint,
        )

    def __hash__(self) -> int:
        return hash((self.schema_type, self.fingerprint))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class FormatChecker(Protocol):
    """One implementation per schema format (Avro, Protobuf, JSON Schema)."""

    schema_type: SchemaType

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        """Parse and normalize; raise ``InputError`` located inside ``origin``."""
        ...

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        """Violations that stop ``reader`` from reading data written with ``writer``.

        ``reader_is_new`` only changes the wording (BACKWARD: the new schema reads old data;
        FORWARD: the old schema reads new data).
        """
        ...
