"""Protobuf support (in progress)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evtctl.compat.model import ParsedSchema, SchemaType, Violation
from evtctl.errors import UsageError


def collect_imports(path: Path, text: str, include_dirs: list[Path]) -> dict[str, str]:
    return {}


class ProtobufChecker:
    schema_type: SchemaType = "PROTOBUF"

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        raise UsageError("Protobuf compatibility is not available yet")

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        return []
