"""Log compaction for ``cleanup.policy=compact`` topics.

For the closed segments that are old enough (``min.compaction.lag.ms``) and dirty enough
(``min.cleanable.dirty.ratio`` of bytes written since the last cleaning), keep only the latest record per
key; tombstones (null value) are kept until they are older than ``delete.retention.ms``. Offsets are
preserved: a rewritten batch keeps its base offset, last offset delta and each record's offset delta,
and is re-compressed with its original codec (gzip, snappy, lz4 or zstd). Reading and rewriting happen
in a worker thread on immutable closed segments; swapping files happens on the event loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evtctl.broker.log.partition import PartitionLog
from evtctl.broker.log.segment import Segment
from evtctl.broker.protocol.records import decode_records, encode_batch

CHECKPOINT = "cleaner-checkpoint"


@dataclass(frozen=True, slots=True)
class SegmentRewrite:
    segment: Segment
    size_before: int
    tmp_path: Path
    dropped: int


@dataclass(frozen=True, slots=True)
class CleanPlan:
    rewrites: list[SegmentRewrite]
    cleaned_upto: int  # offsets below this are clean


def read_checkpoint(plog: PartitionLog) -> int:
    try:
        return int((plog.directory / CHECKPOINT).read_text().strip())
    except (OSError, ValueError):
        return 0


def _cleanable_segments(plog: PartitionLog, now: int) -> list[Segment]:
    lag = plog.cfg_int("min.compaction.lag.ms")
    out: list[Segment] = []
    for seg in plog.segments[:-1]:  # never the active segment
        if seg.size != seg.pending_size:
            break  # writes still queued
        if seg.max_timestamp > now - lag:
            break
        out.append(seg)
    return out


def needs_cleaning(plog: PartitionLog, now: int) -> list[Segment]:
    segments = _cleanable_segments(plog, now)
    if not segments:
        return []
    clean_upto = read_checkpoint(plog)
    total = sum(s.size for s in segments)
    dirty = sum(s.size for s in segments if s.next_offset > clean_upto)
    if total == 0 or dirty == 0:
        return []
    if dirty / total < float(plog.configs.get("min.cleanable.dirty.ratio", "0.5")):
        return []
    return segments


def prepare(plog: PartitionLog, segments: list[Segment], now: int) -> CleanPlan:
    """Build the key map and write cleaned copies of the segments (thread-safe: closed segments only)."""
    latest: dict[bytes, int] = {}
    sizes = {id(s): s.size for s in segments}
    for seg in segments:
        batches, _ = seg.scan(validate=False)
        for pos, hdr in batches:
            if hdr.is_control:
                continue
            for rec in decode_records(seg.pread(hdr.size, pos)):
                if rec.key is not None:
                    latest[rec.key] = hdr.base_offset + rec.offset_delta
    tombstone_horizon = now - plog.cfg_int("delete.retention.ms")
    rewrites: list[SegmentRewrite] = []
    for seg in segments:
        size = sizes[id(seg)]
        batches, _ = seg.scan(validate=False)
        tmp = seg.path.with_suffix(".log.cleaned")
        dropped = 0
        with open(tmp, "wb") as out:
            for pos, hdr in batches:
                raw = seg.pread(hdr.size, pos)
                if hdr.is_control:
                    out.write(raw)
                    continue
                records = decode_records(raw)
                keep = []
                for rec in records:
                    offset = hdr.base_offset + rec.offset_delta
                    if rec.key is not None and latest.get(rec.key) != offset:
                        continue
                    log_append = hdr.attributes & 0x08
                    ts = hdr.max_timestamp if log_append else hdr.base_timestamp + rec.timestamp_delta
                    if rec.value is None and ts < tombstone_horizon:
                        continue
                    keep.append(rec)
                dropped += len(records) - len(keep)
                if len(keep) == len(records):
                    out.write(raw)
                elif keep:
                    out.write(
                        encode_batch(
                            base_offset=hdr.base_offset,
                            records=keep,
                            attributes=hdr.attributes,
                            last_offset_delta=hdr.last_offset_delta,
                            base_timestamp=hdr.base_timestamp,
                            max_timestamp=hdr.max_timestamp,
                            producer_id=hdr.producer_id,
                            producer_epoch=hdr.producer_epoch,
                            base_sequence=hdr.base_sequence,
                            leader_epoch=hdr.leader_epoch,
                        )
                    )
            out.flush()
            os.fsync(out.fileno())
        rewrites.append(SegmentRewrite(seg, size, tmp, dropped))
    return CleanPlan(rewrites, segments[-1].next_offset if segments else 0)


def apply(plog: PartitionLog, plan: CleanPlan) -> int:
    """Swap cleaned files in (on the event loop). Returns records dropped."""
    dropped = 0
    interval = plog.cfg_int("index.interval.bytes")
    for rw in plan.rewrites:
        seg = rw.segment
        if plog.deleted or seg not in plog.segments or seg.size != rw.size_before:
            rw.tmp_path.unlink(missing_ok=True)  # retention removed it meanwhile
            continue
        i = plog.segments.index(seg)
        seg.close()
        os.replace(rw.tmp_path, seg.path)
        fresh = Segment(plog.directory, seg.base_offset, created_ms=seg.created_ms, writer=plog.writer)
        fresh.rebuild(interval, validate=False)
        # Keep the offset range of the old segment even if its tail was compacted away.
        fresh.next_offset = max(fresh.next_offset, seg.next_offset)
        fresh.write_indexes()
        plog.segments[i] = fresh
        dropped += rw.dropped
    if not plog.deleted:
        (plog.directory / CHECKPOINT).write_text(str(plan.cleaned_upto))
    return dropped


def clean_partition(plog: PartitionLog, now: int) -> int:
    """Synchronous cleaning (tests and tools); the broker uses prepare() in a thread and apply()."""
    segments = needs_cleaning(plog, now)
    if not segments:
        return 0
    return apply(plog, prepare(plog, segments, now))
