"""Offline checks of the schema files subject bindings point at.

Parsing is the compat engine's job (``evtctl.compat.parse_schema_file``); this module only asks it
once per file, turns its ``InputError`` into a located problem, and derives the record name the
Record/TopicRecord naming strategies need.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, overload

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
        self._pending: Callable[[], Any] | None = None  # a prefetch still running
        self._fetched: dict[tuple[str, str], Outcome] = {}
        self.texts: dict[Path, str] = {}  # the files read in this process, as read
        if cache_file is not None:
            try:
                loaded = json.loads(cache_file.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("version") == __version__:
                    self._known = {str(k): str(v) for k, v in loaded.get("parsed", {}).items()}
            except (OSError, ValueError):
                pass

    def save(self) -> None:
        """Write the cache back (best effort: a read-only checkout just stays uncached)."""
        if self._pending is not None:  # a prefetch nobody asked for (no bound file exists): reap it
            self._prefetched(Path(), SchemaFormat.AVRO)
        if self.cache_file is None or not self._dirty:
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(f".{os.getpid()}.tmp")  # concurrent runs never share it
            tmp.write_text(json.dumps({"version": __version__, "parsed": self._known}), encoding="utf-8")
            os.replace(tmp, self.cache_file)
        except OSError:
            pass

    def prefetch(self, items: Sequence[tuple[Path, SchemaFormat, Sequence[Path]]]) -> None:
        """Settle ``items`` (file, format, reference files) the cache already knows, here (a read and
        a hash each), and start parsing the others in a forked child when there are enough of them,
        so the parsing overlaps the rest of the load; :meth:`check` then waits for those outcomes.
        A warm cache thus never forks: the other core stays free for whatever else runs. (With an
        empty cache every file goes to the child unread.)"""
        from evtctl import forking

        todo = []
        unique = {(f, fmt, tuple(refs)) for f, fmt, refs in items}
        for f, fmt, refs in sorted(unique, key=lambda item: (str(item[0]), item[1].value)):
            if (f, fmt) in self._cache:
                continue
            # an empty cache knows nothing: the child reads and hashes too, not only parses
            known = self._outcome(f, fmt, refs, parse=False) if self._known else None
            if known is None:
                todo.append((f, fmt, refs))
            else:
                self._fetched[(str(f), fmt.value)] = known
        if len(todo) < PREFETCH_MIN_FILES:
            return

        def work() -> tuple[dict[tuple[str, str], Any], dict[str, str]]:
            outcomes = {(str(f), fmt.value): self._outcome(f, fmt, refs) for f, fmt, refs in todo}
            return outcomes, self._known

        wait = forking.spawn(work)
        if wait is not None:
            self._pending = wait

    def check(
        self, file: Path, fmt: SchemaFormat, references: Sequence[Path], used_at: Location
    ) -> tuple[Problem | None, str | None]:
        key = (file, fmt)
        hit = self._cache.get(key)
        if hit is None:
            outcome = self._prefetched(file, fmt)
            if outcome is None:
                outcome = self._outcome(file, fmt, tuple(references))
            hit = self._cache[key] = _result(file, outcome, used_at)
        return hit

    def _prefetched(self, file: Path, fmt: SchemaFormat) -> Outcome | None:
        if self._pending is not None:
            from evtctl import forking

            wait, self._pending = self._pending, None
            try:
                fetched, known = wait()
            except forking.ChildFailed:
                pass  # check each of those files here instead
            else:
                self._fetched.update(fetched)
                if known.keys() - self._known.keys():
                    self._known.update(known)
                    self._dirty = True
        return self._fetched.pop((str(file), fmt.value), None)

    @overload
    def _outcome(self, file: Path, fmt: SchemaFormat, references: Sequence[Path]) -> Outcome: ...
    @overload
    def _outcome(
        self, file: Path, fmt: SchemaFormat, references: Sequence[Path], *, parse: bool
    ) -> Outcome | None: ...
    def _outcome(
        self, file: Path, fmt: SchemaFormat, references: Sequence[Path], *, parse: bool = True
    ) -> Outcome | None:
        """What checking ``file`` found, as plain data (it may come from a forked child); without
        ``parse``, None when finding out would need a parse."""
        try:
            text = self.texts[file] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            return ("unreadable", f"cannot read schema file {file.name}: {err}")
        digest = hashlib.sha256(f"{fmt.value}\0{text}".encode())
        for ref in references:
            try:
                digest.update(b"\0" + ref.read_bytes())
            except OSError:
                digest.update(b"\0missing")
        key = digest.hexdigest()
        if key in self._known:
            return ("ok", self._known[key])
        if not parse:
            return None
        try:
            _parse(file, fmt, references, self.search_paths)
        except EvtctlError as err:
            where = err.location if err.location is not None and err.location.file else Location(str(file))
            return ("invalid", err.message, err.help, where.file or str(file), where.line, where.col)
        except (RecursionError, ValueError, TypeError, KeyError) as err:
            # The parser should have raised InputError; still, bad input must not crash validate.
            return ("crashed", f"{type(err).__name__}: {err}")
        name = record_name(text, fmt)
        # Only Avro is cached: its references are declared (and hashed above), while Protobuf
        # imports and JSON Schema file $refs are found on disk and could change unseen.
        if fmt is SchemaFormat.AVRO:
            self._known[key] = name or ""
            self._dirty = True
        return ("ok", name or "")


# ("ok", record name or ""), ("unreadable", message), ("invalid", message, help, file, line, col),
# ("crashed", message)
Outcome = tuple[Any, ...]

# Fewer schema files parse faster than a second process starts.
PREFETCH_MIN_FILES = 200


def _result(file: Path, outcome: Outcome, used_at: Location) -> tuple[Problem | None, str | None]:
    kind = outcome[0]
    if kind == "ok":
        return None, outcome[1] or None
    if kind == "unreadable":
        return Problem(outcome[1], used_at, code=Code.SCHEMA_FILE), None
    if kind == "invalid":
        message, help, where_file, line, col = outcome[1:]
        return (
            Problem(
                f"schema does not parse: {message}",
                Location(_shown(where_file), line, col),
                f"bound at {used_at}" + (f"; {help}" if help else ""),
                Code.SCHEMA_FILE,
            ),
            None,
        )
    return (
        Problem(
            f"schema does not parse: {outcome[1]}",
            Location(_shown(str(file))),
            f"bound at {used_at}",
            Code.SCHEMA_FILE,
        ),
        None,
    )


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
