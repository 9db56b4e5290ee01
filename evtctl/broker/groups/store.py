"""A small crash-safe keyed journal: the broker's internal compacted log for metadata.

Committed offsets, ACLs, SCRAM credentials and quotas are small, keyed and rewritten often. Each
change is appended as one framed record (length, CRC32, JSON ``{"k": key, "v": value|null}``) and
fsynced before the request is answered, so an acknowledged change survives ``kill -9``. On open the
file is replayed up to the first torn or corrupt record (which is truncated, as Kafka truncates a
torn log tail); a null value is a tombstone. When dead records outnumber live ones the journal is
compacted into a new file that replaces the old one atomically (write, fsync, rename), so its size
tracks live state, like a compacted topic.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_HEADER = struct.Struct(">II")  # payload length, crc32(payload)


class KeyedJournal:
    """Latest value per key, persisted as an append-only journal with compaction."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._data: dict[str, Any] = {}
        self._records = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        good_end = self._replay()
        self._file = open(path, "ab")  # noqa: SIM115 - kept open for the broker's lifetime
        if self._file.tell() != good_end:
            self._file.truncate(good_end)
            self._file.seek(good_end)

    def _replay(self) -> int:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        pos = 0
        while pos + _HEADER.size <= len(raw):
            length, crc = _HEADER.unpack_from(raw, pos)
            start = pos + _HEADER.size
            payload = raw[start : start + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                break
            try:
                record = json.loads(payload)
            except ValueError:
                break
            self._apply(record["k"], record["v"])
            self._records += 1
            pos = start + length
        return pos

    def _apply(self, key: str, value: Any) -> None:
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = value

    def get(self, key: str) -> Any:
        return self._data.get(key)

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for key, value in list(self._data.items()):
            if key.startswith(prefix):
                yield key, value

    def put_many(self, changes: list[tuple[str, Any]], *, sync: bool = True) -> None:
        """Apply and persist several changes with one fsync (None deletes); ``sync=False`` leaves the
        fsync to a later :meth:`sync` (so the event loop need not wait for the disk)."""
        if not changes:
            return
        buf = bytearray()
        for key, value in changes:
            payload = json.dumps({"k": key, "v": value}, separators=(",", ":")).encode()
            buf += _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
            self._apply(key, value)
        self._file.write(buf)
        self._file.flush()
        if self._fsync and sync:
            os.fsync(self._file.fileno())
        self._records += len(changes)
        if self._records > 1000 and self._records > 2 * len(self._data):
            self.compact()

    async def sync(self) -> None:
        """fsync in a worker thread; concurrent callers each get a barrier covering their writes."""
        if not self._fsync:
            return
        fd = self._file.fileno()
        try:
            await asyncio.to_thread(os.fsync, fd)
        except OSError:
            if self._file.closed or self._file.fileno() != fd:
                return  # compacted meanwhile: the new file was fsynced before it replaced the old one
            raise

    def put(self, key: str, value: Any) -> None:
        self.put_many([(key, value)])

    def delete(self, key: str) -> None:
        if key in self._data:
            self.put_many([(key, None)])

    def compact(self) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".compacting")
        with open(tmp, "wb") as out:
            for key, value in self._data.items():
                payload = json.dumps({"k": key, "v": value}, separators=(",", ":")).encode()
                out.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
            out.flush()
            os.fsync(out.fileno())
        self._file.close()
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._records = len(self._data)

    def close(self) -> None:
        self._file.close()
