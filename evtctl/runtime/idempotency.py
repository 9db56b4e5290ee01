"""Idempotency guard stores: remember which event ids a consumer group has already handled."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol


class IdempotencyStore(Protocol):
    """Pluggable store; ``mark`` is called only after the handler succeeded (or dead-lettered)."""

    def seen(self, scope: str, event_id: str) -> bool: ...

    def mark(self, scope: str, event_id: str) -> None: ...


class MemoryIdempotencyStore:
    """For tests and throwaway consumers: forgets everything on restart."""

    def __init__(self) -> None:
        self._ids: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def seen(self, scope: str, event_id: str) -> bool:
        with self._lock:
            return (scope, event_id) in self._ids

    def mark(self, scope: str, event_id: str) -> None:
        with self._lock:
            self._ids.add((scope, event_id))


class SqliteIdempotencyStore:
    """The default: a SQLite table keyed by (scope, event id); ``scope`` is the consumer group."""

    def __init__(
        self, path: str | Path = "evtctl-idempotency.sqlite3", *, table: str = "evtctl_processed"
    ) -> None:
        if not table.isidentifier():
            raise ValueError(f"table name {table!r} is not an identifier")
        self.table = table
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (scope TEXT NOT NULL, event_id TEXT NOT NULL, "
            "processed_at REAL NOT NULL, PRIMARY KEY (scope, event_id))"
        )

    def seen(self, scope: str, event_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                f"SELECT 1 FROM {self.table} WHERE scope = ? AND event_id = ?", (scope, event_id)
            ).fetchone()
        return row is not None

    def mark(self, scope: str, event_id: str) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT OR IGNORE INTO {self.table} (scope, event_id, processed_at) VALUES (?, ?, ?)",
                (scope, event_id, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
