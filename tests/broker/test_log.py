"""The partition log in-process: compaction rules, segment rolling, recovery (fast, no broker process)."""

from __future__ import annotations

import time
from pathlib import Path

from evtctl.broker.log.cleaner import clean_partition
from evtctl.broker.log.partition import PartitionLog
from evtctl.broker.protocol.records import decode_records, validate_produce_records
from evtctl.broker.state import effective_configs
from tests.broker.rawclient import build_batch


def _log(path: Path, **configs: str) -> PartitionLog:
    plog = PartitionLog(path, "t", 0, effective_configs(configs, {}))
    plog.open(clean=True)
    return plog


def _append(plog: PartitionLog, keys: list[bytes], values: list[bytes | None], ts: int | None = None) -> int:
    data = bytearray(build_batch(values, keys=list(keys), timestamps=[ts] * len(values) if ts else None))  # type: ignore[arg-type]
    return plog.append(data, validate_produce_records(data)).base_offset


def _all_records(plog: PartitionLog) -> list[tuple[int, bytes | None, bytes | None]]:
    out = []
    for seg in plog.segments:
        batches, _ = seg.scan(validate=True)
        for pos, hdr in batches:
            for rec in decode_records(seg.pread(hdr.size, pos)):
                out.append((hdr.base_offset + rec.offset_delta, rec.key, rec.value))
    return out


def _fill(plog: PartitionLog, ts: int) -> None:
    for round_ in range(4):
        _append(plog, [b"a", b"b"], [f"{round_}a".encode(), f"{round_}b".encode()], ts)
        plog.roll()


def test_min_compaction_lag_keeps_recent_segments(tmp_path: Path) -> None:
    plog = _log(
        tmp_path / "p",
        **{
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": "3600000",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    _fill(plog, int(time.time() * 1000))
    assert clean_partition(plog, int(time.time() * 1000)) == 0
    assert len(_all_records(plog)) == 8
    old = _log(
        tmp_path / "q",
        **{
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": "3600000",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    _fill(old, int(time.time() * 1000) - 7_200_000)  # two hours old: past the lag
    assert clean_partition(old, int(time.time() * 1000)) == 6
    assert [(o, k, v) for o, k, v in _all_records(old)] == [(6, b"a", b"3a"), (7, b"b", b"3b")]


def test_dirty_ratio_threshold(tmp_path: Path) -> None:
    plog = _log(tmp_path / "p", **{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.9"})
    _fill(plog, int(time.time() * 1000))
    assert clean_partition(plog, int(time.time() * 1000)) == 6  # everything dirty: ratio 1.0
    _append(plog, [b"a"], [b"new"])
    plog.roll()
    # Now the dirty part (one small segment) is far below 90% of the cleanable bytes.
    assert clean_partition(plog, int(time.time() * 1000)) == 0


def test_segment_ms_rolls_idle_active_segment_for_retention(tmp_path: Path) -> None:
    plog = _log(tmp_path / "p", **{"segment.ms": "1000", "retention.ms": "1000"})
    old = int(time.time() * 1000) - 60_000
    _append(plog, [b"k"], [b"v"], old)
    assert len(plog.segments) == 1
    plog.enforce_retention(int(time.time() * 1000) + 5_000)  # rolls the idle segment
    plog.enforce_retention(int(time.time() * 1000) + 5_000)  # then deletes it
    assert plog.log_start_offset == 1 and plog.high_watermark == 1


def test_unclean_open_truncates_torn_tail(tmp_path: Path) -> None:
    plog = _log(tmp_path / "p")
    for i in range(5):
        _append(plog, [b"k"], [str(i).encode()])
    size = plog.active.size
    with open(plog.active.path, "ab") as fh:
        fh.write(b"\x00" * 8 + (9999).to_bytes(4, "big") + b"partial")
    for seg in plog.segments:
        seg.close(now=True)
    again = PartitionLog(tmp_path / "p", "t", 0, effective_configs({}, {}))
    assert again.open(clean=False) == 19
    assert again.active.size == size and again.high_watermark == 5
