"""Committed consumer offsets, durable in the broker's internal compacted journal.

Keys are ``o`` + the JSON array ``[group, topic, partition]`` (group ids are free text, so they are
quoted). Every commit is fsynced before it is acknowledged; a restart replays the journal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evtctl.broker.groups.store import KeyedJournal


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp_ms: int


def _key(group_id: str, topic: str, partition: int) -> str:
    return "o" + json.dumps([group_id, topic, partition], separators=(",", ":"))


class OffsetStore:
    def __init__(self, data_dir: Path, *, fsync: bool = True) -> None:
        self._journal = KeyedJournal(data_dir / "__consumer_offsets" / "offsets.journal", fsync=fsync)
        self._by_group: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        for key, value in self._journal.items("o"):
            group_id, topic, partition = json.loads(key[1:])
            self._by_group.setdefault(group_id, {})[(topic, partition)] = CommittedOffset(*value)

    def group_ids(self) -> list[str]:
        return list(self._by_group)

    def has_group(self, group_id: str) -> bool:
        return bool(self._by_group.get(group_id))

    def commit(
        self, group_id: str, offsets: Iterable[tuple[str, int, int, int, str]], *, sync: bool = True
    ) -> None:
        """Store (topic, partition, offset, leader_epoch, metadata) entries with one fsync (or, with
        ``sync=False``, leave it to :meth:`sync`)."""
        now = int(time.time() * 1000)
        changes = []
        group = self._by_group.setdefault(group_id, {})
        for topic, partition, offset, epoch, metadata in offsets:
            entry = CommittedOffset(offset, epoch, metadata, now)
            group[(topic, partition)] = entry
            changes.append((_key(group_id, topic, partition), [offset, epoch, metadata, now]))
        self._journal.put_many(changes, sync=sync)

    async def sync(self) -> None:
        await self._journal.sync()

    def fetch(self, group_id: str, topic: str, partition: int) -> CommittedOffset | None:
        return self._by_group.get(group_id, {}).get((topic, partition))

    def all_for(self, group_id: str) -> dict[tuple[str, int], CommittedOffset]:
        return dict(self._by_group.get(group_id, {}))

    def delete(self, group_id: str, partitions: Iterable[tuple[str, int]]) -> None:
        group = self._by_group.get(group_id, {})
        changes: list[tuple[str, object]] = []
        for topic, partition in partitions:
            if group.pop((topic, partition), None) is not None:
                changes.append((_key(group_id, topic, partition), None))
        if not group:
            self._by_group.pop(group_id, None)
        self._journal.put_many(changes)

    def delete_group(self, group_id: str) -> None:
        self.delete(group_id, list(self._by_group.get(group_id, {})))

    def delete_topic(self, topic: str) -> None:
        for group_id, parts in list(self._by_group.items()):
            self.delete(group_id, [tp for tp in parts if tp[0] == topic])

    def close(self) -> None:
        self._journal.close()
