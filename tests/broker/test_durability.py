"""Durability and enforced topic configs: kill -9 recovery, restart, retention, compaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.broker import BrokerProcess

WAIT = 20
Factory = Callable[..., BrokerProcess]


def _create(bootstrap: str, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(WAIT)


def _produce(
    bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes | None]], **conf: object
) -> list:  # type: ignore[type-arg]
    delivered: list = []  # type: ignore[type-arg]
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, **conf})

    def report(err: object, msg: object) -> None:
        assert err is None, err
        delivered.append(msg)

    for key, value in items:
        p.produce(topic, key=key, value=value, on_delivery=report)
    assert p.flush(WAIT) == 0
    return delivered


def _consume(bootstrap: str, topic: str, partition: int = 0) -> list[tuple[int, bytes | None, bytes | None]]:
    """Everything from the log start to the current end."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=WAIT)
        c.assign([TopicPartition(topic, partition, low)])
        out: list[tuple[int, bytes | None, bytes | None]] = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if (out and out[-1][0] >= high - 1) or low == high:
                break
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            out.append((m.offset(), m.key(), m.value()))
        return out
    finally:
        c.close()


def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _segments(data_dir: Path, topic: str, partition: int = 0) -> list[Path]:
    return sorted((data_dir / "logs" / f"{topic}-{partition}").glob("*.log"))


def test_kill_9_keeps_every_acked_record_and_drops_the_torn_tail(broker_factory: Factory) -> None:
    b = broker_factory("--registry-listen", "off")
    _create(b.bootstrap, "durable")
    items = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(400)]
    delivered = _produce(b.bootstrap, "durable", items, acks="all")
    acked = {m.offset(): m.value() for m in delivered}
    b.kill()
    (segment,) = _segments(b.data_dir, "durable")
    good_size = segment.stat().st_size
    with open(segment, "ab") as fh:  # a torn write: a batch header promising more bytes than exist
        fh.write((400).to_bytes(8, "big") + (5000).to_bytes(4, "big") + b"\x00" * 40)
    b.start()
    assert segment.stat().st_size == good_size
    records = _consume(b.bootstrap, "durable")
    assert {off: v for off, _, v in records} == acked
    more = _produce(b.bootstrap, "durable", [(b"after", b"crash")], acks="all")
    assert more[0].offset() == 400


def test_corrupt_batch_in_tail_is_truncated_on_recovery(broker_factory: Factory) -> None:
    b = broker_factory("--registry-listen", "off")
    _create(b.bootstrap, "crc")
    _produce(b.bootstrap, "crc", [(None, b"a" * 100)], acks="all")
    _produce(b.bootstrap, "crc", [(None, b"b" * 100)], acks="all")
    b.kill()
    (segment,) = _segments(b.data_dir, "crc")
    data = bytearray(segment.read_bytes())
    data[-5] ^= 0xFF  # flip a byte inside the second batch: CRC32C no longer matches
    segment.write_bytes(bytes(data))
    b.start()
    assert [v for _, _, v in _consume(b.bootstrap, "crc")] == [b"a" * 100]


def test_clean_restart_keeps_data_ids_and_configs(broker_factory: Factory) -> None:
    b = broker_factory("--registry-listen", "off")
    _create(b.bootstrap, "kept", partitions=2, config={"retention.ms": "7d"})
    _produce(b.bootstrap, "kept", [(f"k{i}".encode(), str(i).encode()) for i in range(100)])
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    before = admin.list_topics(timeout=WAIT)
    b.restart()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    after = admin.list_topics(timeout=WAIT)
    assert after.cluster_id == before.cluster_id and list(after.brokers) == list(before.brokers)
    got = _consume(b.bootstrap, "kept", 0) + _consume(b.bootstrap, "kept", 1)
    assert sorted(int(v or b"") for _, _, v in got) == list(range(100))
    from confluent_kafka.admin import ConfigResource

    cfg = next(iter(admin.describe_configs([ConfigResource("topic", "kept")]).values())).result(WAIT)
    assert cfg["retention.ms"].value == "604800000"
    assert (b.data_dir / ".clean-shutdown").exists() is False  # removed while running


def test_retention_bytes_and_ms_delete_closed_segments(broker_factory: Factory) -> None:
    b = broker_factory("--registry-listen", "off", "--retention-check-interval-ms", "100")
    _create(b.bootstrap, "rb", config={"segment.bytes": "2000", "retention.bytes": "4000"})
    for i in range(30):
        _produce(b.bootstrap, "rb", [(None, f"{i:04d}".encode() * 50)])

    def sizes() -> list[int]:
        return [p.stat().st_size for p in _segments(b.data_dir, "rb")]

    # Kafka's rule: delete the oldest segment while the rest still holds retention.bytes.
    _wait_until(lambda: sum(sizes()[1:]) < 4000, "retention.bytes enforcement")
    assert sum(sizes()) >= 4000
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "x"})
    try:
        low, high = c.get_watermark_offsets(TopicPartition("rb", 0), timeout=WAIT)
    finally:
        c.close()
    assert high == 30 and 0 < low < 30
    assert [v for _, _, v in _consume(b.bootstrap, "rb")][-1] == b"0029" * 50
    # retention.ms: records stamped two hours ago, in closed segments, go away entirely
    _create(b.bootstrap, "rt", config={"segment.bytes": "500", "retention.ms": "3600000"})
    old = int(time.time() * 1000) - 2 * 3600_000
    p = Producer({"bootstrap.servers": b.bootstrap})
    for _ in range(10):
        p.produce("rt", value=b"x" * 200, timestamp=old)
        p.flush(WAIT)
    p.produce("rt", value=b"fresh" * 60)  # too big to share the last old segment: it rolls
    p.flush(WAIT)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "x"})
    try:
        _wait_until(
            lambda: c.get_watermark_offsets(TopicPartition("rt", 0), timeout=WAIT)[0] == 10,
            "old segments deleted",
        )
    finally:
        c.close()


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compaction_keeps_latest_per_key_with_offsets(broker_factory: Factory, compression: str) -> None:
    b = broker_factory("--registry-listen", "off", "--cleaner-backoff-ms", "100")
    _create(
        b.bootstrap,
        "cmp",
        config={
            "cleanup.policy": "compact",
            "segment.bytes": "1500",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0",
        },
    )
    written: dict[bytes, tuple[int, bytes | None]] = {}
    for round_ in range(12):
        items: list[tuple[bytes | None, bytes | None]] = [
            (f"key{k}".encode(), f"r{round_}-k{k}".encode() * 5) for k in range(8)
        ]
        if round_ == 0:
            items.append((b"gone", b"soon deleted"))
        if round_ == 3:
            items.append((b"gone", None))  # tombstone: with delete.retention.ms=0 the key vanishes entirely
        for m in _produce(b.bootstrap, "cmp", items, **{"compression.type": compression}):
            written[m.key()] = (m.offset(), m.value())
    del written[b"gone"]
    # A large record with its own key rolls the segment, so every round above sits in closed segments.
    (filler,) = _produce(b.bootstrap, "cmp", [(b"filler", b"f" * 1400)])
    written[b"filler"] = (filler.offset(), filler.value())
    total_written = 12 * 8 + 3

    def compacted() -> bool:
        return len(_consume(b.bootstrap, "cmp")) == len(written)  # one record per live key

    _wait_until(compacted, "the cleaner to compact the log")
    records = _consume(b.bootstrap, "cmp")
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets))
    latest_seen: dict[bytes | None, tuple[int, bytes | None]] = {}
    for off, key, value in records:
        latest_seen[key] = (off, value)
    for key, (off, value) in written.items():
        assert latest_seen[key] == (off, value), key  # same offset, same value as when produced
    assert b"gone" not in latest_seen
    tp = TopicPartition("cmp", 0, 0)
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "x"})
    try:
        assert c.get_watermark_offsets(tp, timeout=WAIT)[1] == total_written  # end offset unchanged
    finally:
        c.close()


@pytest.mark.parametrize("how", ["clean", "kill"])
def test_many_segments_survive_restart_with_indexes(broker_factory: Factory, how: str) -> None:
    b = broker_factory("--registry-listen", "off")
    _create(b.bootstrap, "segs", config={"segment.bytes": "3000", "index.interval.bytes": "500"})
    base = int(time.time() * 1000) - 1_000_000
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0, "acks": "all"})
    for i in range(60):
        p.produce("segs", key=str(i).encode(), value=f"{i:03d}".encode() * 40, timestamp=base + i * 1000)
        if i % 3 == 2:
            p.flush(WAIT)  # several small batches, so that segments roll
    assert p.flush(WAIT) == 0
    assert len(_segments(b.data_dir, "segs")) > 3
    b.kill() if how == "kill" else b.stop()
    b.start()
    assert [int(k or b"-1") for _, k, _ in _consume(b.bootstrap, "segs")] == list(range(60))
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    from confluent_kafka.admin import OffsetSpec

    tp = TopicPartition("segs", 0)
    found = admin.list_offsets({tp: OffsetSpec.for_timestamp(base + 37_500)})[tp].result(WAIT)
    assert found.offset == 38
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "x", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition("segs", 0, 41)])
        msg = None
        deadline = time.monotonic() + WAIT
        while msg is None and time.monotonic() < deadline:
            msg = c.poll(0.5)
    finally:
        c.close()
    assert msg is not None and msg.offset() == 41 and msg.key() == b"41"
