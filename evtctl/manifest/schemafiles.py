"""Offline checks of the schema files subject bindings point at.

Parsing is the compat engine's job (``evtctl.compat.parse_schema_file``); this module only asks it
once per file, turns its ``InputError`` into a located problem, and derives the record name the
Record/TopicRecord naming strategies need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from evtctl.errors import EvtctlError, Location
from evtctl.manifest.model import SchemaFormat
from evtctl.manifest.problems import Code, Problem

_PROTO_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_PROTO_MESSAGE = re.compile(r"^\s*message\s+(\w+)", re.MULTILINE)


def record_name(text: str, fmt: SchemaFormat) -> str | None:
    """The fully-qualified name of the schema's top-level record/message, if it has one."""
    if fmt is SchemaFormat.PROTOBUF:
        message = _PROTO_MESSAGE.search(text)
        if message is None:
            return None
        package = _PROTO_PACKAGE.search(text)
        return f"{package.group(1)}.{message.group(1)}" if package else message.group(1)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if fmt is SchemaFormat.JSON:
        title = data.get("title")
        return title if isinstance(title, str) else None
    name = data.get("name")
    if not isinstance(name, str):
        return None
    namespace = data.get("namespace")
    return f"{namespace}.{name}" if isinstance(namespace, str) and "." not in name else name


class SchemaFileChecker:
    """Parses each schema file once per run (bindings often share files)."""

    def __init__(self, search_paths: Sequence[Path] = ()) -> None:
        self.search_paths = tuple(search_paths)
        self._cache: dict[tuple[Path, SchemaFormat], tuple[Problem | None, str | None]] = {}

    def check(
        self, file: Path, fmt: SchemaFormat, references: Sequence[Path], used_at: Location
    ) -> tuple[Problem | None, str | None]:
        key = (file, fmt)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._check(file, fmt, references, used_at)
        return hit

    def _check(
        self, file: Path, fmt: SchemaFormat, references: Sequence[Path], used_at: Location
    ) -> tuple[Problem | None, str | None]:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            return Problem(
                f"cannot read schema file {file.name}: {err}", used_at, code=Code.SCHEMA_FILE
            ), None
        try:
            _parse(file, fmt, references, self.search_paths)
        except EvtctlError as err:
            where = err.location if err.location is not None and err.location.file else Location(str(file))
            return (
                Problem(
                    f"schema does not parse: {err.message}",
                    where,
                    f"bound at {used_at}" + (f"; {err.help}" if err.help else ""),
                    Code.SCHEMA_FILE,
                ),
                None,
            )
        return None, record_name(text, fmt)


def _parse(file: Path, fmt: SchemaFormat, references: Sequence[Path], search_paths: Sequence[Path]) -> None:
    from evtctl.compat import parse_schema_file

    if fmt is SchemaFormat.PROTOBUF:
        dirs = list(dict.fromkeys([*(r.parent for r in references), *search_paths]))
        parse_schema_file(file, fmt.value, reference_paths=dirs)
    else:
        parse_schema_file(file, fmt.value, reference_paths=list(references))
