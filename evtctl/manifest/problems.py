"""Located problems found while loading a workspace, before they become diagnostics."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from evtctl.errors import InputError, Location


class Code(enum.StrEnum):
    """Stable codes of validate's findings (``VAL###``; lint rules use ``EVT###``)."""

    YAML = "VAL001"  # malformed YAML, tabs, bad scalars
    DUPLICATE_KEY = "VAL002"
    FILE = "VAL003"  # unreadable, binary, not UTF-8, too large, empty
    API_VERSION = "VAL004"
    UNKNOWN_KIND = "VAL005"
    UNKNOWN_FIELD = "VAL006"
    TYPE = "VAL007"
    SCHEMA = "VAL008"  # other JSON Schema violations (missing fields, ...)
    VALUE = "VAL009"  # enum, pattern, units, topic config values, regexes
    DUPLICATE_RESOURCE = "VAL010"
    REFERENCE = "VAL011"  # dangling references between resources
    SCHEMA_FILE = "VAL012"  # missing or unparsable schema file
    VARIABLE = "VAL013"  # undefined variable, unknown environment
    CONFIG = "VAL014"  # evtctl.yaml problems


SLUGS: dict[Code, str] = {
    Code.YAML: "yaml-syntax",
    Code.DUPLICATE_KEY: "duplicate-key",
    Code.FILE: "unreadable-file",
    Code.API_VERSION: "api-version",
    Code.UNKNOWN_KIND: "unknown-kind",
    Code.UNKNOWN_FIELD: "unknown-field",
    Code.TYPE: "wrong-type",
    Code.SCHEMA: "schema-violation",
    Code.VALUE: "invalid-value",
    Code.DUPLICATE_RESOURCE: "duplicate-resource",
    Code.REFERENCE: "dangling-reference",
    Code.SCHEMA_FILE: "schema-file",
    Code.VARIABLE: "variable",
    Code.CONFIG: "workspace-config",
}


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    location: Location
    help: str | None = None
    code: Code = Code.SCHEMA

    def to_error(self) -> InputError:
        return InputError(self.message, location=self.location, help=self.help)

    def render(self) -> str:
        return self.to_error().render()
