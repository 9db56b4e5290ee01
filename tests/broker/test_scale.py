"""Many topics: metadata journal (O(N) creation, crash safety) and bounded open files."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

from evtctl.broker.state import MetadataStore
from tests.support.broker import BrokerProcess

WAIT = 120
Factory = Callable[..., BrokerProcess]


def test_create_2000_topics_in_one_request_survives_kill(broker_factory: Factory) -> None:
    broker = broker_factory("--registry-listen", "off", "--flush-policy", "page-cache")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    names = [f"scale.{i:05d}" for i in range(2000)]
    futures = admin.create_topics(
        [NewTopic(n, 2, 1) for n in names], request_timeout=WAIT, operation_timeout=WAIT
    )
    for f in futures.values():
        f.result(WAIT)
    # One CreateTopics request is one journal write: the snapshot was not rewritten per topic.
    journal = (broker.data_dir / "meta" / "topics.journal").read_bytes().splitlines()
    assert len(journal) == 2000
    admin.delete_topics(names[:10], operation_timeout=WAIT)[names[0]].result(WAIT)
    before = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=WAIT).topics
    broker.restart(kill=True)  # SIGKILL: no clean shutdown
    after = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=WAIT).topics
    assert set(after) == set(names[10:])
    assert set(after) == set(before)
    assert all(len(after[n].partitions) == 2 for n in names[10:])


def _record(name: str) -> dict[str, object]:
    return {"name": name, "id": str(uuid.uuid4()), "partitions": 3, "configs": {"retention.ms": "1000"}}


def test_journal_torn_tail_is_ignored_and_later_records_survive(tmp_path: Path) -> None:
    store = MetadataStore(tmp_path)
    with store.batch():
        for i in range(5):
            store.add_topic(f"t{i}", 1, {})
    store.remove_topic("t0")
    journal = tmp_path / "meta" / "topics.journal"
    # A write cut by kill -9: half a record, no newline.
    with open(journal, "ab") as fh:
        fh.write(json.dumps(_record("torn")).encode()[:25])
    store = MetadataStore(tmp_path)
    assert sorted(store.topics) == ["t1", "t2", "t3", "t4"]
    store.add_topic("t5", 4, {"cleanup.policy": "compact"})
    store = MetadataStore(tmp_path)
    assert sorted(store.topics) == ["t1", "t2", "t3", "t4", "t5"]
    assert store.topics["t5"].partitions == 4
    assert store.topics["t5"].configs == {"cleanup.policy": "compact"}


def test_journal_compacts_into_snapshot(tmp_path: Path) -> None:
    store = MetadataStore(tmp_path)
    for i in range(300):
        store.add_topic(f"t{i}", 1, {})
    for round_ in range(4):  # unbatched updates: one journal record each, folded past the threshold
        for i in range(300):
            meta = store.topics[f"t{i}"]
            meta.configs = {"retention.ms": str(1000 + round_)}
            store.update_topic(meta)
    journal = tmp_path / "meta" / "topics.journal"
    assert len(journal.read_bytes().splitlines()) < 1500
    snapshot = json.loads((tmp_path / "meta" / "topics.json").read_text())
    assert len(snapshot) == 300
    reloaded = MetadataStore(tmp_path)
    assert {n: (t.topic_id, t.configs) for n, t in reloaded.topics.items()} == {
        n: (t.topic_id, {"retention.ms": "1003"}) for n, t in store.topics.items()
    }


def _open_segments(pid: int, data_dir: Path) -> int:
    """Segment files (``<data-dir>/logs/*/*.log``) the process holds open."""
    prefix = str(data_dir.resolve() / "logs") + os.sep
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile by the writer thread
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            count += target.startswith(prefix) and target.endswith(".log")
    return count


def test_open_files_stay_bounded_with_many_partitions(broker_factory: Factory) -> None:
    # 1,500 partitions with a 64-descriptor LRU: without the LRU the broker would hold 1,500+ files.
    os.environ["EVTCTL_BROKER_MAX_OPEN_SEGMENTS"] = "64"
    try:
        broker = broker_factory("--registry-listen", "off", "--flush-policy", "page-cache")
    finally:
        del os.environ["EVTCTL_BROKER_MAX_OPEN_SEGMENTS"]
    assert broker.proc is not None
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    names = [f"fd.{i:04d}" for i in range(100)]
    for f in admin.create_topics([NewTopic(n, 15, 1) for n in names], operation_timeout=WAIT).values():
        f.result(WAIT)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for n in names:
        for p in range(15):
            producer.produce(n, value=f"{n}/{p}".encode(), partition=p)
    assert producer.flush(WAIT) == 0
    # Evicted descriptors with writes are closed by the writer thread after their fsync: wait for it.
    deadline = time.monotonic() + WAIT
    while _open_segments(broker.proc.pid, broker.data_dir) > 64 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _open_segments(broker.proc.pid, broker.data_dir) <= 64
    # Data written through evicted descriptors is all there, also after a restart.
    broker.restart()
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g", "enable.auto.commit": False})
    try:
        tps = [TopicPartition(n, p, 0) for n in names[:5] for p in range(15)]
        consumer.assign(tps)
        got: set[bytes] = set()
        deadline = time.monotonic() + WAIT
        while len(got) < len(tps) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                got.add(msg.value() or b"")
        assert got == {f"{n}/{p}".encode() for n in names[:5] for p in range(15)}
    finally:
        consumer.close()


def test_describe_configs_of_many_topics_keeps_each_topics_overrides(broker_factory: Factory) -> None:
    # Default entries are shared between topics: an override of one topic must not leak to another.
    broker = broker_factory("--registry-listen", "off", "-c", "log.retention.ms=3600000")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    names = [f"cfg.{i:03d}" for i in range(300)]
    topics = [
        NewTopic(n, 1, 1, config={"retention.ms": str(1000 + i)} if i % 3 == 0 else {})
        for i, n in enumerate(names)
    ]
    for f in admin.create_topics(topics, operation_timeout=WAIT).values():
        f.result(WAIT)
    futures = admin.describe_configs([ConfigResource("topic", n) for n in names], request_timeout=WAIT)
    for res, fut in futures.items():
        i = names.index(res.name)
        entries = fut.result(WAIT)
        retention = entries["retention.ms"]
        if i % 3 == 0:
            assert (retention.value, retention.source) == (
                str(1000 + i),
                ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
            )
        else:
            assert (retention.value, retention.source) == ("3600000", ConfigSource.STATIC_BROKER_CONFIG.value)
        assert entries["cleanup.policy"].value == "delete"
