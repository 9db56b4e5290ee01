"""One log segment: a file of record batches exactly as received, plus sparse offset and time indexes.

Files: ``<base offset:020d>.log`` (batches), ``.index`` (pairs of int64 offset, int64 position) and
``.timeindex`` (pairs of int64 max timestamp, int64 offset). Indexes live in memory as compact
``array('q')`` (a few bytes per ``index.interval.bytes`` of log) and are written to disk when the segment
is rolled and on clean shutdown; after a crash they are rebuilt by scanning.

Segment files are opened lazily and kept in one LRU of at most ``MAX_OPEN_SEGMENTS`` descriptors, so
tens of thousands of partitions fit under the default ``ulimit -n``. An evicted descriptor that had
writes queued is closed through the writer thread (after those writes and their fsync); one never
written through is closed at once.
"""

from __future__ import annotations

import os
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from pathlib import Path

from evtctl.broker.log.writer import LogWriter
from evtctl.broker.protocol.records import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    check_crc,
    parse_header,
)

SCAN_CHUNK = 1 << 20


MAX_OPEN_SEGMENTS = int(os.environ.get("EVTCTL_BROKER_MAX_OPEN_SEGMENTS", "512"))


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class _OpenFiles:
    """LRU of segments holding an open descriptor. The lock also covers each pread, so a reader thread
    (the cleaner) never reads a descriptor the loop is evicting."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(8, capacity)
        self.lock = threading.RLock()
        self.segments: OrderedDict[Segment, None] = OrderedDict()

    def opened(self, seg: Segment) -> None:
        self.segments[seg] = None
        while len(self.segments) > self.capacity:
            old, _ = self.segments.popitem(last=False)
            old._release()

    def touch(self, seg: Segment) -> None:
        self.segments.move_to_end(seg)

    def forget(self, seg: Segment) -> None:
        self.segments.pop(seg, None)


OPEN_FILES = _OpenFiles(MAX_OPEN_SEGMENTS)


class Segment:
    def __init__(
        self, directory: Path, base_offset: int, *, created_ms: int, writer: LogWriter | None = None
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.path = directory / f"{segment_name(base_offset)}.log"
        self.writer = writer
        self._fd = -1
        self._written = False  # writes were queued through ``_fd`` (close it through the writer)
        self.closed = False
        # ``size``: bytes on file and visible to readers; ``pending_size``: including queued writes.
        self.size = os.fstat(self.fd).st_size
        self.pending_size = self.size
        self.next_offset = base_offset  # last offset + 1
        self.max_timestamp = -1
        self.max_timestamp_pos = -1  # position of the batch holding max_timestamp
        self.created_ms = created_ms
        self.index_offsets = array("q")
        self.index_positions = array("q")
        self.time_ts = array("q")
        self.time_offsets = array("q")
        self._since_index = 1 << 62  # index the first batch

    # ------------------------------------------------------------------ descriptor

    @property
    def fd(self) -> int:
        """The open descriptor (opened on demand, counted in the LRU)."""
        with OPEN_FILES.lock:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
                OPEN_FILES.opened(self)
            else:
                OPEN_FILES.touch(self)
            return self._fd

    def write_fd(self) -> int:
        """The descriptor for a write queued to the writer thread."""
        fd = self.fd
        self._written = True
        return fd

    def _release(self, *, now: bool = False) -> None:
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        if self._written and self.writer is not None and not now:
            self.writer.close_fd(fd)  # after the queued writes and their fsync
        else:
            os.close(fd)
        self._written = False

    # ------------------------------------------------------------------ writing

    def append(
        self,
        data: bytes | bytearray | memoryview,
        headers: list[tuple[int, BatchHeader]],
        index_interval: int,
    ) -> tuple[int, int]:
        """Account for pre-validated batches (``headers``: position in data, header with final offsets)
        appended at the end; returns the (start, end) file positions. The caller writes the bytes."""
        start = self.pending_size
        self.pending_size += len(data)
        for pos, hdr in headers:
            self._note_batch(start + pos, hdr, index_interval)
        return start, self.pending_size

    def _note_batch(self, position: int, hdr: BatchHeader, index_interval: int) -> None:
        if self._since_index >= index_interval:
            self.index_offsets.append(hdr.base_offset)
            self.index_positions.append(position)
            self._since_index = 0
            if hdr.max_timestamp > (self.time_ts[-1] if self.time_ts else -1):
                self.time_ts.append(hdr.max_timestamp)
                self.time_offsets.append(hdr.base_offset)
        self._since_index += hdr.size
        if hdr.max_timestamp > self.max_timestamp:
            self.max_timestamp = hdr.max_timestamp
            self.max_timestamp_pos = position
        self.next_offset = hdr.last_offset + 1

    def fsync(self) -> None:
        # A descriptor evicted with writes was fsynced by the writer when it closed it.
        with OPEN_FILES.lock:
            if self._fd >= 0:
                os.fsync(self._fd)

    # ------------------------------------------------------------------ reading

    def pread(self, size: int, position: int) -> bytes:
        with OPEN_FILES.lock:
            return os.pread(self.fd, size, position)

    def header_at(self, position: int) -> BatchHeader:
        return parse_header(self.pread(HEADER_SIZE, position))

    def lookup(self, offset: int) -> int:
        """Position of the first batch whose last offset >= ``offset`` (``size`` if none)."""
        i = bisect_right(self.index_offsets, offset) - 1
        pos = self.index_positions[i] if i >= 0 else 0
        while pos < self.size:
            hdr = self.header_at(pos)
            if hdr.last_offset >= offset:
                return pos
            pos += hdr.size
        return self.size

    def read(
        self, offset: int, max_bytes: int, limit_position: int | None = None, *, oversize_first: bool = True
    ) -> tuple[bytes | memoryview, int]:
        """Whole batches starting at the one containing ``offset``: at most ``max_bytes``. If the first
        batch alone is larger, it is returned whole when ``oversize_first`` (as Kafka does for the first
        partition of a response, so consumers always progress), else nothing.
        Returns (data, position of the first batch)."""
        end = self.size if limit_position is None else min(limit_position, self.size)
        pos = self.lookup(offset)
        if pos >= end:
            return b"", pos
        want = min(max_bytes, end - pos)
        chunk = self.pread(want, pos) if want >= HEADER_SIZE else b""
        # Trim to complete batches by walking header lengths only.
        cut = 0
        while len(chunk) - cut >= LOG_OVERHEAD:
            length = int.from_bytes(chunk[cut + 8 : cut + 12], "big", signed=True)
            if cut + length + LOG_OVERHEAD > len(chunk):
                break
            cut += length + LOG_OVERHEAD
        if cut == 0:
            if not oversize_first:
                return b"", pos
            first = self.header_at(pos)
            return self.pread(first.size, pos), pos
        return (chunk if cut == len(chunk) else memoryview(chunk)[:cut]), pos

    def scan(self, *, validate: bool) -> tuple[list[tuple[int, BatchHeader]], int]:
        """All (position, header) pairs; with ``validate`` stop at the first torn or corrupt batch.
        Returns the batches and the position where valid data ends."""
        out: list[tuple[int, BatchHeader]] = []
        pos = 0
        while pos + HEADER_SIZE <= self.size:
            hdr = self.header_at(pos)
            if hdr.magic != 2 or hdr.length < HEADER_SIZE - LOG_OVERHEAD or pos + hdr.size > self.size:
                break
            if hdr.last_offset_delta < 0 or (out and hdr.base_offset < out[-1][1].last_offset + 1):
                break
            if validate:
                data = self.pread(hdr.size, pos)
                if not check_crc(data, 0, hdr):
                    break
            out.append((pos, hdr))
            pos += hdr.size
        return out, pos

    def rebuild(self, index_interval: int, *, validate: bool) -> int:
        """Rebuild in-memory state from the file; truncate anything after the last valid batch.
        Returns the number of bytes truncated."""
        batches, valid_end = self.scan(validate=validate)
        truncated = self.size - valid_end
        if truncated:
            with OPEN_FILES.lock:
                os.ftruncate(self.fd, valid_end)
            self.size = valid_end
        self.pending_size = self.size
        self.index_offsets = array("q")
        self.index_positions = array("q")
        self.time_ts = array("q")
        self.time_offsets = array("q")
        self._since_index = 1 << 62
        self.max_timestamp = -1
        self.max_timestamp_pos = -1
        self.next_offset = self.base_offset
        for pos, hdr in batches:
            self._note_batch(pos, hdr, index_interval)
        return truncated

    # ------------------------------------------------------------------ index files

    def _index_paths(self) -> tuple[Path, Path]:
        stem = segment_name(self.base_offset)
        return self.directory / f"{stem}.index", self.directory / f"{stem}.timeindex"

    def write_indexes(self) -> None:
        idx, tidx = self._index_paths()
        pairs = array("q")
        for o, p in zip(self.index_offsets, self.index_positions, strict=True):
            pairs.extend((o, p))
        tpairs = array("q")
        for t, o in zip(self.time_ts, self.time_offsets, strict=True):
            tpairs.extend((t, o))
        meta = array(
            "q",
            [
                self.pending_size,
                self.next_offset,
                self.max_timestamp,
                self.max_timestamp_pos,
                self.created_ms,
                self._since_index,
            ],
        )
        idx.write_bytes(meta.tobytes() + pairs.tobytes())
        tidx.write_bytes(tpairs.tobytes())

    def load_indexes(self) -> bool:
        """Load index files written at roll/clean shutdown; False if missing or stale."""
        idx, tidx = self._index_paths()
        try:
            raw = idx.read_bytes()
            traw = tidx.read_bytes()
        except OSError:
            return False
        if len(raw) < 48 or len(raw) % 16 or len(traw) % 16:
            return False
        meta = array("q")
        meta.frombytes(raw[:48])
        if meta[0] != self.size:
            return False
        pairs = array("q")
        pairs.frombytes(raw[48:])
        tpairs = array("q")
        tpairs.frombytes(traw)
        self.next_offset, self.max_timestamp, self.max_timestamp_pos, self.created_ms, self._since_index = (
            meta[1],
            meta[2],
            meta[3],
            meta[4],
            meta[5],
        )
        self.index_offsets = pairs[0::2]
        self.index_positions = pairs[1::2]
        self.time_ts = tpairs[0::2]
        self.time_offsets = tpairs[1::2]
        return True

    def delete_index_files(self) -> None:
        for p in self._index_paths():
            p.unlink(missing_ok=True)

    # ------------------------------------------------------------------ lifecycle

    def close(self, *, now: bool = False) -> None:
        """Close the file: through the writer, after its queued writes, unless ``now``."""
        if not self.closed:
            with OPEN_FILES.lock:
                OPEN_FILES.forget(self)
                self._release(now=now)
            self.closed = True

    def delete(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        self.delete_index_files()

    def offset_for_timestamp(self, ts: int) -> int:
        """Base offset of an indexed batch at or before the first batch with max timestamp >= ts."""
        i = bisect_right(self.time_ts, ts - 1)  # first entry with ts_entry >= ts
        if i == 0:
            return self.base_offset
        return self.time_offsets[i - 1]
