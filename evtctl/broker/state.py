"""Cluster metadata kept on disk: node id, cluster id, topics (id, partitions, explicitly set configs)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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
                self.topics[t["name"]] = TopicMeta(
                    t["name"], uuid.UUID(t["id"]), int(t["partitions"]), dict(t.get("configs", {}))
                )
        self.by_id: dict[uuid.UUID, TopicMeta] = {t.topic_id: t for t in self.topics.values()}

    def save_topics(self) -> None:
        data = [
            {"name": t.name, "id": str(t.topic_id), "partitions": t.partitions, "configs": t.configs}
            for t in self.topics.values()
        ]
        _atomic_write(self.dir / "topics.json", json.dumps(data, indent=1))

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
        self.save_topics()
        return meta

    def remove_topic(self, name: str) -> TopicMeta:
        meta = self.topics.pop(name)
        self.by_id.pop(meta.topic_id, None)
        self.save_topics()
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
