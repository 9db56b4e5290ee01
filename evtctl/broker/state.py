"""Cluster metadata kept on disk: node id, cluster id, topics (id, partitions, explicitly set configs).

Topics live in a snapshot (``topics.json``, written atomically) plus an append-only journal
(``topics.journal``, one JSON record per line: a topic's whole record, or its deletion). Creating or
deleting N topics therefore costs O(N) in total instead of rewriting the table per topic; inside
``store.batch()`` (one CreateTopics/DeleteTopics request) the journal is written and fsynced once. The
journal is folded into a new snapshot once it outgrows the table. Replaying the journal is idempotent
(records are whole states), so a crash between writing the snapshot and truncating the journal is
harmless, and a torn last line (kill -9 mid-write) is ignored.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.kafka.topic_configs import TOPIC_CONFIGS


@dataclass(slots=True)
class TopicMeta:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)  # explicitly set (source: DYNAMIC_TOPIC_CONFIG)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class MetadataStore:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "meta"
        self.dir.mkdir(parents=True, exist_ok=True)
        props = self.dir / "meta.json"
        if props.exists():
            meta = json.loads(props.read_text(encoding="utf-8"))
        else:
            meta = {"node_id": 1, "cluster_id": _cluster_id(), "next_producer_id": 1000}
            _atomic_write(props, json.dumps(meta))
        self.node_id: int = int(meta["node_id"])
        self.cluster_id: str = str(meta["cluster_id"])
        self._next_producer_id: int = int(meta.get("next_producer_id", 1000))
        self.topics: dict[str, TopicMeta] = {}
        path = self.dir / "topics.json"
        if path.exists():
            for t in json.loads(path.read_text(encoding="utf-8")):
                self._put(t)
        self._journal_path = self.dir / "topics.journal"
        self._journal_entries, torn = self._replay_journal()
        self.by_id: dict[uuid.UUID, TopicMeta] = {t.topic_id: t for t in self.topics.values()}
        self._pending: list[str] = []  # journal lines not yet written (inside batch())
        self._batch_depth = 0
        if torn:  # fold into a fresh snapshot so later appends never continue the torn line
            self.save_topics()

    # ------------------------------------------------------------------ persistence

    def _put(self, t: Mapping[str, Any]) -> None:
        name = str(t["name"])
        self.topics[name] = TopicMeta(
            name, uuid.UUID(t["id"]), int(t["partitions"]), dict(t.get("configs") or {})
        )

    def _replay_journal(self) -> tuple[int, bool]:
        """Apply the journal; returns (records applied, whether a torn tail was found)."""
        try:
            raw = self._journal_path.read_bytes()
        except FileNotFoundError:
            return 0, False
        count = 0
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                return count, True  # torn tail of a write cut by a crash; it was never acknowledged
            if rec.get("op") == "del":
                self.topics.pop(str(rec["name"]), None)
            else:
                self._put(rec)
            count += 1
        return count, not raw.endswith(b"\n") and bool(raw.strip())

    @staticmethod
    def _record(t: TopicMeta) -> dict[str, object]:
        return {"name": t.name, "id": str(t.topic_id), "partitions": t.partitions, "configs": t.configs}

    def _journal(self, rec: dict[str, object]) -> None:
        self._pending.append(json.dumps(rec, separators=(",", ":")))
        if self._batch_depth == 0:
            self._flush()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group topic changes: one journal write and one fsync at the end (per admin request)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        data = ("\n".join(lines) + "\n").encode()
        fd = os.open(self._journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._journal_entries += len(lines)
        if self._journal_entries > max(1024, 2 * len(self.topics)):
            self.save_topics()

    def save_topics(self) -> None:
        """Write the whole table as a new snapshot and empty the journal (compaction)."""
        data = [self._record(t) for t in self.topics.values()]
        _atomic_write(self.dir / "topics.json", json.dumps(data, separators=(",", ":")))
        with open(self._journal_path, "wb") as fh:
            os.fsync(fh.fileno())
        self._journal_entries = 0

    def _save_meta(self) -> None:
        _atomic_write(
            self.dir / "meta.json",
            json.dumps(
                {
                    "node_id": self.node_id,
                    "cluster_id": self.cluster_id,
                    "next_producer_id": self._next_producer_id,
                }
            ),
        )

    def allocate_producer_id(self) -> int:
        pid = self._next_producer_id
        self._next_producer_id += 1
        self._save_meta()
        return pid

    def add_topic(self, name: str, partitions: int, configs: Mapping[str, str]) -> TopicMeta:
        meta = TopicMeta(name, uuid.uuid4(), partitions, dict(configs))
        self.topics[name] = meta
        self.by_id[meta.topic_id] = meta
        self._journal(self._record(meta))
        return meta

    def update_topic(self, meta: TopicMeta) -> None:
        """Persist a changed partition count or config set of an existing topic."""
        self._journal(self._record(meta))

    def remove_topic(self, name: str) -> TopicMeta:
        meta = self.topics.pop(name)
        self.by_id.pop(meta.topic_id, None)
        self._journal({"op": "del", "name": name})
        return meta


def effective_configs(explicit: Mapping[str, str], broker_overrides: Mapping[str, str]) -> dict[str, str]:
    """Every topic config: explicit value, else the broker synonym's override, else the default."""
    out: dict[str, str] = {}
    for name, defn in TOPIC_CONFIGS.items():
        if name in explicit:
            out[name] = explicit[name]
        elif defn.broker_synonym and defn.broker_synonym in broker_overrides:
            out[name] = broker_overrides[defn.broker_synonym]
        else:
            out[name] = defn.default
    return out
