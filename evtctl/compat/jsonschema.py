"""JSON Schema support (in progress)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evtctl.compat.model import ParsedSchema, SchemaType, Violation
from evtctl.errors import UsageError


def collect_file_refs(path: Path, text: str) -> dict[str, str]:
    return {}


class JsonSchemaChecker:
    schema_type: SchemaType = "JSON"

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        raise UsageError("JSON Schema compatibility is not available yet")

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        return []
