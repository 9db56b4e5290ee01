"""Durable registry state: an append-only JSON-lines log replayed into memory at start.

Why a log file and not a compacted Kafka topic (Confluent's ``_schemas``) or SQLite:
- The registry is tiny (thousands of records) and read-mostly; the whole state lives in memory and
  every read is a dict lookup. Only writes touch the disk.
- One record per acknowledged change, written as ONE line and fsynced before the HTTP answer is
  sent, gives exactly the durability contract clients rely on: an acknowledged registration
  survives ``kill -9`` and power loss (the file is fsynced, and the directory once after creation).
- A crash can only tear the last line. A JSON object is complete only when its closing brace and
  the newline are on disk, so on load a last line without newline (or that does not parse) is a torn
  write that was never acknowledged: it is cut off. Damage anywhere else is real corruption and
  start-up refuses with the line number instead of silently dropping acknowledged data.
- It does not depend on the broker's log format, so the registry also runs standalone.
- Superseded records are removed by rewriting a snapshot (temp file, fsync, atomic rename, fsync
  of the directory) at start when the log holds many more records than the live state.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.errors import InputError, Location

LOG_NAME = "registry.log"
DEFAULT_COMPATIBILITY = "BACKWARD"
DEFAULT_MODE = "READWRITE"


class StoreCorrupt(InputError):
    """The log is damaged before its last line; refusing to start beats losing acknowledged data."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(
            message,
            location=Location(str(path), line) if path is not None else None,
            help="restore the file from a backup, or move it away to start with an empty registry",
        )


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True, slots=True)
class StoredSchema:
    id: int
    schema_type: str
    text: str
    references: tuple[Reference, ...]
    fingerprint: str
    guid: str

    @property
    def key(self) -> tuple[str, str, tuple[Reference, ...]]:
        return (self.schema_type, self.fingerprint, self.references)


@dataclass(slots=True)
class StoredVersion:
    subject: str
    version: int
    schema_id: int
    deleted: bool = False


@dataclass(slots=True)
class RegistryState:
    """The replayed state. Mutated only by :meth:`apply`, so the log is the single truth."""

    schemas: dict[int, StoredSchema] = field(default_factory=dict)
    ids_by_key: dict[tuple[str, str, tuple[Reference, ...]], int] = field(default_factory=dict)
    ids_by_guid: dict[str, int] = field(default_factory=dict)
    # subject -> version -> StoredVersion (hard-deleted versions are removed)
    subjects: dict[str, dict[int, StoredVersion]] = field(default_factory=dict)
    # schema id -> (subject, version) pairs pointing at it, soft-deleted included
    id_versions: dict[int, set[tuple[str, int]]] = field(default_factory=dict)
    # None is the global scope
    configs: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    modes: dict[str | None, str] = field(default_factory=dict)
    max_id: int = 0
    records: int = 0

    def apply(self, rec: dict[str, Any]) -> None:
        self.records += 1
        op = rec["op"]
        if op in ("register", "schema"):
            schema = rec.get("schema")
            if schema is not None:
                stored = StoredSchema(
                    id=int(schema["id"]),
                    schema_type=str(schema["type"]),
                    text=str(schema["text"]),
                    references=tuple(Reference(str(n), str(s), int(v)) for n, s, v in schema["refs"]),
                    fingerprint=str(schema["fp"]),
                    guid=str(schema["guid"]),
                )
                self.schemas[stored.id] = stored
                self.ids_by_key[stored.key] = stored.id
                self.ids_by_guid[stored.guid] = stored.id
                self.max_id = max(self.max_id, stored.id)
            if op == "schema":
                return
            subject, version = str(rec["subject"]), int(rec["version"])
            versions = self.subjects.setdefault(subject, {})
            for old in rec.get("replaces") or ():
                gone = versions.pop(int(old), None)
                if gone is not None:
                    self.id_versions.get(gone.schema_id, set()).discard((subject, gone.version))
            versions[version] = StoredVersion(subject, version, int(rec["id"]))
            self.id_versions.setdefault(int(rec["id"]), set()).add((subject, version))
        elif op == "soft_delete":
            versions = self.subjects.get(str(rec["subject"]), {})
            for v in rec["versions"]:
                if int(v) in versions:
                    versions[int(v)].deleted = True
        elif op == "hard_delete":
            subject = str(rec["subject"])
            versions = self.subjects.get(subject, {})
            for v in rec["versions"]:
                gone = versions.pop(int(v), None)
                if gone is not None:
                    self.id_versions.get(gone.schema_id, set()).discard((subject, gone.version))
            if not versions:
                self.subjects.pop(subject, None)
                if rec.get("subject_gone"):
                    self.configs.pop(subject, None)
                    self.modes.pop(subject, None)
        elif op == "config":
            scope = rec.get("subject")
            if rec.get("config") is None:
                self.configs.pop(scope, None)
            else:
                self.configs[scope] = dict(rec["config"])
        elif op == "mode":
            scope = rec.get("subject")
            if rec.get("mode") is None:
                self.modes.pop(scope, None)
            else:
                self.modes[scope] = str(rec["mode"])
        elif op == "max_id":
            self.max_id = max(self.max_id, int(rec["id"]))
        else:
            raise StoreCorrupt(f"unknown record type {op!r}")

    def snapshot(self) -> Iterator[dict[str, Any]]:
        """Records that rebuild exactly this state (used to compact the log)."""
        yield {"op": "max_id", "id": self.max_id}
        written: set[int] = set()
        for subject, versions in self.subjects.items():
            for version in sorted(versions):
                sv = versions[version]
                yield {
                    "op": "register",
                    "subject": subject,
                    "version": version,
                    "id": sv.schema_id,
                    "schema": None if sv.schema_id in written else schema_record(self.schemas[sv.schema_id]),
                }
                written.add(sv.schema_id)
            deleted = [v for v, sv in sorted(versions.items()) if sv.deleted]
            if deleted:
                yield {"op": "soft_delete", "subject": subject, "versions": deleted}
        # Schemas no version points to any more keep their id: registering one again reuses it.
        for schema_id, schema in sorted(self.schemas.items()):
            if schema_id not in written:
                yield {"op": "schema", "schema": schema_record(schema)}
        for scope, config in self.configs.items():
            yield {"op": "config", "subject": scope, "config": config}
        for scope, mode in self.modes.items():
            yield {"op": "mode", "subject": scope, "mode": mode}

    def live_records(self) -> int:
        versions = sum(len(v) + 1 for v in self.subjects.values())
        return 1 + versions + len(self.schemas) + len(self.configs) + len(self.modes)


def schema_record(schema: StoredSchema) -> dict[str, Any]:
    return {
        "id": schema.id,
        "type": schema.schema_type,
        "text": schema.text,
        "refs": [[r.name, r.subject, r.version] for r in schema.references],
        "fp": schema.fingerprint,
        "guid": schema.guid,
    }


def _encode(rec: dict[str, Any]) -> bytes:
    return (json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def _fsync_dir(path: Path) -> None:
    # Makes a created or renamed file's directory entry durable (POSIX); not possible on Windows.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class RegistryLog:
    """The append-only log file. Blocking calls; the server runs them in a worker thread."""

    def __init__(self, data_dir: Path, *, compact_min_records: int = 1000) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOG_NAME
        self.compact_min_records = compact_min_records
        self._file: Any = None

    def open(self) -> RegistryState:
        """Replay the log (cutting a torn tail), compact if worthwhile, open for appending."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        state = RegistryState()
        if not created:
            self._replay(state)
            if state.records > self.compact_min_records and state.records > 2 * state.live_records():
                self._rewrite(state)
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - held open for the server's life
        if created:
            os.fsync(self._file.fileno())
            _fsync_dir(self.data_dir)
        return state

    def _replay(self, state: RegistryState) -> None:
        data = self.path.read_bytes()
        offset = 0
        line_no = 0
        while offset < len(data):
            end = data.find(b"\n", offset)
            line_no += 1
            if end < 0:
                self._truncate(offset)  # torn tail: no newline, never acknowledged
                return
            raw = data[offset:end]
            try:
                rec = json.loads(raw)
                if not isinstance(rec, dict) or "op" not in rec:
                    raise ValueError("not a record")
            except ValueError as exc:
                if end + 1 >= len(data):
                    self._truncate(offset)  # torn last line
                    return
                raise StoreCorrupt(f"damaged registry record ({exc})", self.path, line_no) from exc
            try:
                state.apply(rec)
            except StoreCorrupt as exc:
                raise StoreCorrupt(exc.message, self.path, line_no) from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise StoreCorrupt(f"invalid registry record ({exc})", self.path, line_no) from exc
            offset = end + 1

    def _truncate(self, size: int) -> None:
        with open(self.path, "r+b") as f:
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self, state: RegistryState) -> None:
        tmp = self.path.with_suffix(".compact")
        with open(tmp, "wb") as f:
            for rec in state.snapshot():
                f.write(_encode(rec))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.data_dir)
        state.records = state.live_records()

    def append(self, rec: dict[str, Any]) -> None:
        """Write one record and fsync it; the caller acknowledges only after this returns."""
        if self._file is None:
            raise RuntimeError("registry log is not open")
        payload = _encode(rec)
        fd = self._file.fileno()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(payload):  # unbuffered write may be partial
                written += self._file.write(payload[written:])
            os.fsync(fd)
        except OSError:
            # e.g. disk full: cut the partial line so later appends do not land behind garbage
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
