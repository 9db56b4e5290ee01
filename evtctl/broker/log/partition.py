"""A partition's log: ordered segments, offsets, idempotent-producer state, retention, recovery."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evtctl.broker.log.segment import Segment
from evtctl.broker.log.writer import LogWriter, WriteJob
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.protocol.records import (
    OFF_BASE_OFFSET,
    OFF_LEADER_EPOCH,
    BatchHeader,
    decode_records,
    parse_header,
)

LOG_START_FILE = "log-start-offset"
PRODUCER_STATE_FILE = "producer-state.json"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    last_seq: int
    # (first seq, last seq, base offset) of the last five batches: duplicates are answered from here.
    recent: deque[tuple[int, int, int]] = field(default_factory=lambda: deque(maxlen=5))


class ProduceError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AppendResult:
    base_offset: int
    log_append_time: int  # -1 unless LogAppendTime
    duplicate: bool = False
    job: WriteJob | None = None  # the queued write (None for duplicates or without a writer)


class PartitionLog:
    def __init__(
        self,
        directory: Path,
        topic: str,
        partition: int,
        configs: Mapping[str, str],
        writer: LogWriter | None = None,
    ) -> None:
        self.directory = directory
        self.writer = writer
        self.topic = topic
        self.partition = partition
        self.configs = configs  # effective topic configs (every name, as strings)
        self.segments: list[Segment] = []
        self.log_start_offset = 0
        self.producers: dict[int, ProducerEntry] = {}
        self.waiters: list[asyncio.Future[None]] = []
        self.visible_end = 0  # offsets below this are written to the files (the high watermark)
        self.deleted = False

    # ------------------------------------------------------------------ configs

    def cfg_int(self, name: str) -> int:
        return int(self.configs[name])

    @property
    def log_end_offset(self) -> int:
        return self.segments[-1].next_offset if self.segments else self.log_start_offset

    @property
    def high_watermark(self) -> int:
        return self.visible_end

    @property
    def active(self) -> Segment:
        return self.segments[-1]

    @property
    def size_bytes(self) -> int:
        return sum(s.pending_size for s in self.segments)

    # ------------------------------------------------------------------ open / recover / close

    def open(self, *, clean: bool) -> int:
        """Load segments. After an unclean shutdown the segments without index files and the last
        segment (everything after the recovery point) are scanned, validated and truncated at the first
        torn or corrupt batch. Returns the number of bytes truncated."""
        self.directory.mkdir(parents=True, exist_ok=True)
        interval = self.cfg_int("index.interval.bytes")
        bases = sorted(int(p.stem) for p in self.directory.glob("*.log"))
        truncated = 0
        for i, base in enumerate(bases):
            seg = Segment(self.directory, base, created_ms=now_ms(), writer=self.writer)
            last = i == len(bases) - 1
            # Closed segments with index files matching their size are below the recovery point (they were
            # complete when rolled); the last segment is always scanned after an unclean shutdown.
            loaded = (clean or not last) and seg.load_indexes()
            if not loaded:
                truncated += seg.rebuild(interval, validate=not clean or last)
            if not last and not loaded:
                seg.write_indexes()
            self.segments.append(seg)
            if truncated and not last:
                # Data after a torn batch in a middle segment cannot be trusted: drop later segments.
                for b in bases[i + 1 :]:
                    Segment(self.directory, b, created_ms=0).delete()
                break
        if not clean and self.segments:
            self.active.delete_index_files()
        try:
            self.log_start_offset = int((self.directory / LOG_START_FILE).read_text().strip())
        except (OSError, ValueError):
            self.log_start_offset = 0
        if self.segments:
            self.log_start_offset = max(self.log_start_offset, self.segments[0].base_offset)
            self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        else:
            self.segments.append(
                Segment(self.directory, self.log_start_offset, created_ms=now_ms(), writer=self.writer)
            )
        self.visible_end = self.log_end_offset
        self._load_producers(clean)
        return truncated

    def _load_producers(self, clean: bool) -> None:
        path = self.directory / PRODUCER_STATE_FILE
        if clean:
            try:
                data = json.loads(path.read_text())
                for pid, (epoch, last_seq, recent) in data.items():
                    self.producers[int(pid)] = ProducerEntry(
                        epoch, last_seq, deque(map(tuple, recent), maxlen=5)
                    )
                return
            except (OSError, ValueError, TypeError):
                pass
        # Rebuild from batch headers of the last segments (cheap: headers only).
        for seg in self.segments[-2:]:
            batches, _ = seg.scan(validate=False)
            for _, hdr in batches:
                self._note_producer(hdr, hdr.base_offset)

    def _save_producers(self) -> None:
        data = {str(pid): [e.epoch, e.last_seq, list(e.recent)] for pid, e in self.producers.items()}
        (self.directory / PRODUCER_STATE_FILE).write_text(json.dumps(data))

    def close(self) -> None:
        """Clean shutdown (the writer has drained): sync, write indexes and producer state, close."""
        for seg in self.segments:
            if not seg.closed:
                seg.fsync()
                seg.write_indexes()
                seg.close(now=True)
        if not self.deleted:
            self._save_producers()
        self._wake()

    def delete(self) -> None:
        self.deleted = True
        for seg in self.segments:
            seg.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self._wake()

    # ------------------------------------------------------------------ producer state

    def _note_producer(self, hdr: BatchHeader, base_offset: int) -> None:
        if hdr.producer_id < 0 or hdr.base_sequence < 0:
            return
        entry = self.producers.get(hdr.producer_id)
        if entry is None or hdr.producer_epoch != entry.epoch:
            entry = ProducerEntry(hdr.producer_epoch, -1)
            self.producers[hdr.producer_id] = entry
        entry.last_seq = hdr.last_sequence
        entry.recent.append((hdr.base_sequence, hdr.last_sequence, base_offset))

    def check_sequence(self, hdr: BatchHeader) -> int | None:
        """Idempotence: the original base offset for a duplicate, None for a fresh in-order batch;
        raises ProduceError for a fenced epoch or a sequence gap."""
        if hdr.producer_id < 0 or hdr.base_sequence < 0:
            return None
        entry = self.producers.get(hdr.producer_id)
        if entry is None:
            return None  # first batch from this producer here (or its state expired): accept as-is
        if hdr.producer_epoch < entry.epoch:
            raise ProduceError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"producer epoch {hdr.producer_epoch} is older than {entry.epoch}",
            )
        if hdr.producer_epoch > entry.epoch:
            if hdr.base_sequence != 0:
                raise ProduceError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"new epoch must start at sequence 0, got {hdr.base_sequence}",
                )
            return None
        for first, last, base in entry.recent:
            if first == hdr.base_sequence and last == hdr.last_sequence:
                return base
        expected = (entry.last_seq + 1) % (1 << 31)
        if hdr.base_sequence != expected:
            raise ProduceError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"expected sequence {expected}, got {hdr.base_sequence}",
            )
        return None

    # ------------------------------------------------------------------ append

    def append(
        self, data: bytearray, batches: list[tuple[int, BatchHeader]], *, sync: bool = False
    ) -> AppendResult:
        """Append validated batches (``data`` is modified in place: offsets, epoch, LogAppendTime).

        Offsets are assigned now; the bytes are written by the writer thread (``result.job``: its
        ``written`` / ``synced`` futures). ``sync`` asks for an fsync before ``synced`` resolves."""
        if len(batches) == 1:
            dup = self.check_sequence(batches[0][1])
            if dup is not None:
                return AppendResult(dup, -1, duplicate=True)
        else:
            for _, hdr in batches:
                if self.check_sequence(hdr) is not None:
                    raise ProduceError(
                        ErrorCode.DUPLICATE_SEQUENCE_NUMBER, "duplicate batch in a multi-batch request"
                    )
        now = now_ms()
        log_append = self.configs.get("message.timestamp.type") == "LogAppendTime"
        self._maybe_roll(len(data), now)
        base = self.log_end_offset
        next_offset = base
        final: list[tuple[int, BatchHeader]] = []
        for pos, hdr in batches:
            struct.pack_into(">q", data, pos + OFF_BASE_OFFSET, next_offset)
            struct.pack_into(">i", data, pos + OFF_LEADER_EPOCH, 0)
            if log_append:
                from evtctl.broker.protocol.records import (
                    OFF_ATTRIBUTES,
                    OFF_MAX_TIMESTAMP,
                    TIMESTAMP_TYPE_BIT,
                    set_crc,
                )

                struct.pack_into(">h", data, pos + OFF_ATTRIBUTES, hdr.attributes | TIMESTAMP_TYPE_BIT)
                struct.pack_into(">q", data, pos + OFF_MAX_TIMESTAMP, now)
                set_crc(data, pos, hdr.size)
            final_hdr = parse_header(data, pos)
            final.append((pos, final_hdr))
            self._note_producer(final_hdr, next_offset)
            next_offset = final_hdr.last_offset + 1
        seg = self.active
        _, end = seg.append(data, final, self.cfg_int("index.interval.bytes"))
        end_offset = next_offset

        def on_written() -> None:
            seg.size = max(seg.size, end)
            self.visible_end = max(self.visible_end, end_offset)
            self._wake()

        if self.writer is None:
            os.write(seg.fd, data)
            on_written()
            return AppendResult(base, now if log_append else -1)
        job = self.writer.write(seg.write_fd(), data, sync=sync, on_written=on_written)
        return AppendResult(base, now if log_append else -1, job=job)

    def _maybe_roll(self, incoming: int, now: int) -> None:
        seg = self.active
        if seg.pending_size == 0:
            return
        too_big = seg.pending_size + incoming > self.cfg_int("segment.bytes")
        too_old = now - seg.created_ms >= self.cfg_int("segment.ms")
        if too_big or too_old:
            self.roll()

    def roll(self) -> None:
        old = self.active
        if old.pending_size == 0:
            return
        old.write_indexes()
        self.segments.append(
            Segment(self.directory, old.next_offset, created_ms=now_ms(), writer=self.writer)
        )

    def _wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def waiter(self) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self.waiters) > 32:  # drop waiters of fetches that timed out
            self.waiters = [f for f in self.waiters if not f.done()]
        self.waiters.append(fut)
        return fut

    # ------------------------------------------------------------------ read

    def segment_for(self, offset: int) -> Segment | None:
        bases = [s.base_offset for s in self.segments]
        i = bisect_right(bases, offset) - 1
        return self.segments[i] if i >= 0 else None

    def read(self, offset: int, max_bytes: int, *, oversize_first: bool = True) -> bytes | memoryview:
        """Batches from ``offset`` (caller checked the range), within one segment."""
        while True:
            seg = self.segment_for(offset)
            if seg is None:
                return b""
            data, _ = seg.read(offset, max_bytes, oversize_first=oversize_first)
            if data or seg is self.active:
                return data
            # offset is past this segment's data (e.g. compacted away): continue in the next one
            idx = self.segments.index(seg)
            offset = (
                max(offset, self.segments[idx + 1].base_offset) if idx + 1 < len(self.segments) else offset
            )
            if idx + 1 >= len(self.segments):
                return b""

    # ------------------------------------------------------------------ offsets by time

    def offset_for_timestamp(self, ts: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ts, or None."""
        for seg in self.segments:
            if seg.max_timestamp < ts or seg.size == 0:
                continue
            start = max(seg.offset_for_timestamp(ts), self.log_start_offset)
            pos = seg.lookup(start)
            while pos < seg.size:
                hdr = seg.header_at(pos)
                if hdr.max_timestamp >= ts and not hdr.is_control:
                    batch = seg.pread(hdr.size, pos)
                    for rec in decode_records(batch):
                        off = hdr.base_offset + rec.offset_delta
                        rts = (
                            hdr.max_timestamp
                            if hdr.attributes & 0x08
                            else hdr.base_timestamp + rec.timestamp_delta
                        )
                        if rts >= ts and off >= self.log_start_offset:
                            return off, rts
                pos += hdr.size
        return None

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the record with the largest timestamp (first such record)."""
        best: tuple[Segment, int] | None = None
        for seg in self.segments:
            if seg.max_timestamp_pos >= 0 and (best is None or seg.max_timestamp > best[0].max_timestamp):
                best = (seg, seg.max_timestamp_pos)
        if best is None:
            return None
        seg, pos = best
        hdr = seg.header_at(pos)
        if hdr.attributes & 0x08:
            return hdr.base_offset, hdr.max_timestamp
        for rec in decode_records(seg.pread(hdr.size, pos)):
            if hdr.base_timestamp + rec.timestamp_delta == hdr.max_timestamp:
                return hdr.base_offset + rec.offset_delta, hdr.max_timestamp
        return hdr.last_offset, hdr.max_timestamp

    # ------------------------------------------------------------------ retention / delete records

    def _save_log_start(self) -> None:
        tmp = self.directory / (LOG_START_FILE + ".tmp")
        tmp.write_text(str(self.log_start_offset))
        os.replace(tmp, self.directory / LOG_START_FILE)

    def advance_log_start(self, offset: int) -> None:
        if offset <= self.log_start_offset:
            return
        self.log_start_offset = offset
        while len(self.segments) > 1 and self.segments[1].base_offset <= offset:
            self.segments.pop(0).delete()
        if len(self.segments) == 1 and self.active.next_offset <= offset and self.active.pending_size > 0:
            # Everything is deleted: start an empty segment at the new log start.
            old = self.segments.pop(0)
            old.delete()
            self.segments.append(Segment(self.directory, offset, created_ms=now_ms(), writer=self.writer))
        self._save_log_start()

    def enforce_retention(self, now: int) -> int:
        """Delete closed segments beyond retention.ms / retention.bytes. Returns segments deleted."""
        if "delete" not in self.configs.get("cleanup.policy", "delete"):
            return 0
        retention_ms = self.cfg_int("retention.ms")
        retention_bytes = self.cfg_int("retention.bytes")
        deleted = 0
        total = self.size_bytes
        while len(self.segments) > 1:
            seg = self.segments[0]
            if seg.size != seg.pending_size:
                break  # still being written
            expired = retention_ms >= 0 and seg.max_timestamp >= 0 and now - seg.max_timestamp > retention_ms
            too_big = retention_bytes >= 0 and total - seg.size >= retention_bytes
            if not (expired or too_big):
                break
            total -= seg.size
            self.segments.pop(0).delete()
            deleted += 1
            self.log_start_offset = max(self.log_start_offset, self.segments[0].base_offset)
        if deleted:
            self._save_log_start()
        # An idle active segment past segment.ms is rolled so that time retention can reach it.
        if self.active.pending_size and now - self.active.created_ms >= self.cfg_int("segment.ms"):
            self.roll()
        return deleted
