"""The broker driven by real clients: confluent-kafka (librdkafka), kafka-python, kcat."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

from evtctl.kafka.topic_configs import TOPIC_CONFIGS
from tests.support.broker import BrokerProcess

WAIT = 15


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(admin: AdminClient, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(WAIT)


def consume_all(bootstrap: str, topic: str, partition: int, expected: int, offset: int = 0) -> list:  # type: ignore[type-arg]
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    c.assign([TopicPartition(topic, partition, offset)])
    out = []
    deadline = time.monotonic() + WAIT
    try:
        while len(out) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            out.append(m)
    finally:
        c.close()
    return out


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_produce_consume_round_trip(
    broker: BrokerProcess, admin: AdminClient, compression: str
) -> None:
    topic = _name("rt")
    create(admin, topic, partitions=2)
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": compression, "linger.ms": 5})
    for i in range(300):
        p.produce(topic, key=f"k{i}", value=f"value-{i}".encode(), partition=i % 2, headers={"h": str(i)})
    assert p.flush(WAIT) == 0
    got = consume_all(broker.bootstrap, topic, 1, 150)
    assert [m.value() for m in got] == [f"value-{i}".encode() for i in range(1, 300, 2)]
    assert [m.offset() for m in got] == list(range(150))
    assert got[0].headers() == [("h", b"1")]
    # seek into the middle
    mid = consume_all(broker.bootstrap, topic, 1, 10, offset=100)
    assert mid[0].offset() == 100 and mid[0].value() == b"value-201"


def test_acks_zero_one_all(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("acks")
    create(admin, topic)
    for acks in ("0", "1", "all"):
        p = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks, "enable.idempotence": False})
        for i in range(20):
            p.produce(topic, value=f"{acks}-{i}".encode())
        assert p.flush(WAIT) == 0
    got = consume_all(broker.bootstrap, topic, 0, 60)
    assert sorted(m.value() for m in got) == sorted(
        f"{a}-{i}".encode() for a in ("0", "1", "all") for i in range(20)
    )


def test_idempotent_producer_librdkafka(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("idem")
    create(admin, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True})
    errors: list[object] = []
    for i in range(500):
        p.produce(topic, value=str(i).encode(), on_delivery=lambda err, _m: err and errors.append(err))
    assert p.flush(WAIT) == 0 and not errors
    assert [int(m.value()) for m in consume_all(broker.bootstrap, topic, 0, 500)] == list(range(500))


def test_kafka_python_default_idempotent_producer(broker: BrokerProcess, admin: AdminClient) -> None:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP

    topic = _name("kp")
    create(admin, topic, partitions=3)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)  # idempotence on by default in 3.x
    try:
        futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(300)]
        producer.flush(WAIT)
        metas = [f.get(WAIT) for f in futures]
    finally:
        producer.close(WAIT)
    assert len({(m.partition, m.offset) for m in metas}) == 300
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=3000)
    try:
        consumer.assign([KTP(topic, p) for p in range(3)])
        consumer.seek_to_beginning()
        values = sorted(r.value for r in consumer)
    finally:
        consumer.close()
    assert values == sorted(f"v{i}".encode() for i in range(300))


@pytest.fixture
def kcat() -> str:
    path = shutil.which("kcat")
    if path is None:
        pytest.skip("kcat is not installed (Debian package 'kcat'); the kcat interoperability test needs it")
    return path


def test_kcat_produce_and_consume(broker: BrokerProcess, admin: AdminClient, kcat: str) -> None:
    topic = _name("kcat")
    create(admin, topic)
    lines = [f"line-{i}" for i in range(50)]
    out = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K:"],
        input="\n".join(f"k{i}:{v}" for i, v in enumerate(lines)).encode() + b"\n",
        capture_output=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [
            kcat,
            "-b",
            broker.bootstrap,
            "-C",
            "-t",
            topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%k=%s@%o\n",
        ],
        capture_output=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().splitlines() == [f"k{i}={v}@{i}" for i, v in enumerate(lines)]
    meta = subprocess.run([kcat, "-b", broker.bootstrap, "-L", "-t", topic], capture_output=True, timeout=30)
    assert f'topic "{topic}" with 1 partitions' in meta.stdout.decode()


def test_long_poll_is_woken_by_new_data(broker: BrokerProcess, admin: AdminClient) -> None:
    """A fetch parked with a 60 s max wait returns the record produced while it waits."""
    from kafka.protocol.consumer import FetchRequest, FetchResponse

    from tests.broker.rawclient import RawClient, build_batch

    topic = _name("poll")
    create(admin, topic)

    def produce_later() -> None:
        time.sleep(0.3)
        p = Producer({"bootstrap.servers": broker.bootstrap})
        p.produce(topic, value=b"wake")
        p.flush(WAIT)

    threading.Thread(target=produce_later, daemon=True).start()
    part = FetchRequest.FetchTopic.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)
    req = FetchRequest[11](
        max_wait_ms=60_000,
        min_bytes=1,
        max_bytes=1 << 20,
        isolation_level=0,
        topics=[FetchRequest.FetchTopic(topic=topic, partitions=[part])],
    )
    with RawClient(broker.bootstrap, timeout=WAIT) as client:  # socket timeout far below the 60 s wait
        resp = client.request(req, FetchResponse, 11)
    records = bytes(resp.responses[0].partitions[0].records)
    assert b"wake" in records
    assert build_batch  # the helper module imports cleanly


def test_list_offsets_earliest_latest_timestamp_max(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("lo")
    create(admin, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50})
    base = int(time.time() * 1000) - 100_000
    stamps = [base + 1000 * i for i in range(10)]
    stamps[4] = base + 50_000  # the maximum timestamp sits in the middle of a batch
    for i, ts in enumerate(stamps):
        p.produce(topic, value=str(i).encode(), timestamp=ts)
    assert p.flush(WAIT) == 0
    tp = TopicPartition(topic, 0)
    specs = {
        "earliest": OffsetSpec.earliest(),
        "latest": OffsetSpec.latest(),
        "max": OffsetSpec.max_timestamp(),
        "ts": OffsetSpec.for_timestamp(base + 2500),
    }
    results = {k: admin.list_offsets({tp: v})[tp].result(WAIT) for k, v in specs.items()}
    assert results["earliest"].offset == 0
    assert results["latest"].offset == 10
    assert (results["max"].offset, results["max"].timestamp) == (4, base + 50_000)
    assert results["ts"].offset == 3  # first record with timestamp >= base+2500, inside a batch
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x"})
    try:
        found = c.offsets_for_times([TopicPartition(topic, 0, base + 10**9)], timeout=WAIT)
    finally:
        c.close()
    assert found[0].offset == -1  # no record that late: "end" as Kafka answers


def test_create_topics_errors_and_validate_only(broker: BrokerProcess, admin: AdminClient) -> None:
    ok, rf, parts, cfg, exists = (_name(x) for x in ("ok", "rf", "parts", "cfg", "exists"))
    create(admin, exists)
    futures = admin.create_topics(
        [
            NewTopic(ok, 2, 1, config={"cleanup.policy": "compact"}),
            NewTopic(rf, 1, 3),
            NewTopic(parts, 0, 1),
            NewTopic(cfg, 1, 1, config={"retention.ms": "soon"}),
            NewTopic(exists, 1, 1),
        ],
        validate_only=True,
    )
    codes = {}
    for name, fut in futures.items():
        try:
            fut.result(WAIT)
            codes[name] = None
        except KafkaException as err:
            codes[name] = err.args[0].code()
    assert codes == {
        ok: None,
        rf: KafkaError.INVALID_REPLICATION_FACTOR,
        parts: KafkaError.INVALID_PARTITIONS,
        cfg: KafkaError.INVALID_CONFIG,
        exists: KafkaError.TOPIC_ALREADY_EXISTS,
    }
    assert ok not in admin.list_topics(timeout=WAIT).topics  # validate_only created nothing
    unknown = _name("unk")
    with pytest.raises(KafkaException) as err:
        admin.create_topics([NewTopic(unknown, 1, 1, config={"retention.mss": "1"})])[unknown].result(WAIT)
    assert "retention.ms" in str(err.value)  # did-you-mean from the catalog


def test_delete_topics_and_create_partitions(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("dp")
    create(admin, topic, partitions=1)
    admin.create_partitions([NewPartitions(topic, 4)])[topic].result(WAIT)
    assert len(admin.list_topics(topic, timeout=WAIT).topics[topic].partitions) == 4
    with pytest.raises(KafkaException) as err:
        admin.create_partitions([NewPartitions(topic, 2)])[topic].result(WAIT)
    assert err.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce(topic, value=b"x", partition=3)
    assert p.flush(WAIT) == 0
    admin.delete_topics([topic])[topic].result(WAIT)
    assert topic not in admin.list_topics(timeout=WAIT).topics
    with pytest.raises(KafkaException) as err:
        admin.delete_topics([topic])[topic].result(WAIT)
    assert err.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    create(admin, topic)  # the name can be reused, with a fresh empty log
    assert consume_all(broker.bootstrap, topic, 0, 0) == []
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=WAIT) == (0, 0)
    finally:
        c.close()


def test_describe_configs_reports_every_catalog_config(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("dc")
    create(admin, topic, config={"retention.ms": "3600000"})
    res = admin.describe_configs([ConfigResource("topic", topic)])
    configs = next(iter(res.values())).result(WAIT)
    assert set(configs) == set(TOPIC_CONFIGS)
    retention = configs["retention.ms"]
    assert retention.value == "3600000" and not retention.is_default
    assert retention.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert [s.name for s in retention.synonyms.values()] == ["retention.ms", "log.retention.ms"]
    seg = configs["segment.bytes"]
    assert seg.value == TOPIC_CONFIGS["segment.bytes"].default and seg.is_default
    assert seg.source == ConfigSource.DEFAULT_CONFIG.value
    assert not seg.is_sensitive and not seg.is_read_only
    # Types and documentation (v3+) with kafka-python's classes over a raw connection.
    from kafka.protocol.admin import DescribeConfigsRequest, DescribeConfigsResponse

    from tests.broker.rawclient import RawClient

    req = DescribeConfigsRequest[4](
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=2, resource_name=topic, configuration_keys=None
            )
        ],
        include_synonyms=True,
        include_documentation=True,
    )
    with RawClient(broker.bootstrap) as client:
        raw = {c.name: c for c in client.request(req, DescribeConfigsResponse, 4).results[0].configs}
    assert raw["segment.bytes"].documentation == TOPIC_CONFIGS["segment.bytes"].doc
    assert raw["segment.bytes"].config_type == int(TOPIC_CONFIGS["segment.bytes"].type)
    assert raw["cleanup.policy"].config_type == 7  # LIST
    broker_res = admin.describe_configs([ConfigResource("broker", "1")])
    broker_cfg = next(iter(broker_res.values())).result(WAIT)
    assert broker_cfg["log.retention.ms"].value == TOPIC_CONFIGS["retention.ms"].default
    assert broker_cfg["auto.create.topics.enable"].value == "false"


def test_alter_and_incremental_alter_configs(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("ac")
    create(admin, topic, config={"retention.ms": "3600000", "max.message.bytes": "2000000"})
    res = ConfigResource("topic", topic, set_config={"segment.ms": "1h"})
    next(iter(admin.alter_configs([res]).values())).result(WAIT)  # legacy: replaces the whole set
    cfg = next(iter(admin.describe_configs([ConfigResource("topic", topic)]).values())).result(WAIT)
    assert cfg["segment.ms"].value == "3600000"
    assert cfg["retention.ms"].is_default and cfg["max.message.bytes"].is_default
    inc = ConfigResource(
        "topic",
        topic,
        incremental_configs=[
            ConfigEntry("retention.bytes", "1GiB", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("segment.ms", None, incremental_operation=AlterConfigOpType.DELETE),
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        ],
    )
    next(iter(admin.incremental_alter_configs([inc]).values())).result(WAIT)
    cfg = next(iter(admin.describe_configs([ConfigResource("topic", topic)]).values())).result(WAIT)
    assert cfg["retention.bytes"].value == str(1 << 30)
    assert cfg["segment.ms"].is_default
    assert cfg["cleanup.policy"].value == "delete,compact"
    bad = ConfigResource(
        "topic",
        topic,
        incremental_configs=[ConfigEntry("retention.ms", "-7", incremental_operation=AlterConfigOpType.SET)],
    )
    with pytest.raises(KafkaException) as err:
        next(iter(admin.incremental_alter_configs([bad]).values())).result(WAIT)
    assert err.value.args[0].code() == KafkaError.INVALID_CONFIG


def test_delete_records_moves_log_start(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("dr")
    create(admin, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce(topic, value=str(i).encode())
    assert p.flush(WAIT) == 0
    tp = TopicPartition(topic, 0, 6)
    result = admin.delete_records([tp])[tp].result(WAIT)
    assert result.low_watermark == 6
    assert [m.value() for m in consume_all(broker.bootstrap, topic, 0, 4, offset=6)] == [
        b"6",
        b"7",
        b"8",
        b"9",
    ]
    from kafka.protocol.consumer import FetchRequest, FetchResponse

    from tests.broker.rawclient import RawClient

    part = FetchRequest.FetchTopic.FetchPartition(partition=0, fetch_offset=2, partition_max_bytes=1 << 20)
    req = FetchRequest[11](
        max_wait_ms=0,
        min_bytes=1,
        max_bytes=1 << 20,
        isolation_level=0,
        topics=[FetchRequest.FetchTopic(topic=topic, partitions=[part])],
    )
    with RawClient(broker.bootstrap) as client:
        answer = client.request(req, FetchResponse, 11).responses[0].partitions[0]
    assert (answer.error_code, answer.log_start_offset) == (1, 6)  # OFFSET_OUT_OF_RANGE below the log start


def test_describe_cluster_and_metadata_topic_ids(broker: BrokerProcess, admin: AdminClient) -> None:
    desc = admin.describe_cluster().result(WAIT)
    assert desc.controller.id == 1 and [n.port for n in desc.nodes] == [broker.port]
    topic = _name("ids")
    create(admin, topic)
    described = admin.describe_topics(__import__("confluent_kafka").TopicCollection([topic]))[topic].result(
        WAIT
    )
    assert described.topic_id is not None and len(described.partitions) == 1


def test_keyless_records_rejected_on_compacted_topic(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("ck")
    create(admin, topic, config={"cleanup.policy": "compact"})
    p = Producer({"bootstrap.servers": broker.bootstrap, "retries": 0, "enable.idempotence": False})
    errors: list[KafkaError] = []
    p.produce(topic, value=b"no key", on_delivery=lambda err, _m: errors.append(err))
    p.flush(WAIT)  # separate batches: Kafka rejects a whole batch when one record lacks a key
    p.produce(topic, key=b"k", value=b"keyed", on_delivery=lambda err, _m: errors.append(err))
    p.flush(WAIT)
    assert errors[0] is not None and errors[0].code() == KafkaError.INVALID_RECORD
    assert errors[1] is None


def test_max_message_bytes_and_min_insync_replicas(broker: BrokerProcess, admin: AdminClient) -> None:
    small, isr = _name("small"), _name("isr")
    create(admin, small, config={"max.message.bytes": "1000"})
    create(admin, isr, config={"min.insync.replicas": "2"})
    errors: dict[str, KafkaError | None] = {}
    p = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "retries": 0,
            "enable.idempotence": False,
            "acks": "all",
            "message.max.bytes": 100_000,
        }
    )
    p.produce(small, value=b"x" * 5000, on_delivery=lambda err, _m: errors.__setitem__("small", err))
    p.produce(isr, value=b"x", on_delivery=lambda err, _m: errors.__setitem__("isr", err))
    p.flush(WAIT)
    assert errors["small"] is not None and errors["small"].code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert errors["isr"] is not None and errors["isr"].code() == KafkaError.NOT_ENOUGH_REPLICAS


def test_log_append_time(broker: BrokerProcess, admin: AdminClient) -> None:
    topic = _name("lat")
    create(admin, topic, config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce(topic, value=b"x", timestamp=1000)
    assert p.flush(WAIT) == 0
    (msg,) = consume_all(broker.bootstrap, topic, 0, 1)
    kind, ts = msg.timestamp()
    assert kind == 2 and ts >= before  # TIMESTAMP_LOG_APPEND_TIME, broker's clock, not the client's 1000


def test_auto_creation_is_off_by_default(broker: BrokerProcess) -> None:
    topic = _name("auto")
    p = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 2000})
    errors: list[KafkaError] = []
    p.produce(topic, value=b"x", on_delivery=lambda err, _m: errors.append(err))
    p.flush(WAIT)
    assert errors and errors[0] is not None
    assert topic not in AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=WAIT).topics


@pytest.fixture
def auto_broker(broker_factory: object) -> Iterator[BrokerProcess]:
    yield broker_factory("--auto-create-topics", "--num-partitions", "3", "--registry-listen", "off")  # type: ignore[operator]


def test_auto_creation_flag(auto_broker: BrokerProcess) -> None:
    topic = _name("auto")
    p = Producer({"bootstrap.servers": auto_broker.bootstrap})
    p.produce(topic, value=b"x")
    assert p.flush(WAIT) == 0
    md = AdminClient({"bootstrap.servers": auto_broker.bootstrap}).list_topics(timeout=WAIT)
    assert len(md.topics[topic].partitions) == 3
