"""Log compaction (work in progress)."""

from __future__ import annotations

from evtctl.broker.log.partition import PartitionLog


def clean_partition(plog: PartitionLog, now: int) -> int:
    return 0
