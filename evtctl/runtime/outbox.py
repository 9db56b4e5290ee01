"""Transactional outbox on SQLite: stage events in the caller's transaction, publish them later.

``stage`` serializes the event (so the relay needs no models) and INSERTs it using the caller's
connection without committing: the event exists exactly when the business change commits. The
relay publishes staged rows in insertion order and marks them published only after the broker
acknowledged them, so a crash in between republishes (at-least-once; consumers dedupe by event id).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any, Protocol

from evtctl.runtime.producer import HeadersArg, RawHeaders, TypedProducer

DEFAULT_TABLE = "evtctl_outbox"


def _check_table(table: str) -> str:
    if not table.isidentifier():
        raise ValueError(f"outbox table name {table!r} is not an identifier")
    return table


def ensure_outbox_table(conn: sqlite3.Connection, table: str = DEFAULT_TABLE) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {_check_table(table)} ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, "
        "key BLOB, value BLOB, headers TEXT NOT NULL, created_at REAL NOT NULL, published_at REAL)"
    )


def _encode_headers(headers: RawHeaders) -> str:
    return json.dumps([[k, v.hex()] for k, v in headers])


def _decode_headers(text: str) -> RawHeaders:
    return [(str(k), bytes.fromhex(v)) for k, v in json.loads(text)]


def stage(
    conn: sqlite3.Connection,
    producer: TypedProducer[Any],
    value: Any,
    *,
    key: object | None = None,
    headers: HeadersArg = None,
    event_id: str,
    table: str = DEFAULT_TABLE,
) -> str:
    """Write one event into the outbox inside the caller's open transaction (no commit here)."""
    key_bytes, payload, all_headers = producer.encode(value, key=key, headers=headers, event_id=event_id)
    conn.execute(
        f"INSERT INTO {_check_table(table)} (event_id, topic, key, value, headers, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, producer.binding.topic, key_bytes, payload, _encode_headers(all_headers), time.time()),
    )
    return event_id


class RawSender(Protocol):
    def produce_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: RawHeaders
    ) -> None: ...

    def flush(self, timeout: float = 30.0) -> None: ...


class OutboxRelay:
    """Publishes staged events through any producer of the workspace (they carry their own topic)."""

    def __init__(self, conn: sqlite3.Connection, sender: RawSender, *, table: str = DEFAULT_TABLE) -> None:
        self.conn = conn
        self.sender = sender
        self.table = _check_table(table)
        ensure_outbox_table(conn, table)

    def publish_pending(self, limit: int = 500, timeout: float = 30.0) -> int:
        """Publish up to ``limit`` staged events; returns how many were acknowledged and marked."""
        rows: Sequence[tuple[int, str, bytes | None, bytes | None, str]] = self.conn.execute(
            f"SELECT id, topic, key, value, headers FROM {self.table} WHERE published_at IS NULL "
            "ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        if not rows:
            return 0
        for _, topic, key, value, headers in rows:
            self.sender.produce_raw(topic, key, value, _decode_headers(headers))
        self.sender.flush(timeout)  # raises if any was not acknowledged: nothing is marked then
        with self.conn:
            self.conn.executemany(
                f"UPDATE {self.table} SET published_at = ? WHERE id = ?",
                [(time.time(), row[0]) for row in rows],
            )
        return len(rows)
