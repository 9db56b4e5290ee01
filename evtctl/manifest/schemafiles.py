"""Offline checks of the schema files subject bindings point at.

Parsing is the compat engine's job (``evtctl.compat.parse_schema_file``); this module only asks it
once per file, turns its ``InputError`` into a located problem, and derives the record name the
Record/TopicRecord naming strategies need.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from evtctl import __version__
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
    """Parses each schema file once per run (bindings often share files).

    With ``cache_file``, schemas that parsed before are remembered by a hash of their text (and
    their references' text, and the evtctl version), so unchanged contracts are not re-parsed on
    every run; failures are never cached.
    """

    def __init__(self, search_paths: Sequence[Path] = (), cache_file: Path | None = None) -> None:
        self.search_paths = tuple(search_paths)
        self._cache: dict[tuple[Path, SchemaFormat], tuple[Problem | None, str | None]] = {}
        self.cache_file = cache_file
        self._known: dict[str, str] = {}
        self._dirty = False
        if cache_file is not None:
            try:
                loaded = json.loads(cache_file.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("version") == __version__:
                    self._known = {str(k): str(v) for k, v in loaded.get("parsed", {}).items()}
            except (OSError, ValueError):
                pass

    def save(self) -> None:
        """Write the cache back (best effort: a read-only checkout just stays uncached)."""
        if self.cache_file is None or not self._dirty:
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(f".{os.getpid()}.tmp")  # concurrent runs never share it
            tmp.write_text(json.dumps({"version": __version__, "parsed": self._known}), encoding="utf-8")
            os.replace(tmp, self.cache_file)
        except OSError:
            pass

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
        digest = hashlib.sha256(f"{fmt.value}\0{text}".encode())
        for ref in references:
            try:
                digest.update(b"\0" + ref.read_bytes())
            except OSError:
                digest.update(b"\0missing")
        key = digest.hexdigest()
        if key in self._known:
            return None, self._known[key] or None
        try:
            _parse(file, fmt, references, self.search_paths)
        except EvtctlError as err:
            where = err.location if err.location is not None and err.location.file else Location(str(file))
            where = dataclasses.replace(where, file=_shown(where.file or str(file)))
            return (
                Problem(
                    f"schema does not parse: {err.message}",
                    where,
                    f"bound at {used_at}" + (f"; {err.help}" if err.help else ""),
                    Code.SCHEMA_FILE,
                ),
                None,
            )
        except (RecursionError, ValueError, TypeError, KeyError) as err:
            # The parser should have raised InputError; still, bad input must not crash validate.
            return (
                Problem(
                    f"schema does not parse: {type(err).__name__}: {err}",
                    Location(_shown(str(file))),
                    f"bound at {used_at}",
                    Code.SCHEMA_FILE,
                ),
                None,
            )
        name = record_name(text, fmt)
        # Only Avro is cached: its references are declared (and hashed above), while Protobuf
        # imports and JSON Schema file $refs are found on disk and could change unseen.
        if fmt is SchemaFormat.AVRO:
            self._known[key] = name or ""
            self._dirty = True
        return None, name


def _shown(file: str) -> str:
    try:
        return Path(file).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file


def _parse(file: Path, fmt: SchemaFormat, references: Sequence[Path], search_paths: Sequence[Path]) -> None:
    from evtctl.compat import parse_schema_file

    if fmt is SchemaFormat.PROTOBUF:
        dirs = list(dict.fromkeys([*(r.parent for r in references), *search_paths]))
        parse_schema_file(file, fmt.value, reference_paths=dirs)
    else:
        parse_schema_file(file, fmt.value, reference_paths=list(references))
