"""Consumer groups driven by real clients (librdkafka via confluent-kafka, kafka-python)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.broker_groups.helpers import create_topic, produce_values
from tests.support.broker import BrokerProcess
from tests.support.process import REPO_ROOT

N = 300


def _spawn(broker: BrokerProcess, topic: str, group: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.broker_groups.worker",
            broker.bootstrap,
            topic,
            group,
            str(out),
            *extra,
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _lines(paths: list[Path]) -> list[list[str]]:
    return [p.read_text().splitlines() if p.exists() else [] for p in paths]


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_three_member_group_rebalances_when_one_is_killed(broker: BrokerProcess, tmp_path: Path) -> None:
    create_topic(broker.bootstrap, "orders", 6)
    produce_values(broker.bootstrap, "orders", range(N))
    outs = [tmp_path / f"w{i}.txt" for i in range(3)]
    workers = [_spawn(broker, "orders", "billing", out) for out in outs]
    try:
        # All three members share the partitions, then one dies mid-stream.
        assert _wait(
            lambda: all(any(ln.startswith("A ") and ln != "A " for ln in ls) for ls in _lines(outs)), 30
        )
        assert _wait(lambda: sum(ln.startswith("C ") for ls in _lines(outs) for ln in ls) >= N // 3, 30)
        workers[0].kill()
        workers[0].wait(10)

        def all_processed() -> bool:
            done = {ln[2:] for ls in _lines(outs) for ln in ls if ln.startswith("P ")}
            return len(done) == N

        assert _wait(all_processed, 60), "records were lost after the member was killed"
    finally:
        for w in workers:
            w.kill()
            w.wait(10)
    lines = _lines(outs)
    processed = Counter(ln[2:] for ls in lines for ln in ls if ln.startswith("P "))
    assert set(processed) == {str(v) for v in range(N)}
    committed = Counter(ln[2:] for ls in lines for ln in ls if ln.startswith("C "))
    # A cleanly committed record is never processed again...
    assert max(committed.values()) == 1
    # ...so only records in flight without a confirmed commit (the killed member's last one, or one
    # whose commit lost a race with a rebalance) may be redelivered.
    unconfirmed: set[str] = set()
    for ls in lines:
        unconfirmed |= {ln[2:] for ln in ls if ln.startswith("P ")} - {
            ln[2:] for ln in ls if ln.startswith("C ")
        }
    twice = {v for v, n in processed.items() if n > 1}
    assert twice <= unconfirmed, (twice, unconfirmed)
    # A handful at most (each member's last record when stopped, a commit lost to a rebalance), not a replay.
    assert len(unconfirmed) <= 2 * len(outs)
    # The survivors took over the dead member's partitions (a rebalance happened).
    assert all(sum(ln.startswith("A ") for ln in ls) >= 2 for ls in lines[1:])


def test_kafka_python_group_consumer_commits_and_resumes(broker: BrokerProcess) -> None:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata

    create_topic(broker.bootstrap, "events", 2)
    produce_values(broker.bootstrap, "events", range(40))
    seen: list[int] = []
    consumer = KafkaConsumer(
        "events",
        bootstrap_servers=broker.bootstrap,
        group_id="kp",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    for record in consumer:
        seen.append(int(record.value))
        if len(seen) == 20:
            break
    # Commit exactly what was consumed, with metadata that must come back untouched.
    positions = {KTP("events", p): consumer.position(KTP("events", p)) for p in range(2)}
    consumer.commit({tp: OffsetAndMetadata(off, "kp-meta", -1) for tp, off in positions.items()})
    consumer.close()

    second = KafkaConsumer(
        "events",
        bootstrap_servers=broker.bootstrap,
        group_id="kp",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    rest = [int(r.value) for r in second]
    second.close()
    assert sorted(seen + rest) == list(range(40))

    # librdkafka sees the same committed offsets and metadata.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "kp"})
    committed = c.committed([TopicPartition("events", p) for p in range(2)], timeout=10)
    c.close()
    assert [tp.offset for tp in committed] == [positions[KTP("events", p)] for p in range(2)]
    assert {tp.metadata for tp in committed} == {"kp-meta"}


def test_offsets_survive_restart_and_groups_list_in_every_state(broker: BrokerProcess) -> None:
    create_topic(broker.bootstrap, "t", 1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "durable"})
    c.commit(offsets=[TopicPartition("t", 0, 7)], asynchronous=False)
    c.close()
    broker.restart(kill=True)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "durable"})
    assert c.committed([TopicPartition("t", 0)], timeout=10)[0].offset == 7
    c.close()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(10).valid}
    assert "durable" in listed and str(listed["durable"].state).endswith("EMPTY")
    # Deleting the topic deletes its committed offsets: a re-created "t" starts from scratch.
    admin.delete_topics(["t"])["t"].result(10)
    create_topic(broker.bootstrap, "t", 1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "durable"})
    assert c.committed([TopicPartition("t", 0)], timeout=10)[0].offset < 0
    c.close()


def test_static_member_rejoins_without_rebalance(broker: BrokerProcess, tmp_path: Path) -> None:
    create_topic(broker.bootstrap, "static", 4)
    assigns: list[list[int]] = []
    stay = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "st",
            "group.instance.id": "stay",
            "session.timeout.ms": 30000,
        }
    )
    stay.subscribe(
        ["static"],
        on_assign=lambda c, ps: assigns.append([p.partition for p in ps]),
        on_revoke=lambda c, ps: assigns.append([-1]),
    )
    out = tmp_path / "bounce.txt"
    bouncer = _spawn(broker, "static", "st", out, "bounce")
    try:
        assert _wait(
            lambda: (
                (stay.poll(0.1), len(out.read_text().splitlines()) if out.exists() else 0)[1] >= 1
                and assigns
                and len(assigns[-1]) == 2
            ),
            30,
        )
        before = list(assigns)
        bouncer.kill()
        bouncer.wait(10)
        bouncer = _spawn(broker, "static", "st", out, "bounce")
        # The restarted static member gets its partitions back from the stable group...
        assert _wait(lambda: (stay.poll(0.1), out.read_text().count("A ") >= 2)[1], 30)
        end = time.monotonic() + 2
        while time.monotonic() < end:
            stay.poll(0.1)
        # ...and the other member never saw a revoke or a new assignment.
        assert assigns == before
        first, second = [ln for ln in out.read_text().splitlines() if ln.startswith("A ")][:2]
        assert first == second
    finally:
        bouncer.kill()
        bouncer.wait(10)
        stay.close()


def test_cooperative_sticky_incremental_rebalance(broker: BrokerProcess) -> None:
    create_topic(broker.bootstrap, "coop", 4)
    conf = {
        "bootstrap.servers": broker.bootstrap,
        "group.id": "coop-g",
        "partition.assignment.strategy": "cooperative-sticky",
        "heartbeat.interval.ms": 300,
    }
    a, b = Consumer(conf), Consumer(conf)
    revoked_from_a: list[int] = []
    a.subscribe(["coop"], on_revoke=lambda c, ps: revoked_from_a.extend(p.partition for p in ps))
    assert _wait(lambda: (a.poll(0.05), len(a.assignment()) == 4)[1], 30)
    b.subscribe(["coop"])

    def split() -> bool:
        a.poll(0.05)
        b.poll(0.05)
        mine, theirs = {p.partition for p in a.assignment()}, {p.partition for p in b.assignment()}
        return len(mine) == len(theirs) == 2 and not mine & theirs

    assert _wait(split, 30)
    # Incremental: A gave up only the two partitions B took, it never revoked everything.
    assert sorted(revoked_from_a) == sorted(p.partition for p in b.assignment())
    b.close()  # LeaveGroup: A gets the partitions back
    assert _wait(lambda: (a.poll(0.05), len(a.assignment()) == 4)[1], 30)
    a.close()


def test_group_admin_describe_delete_and_offset_delete(broker: BrokerProcess) -> None:
    from kafka import TopicPartition as KTP
    from kafka.admin import KafkaAdminClient

    create_topic(broker.bootstrap, "adm", 2)
    create_topic(broker.bootstrap, "other", 1)
    member = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "adm-g", "client.id": "adm-client"})
    member.subscribe(["adm"])
    assert _wait(lambda: (member.poll(0.05), len(member.assignment()) == 2)[1], 30)
    member.commit(offsets=[TopicPartition("adm", 0, 3), TopicPartition("other", 0, 5)], asynchronous=False)

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    desc = admin.describe_consumer_groups(["adm-g"])["adm-g"].result(10)
    assert str(desc.state).endswith("STABLE") and desc.partition_assignor == "range"
    [m] = desc.members
    assert m.client_id == "adm-client" and m.host.endswith("127.0.0.1")
    assert sorted(tp.partition for tp in m.assignment.topic_partitions) == [0, 1]
    with pytest.raises(KafkaException) as busy:
        admin.delete_consumer_groups(["adm-g"])["adm-g"].result(10)
    assert busy.value.args[0].code() == KafkaError.NON_EMPTY_GROUP

    kadmin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        # OffsetDelete: refused for a topic the live group subscribes to, allowed for another.
        result = kadmin.delete_group_offsets("adm-g", [KTP("adm", 0), KTP("other", 0)])
        codes = {tp.topic: getattr(err, "errno", 0) for tp, err in result.items()}
        assert codes == {"adm": KafkaError.GROUP_SUBSCRIBED_TO_TOPIC, "other": 0}
    finally:
        kadmin.close()
    member.close()  # LeaveGroup: the group becomes Empty
    admin.delete_consumer_groups(["adm-g"])["adm-g"].result(10)
    assert "adm-g" not in {g.group_id for g in admin.list_consumer_groups().result(10).valid}
    with pytest.raises(KafkaException) as gone:
        admin.delete_consumer_groups(["adm-g"])["adm-g"].result(10)
    assert gone.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND


@pytest.mark.kcat
def test_kcat_balanced_consumer_old_librdkafka(broker: BrokerProcess) -> None:
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.skip("kcat is not installed (Debian package 'kcat'); this test checks librdkafka 2.0.2 groups")
    create_topic(broker.bootstrap, "kc", 2)
    produce_values(broker.bootstrap, "kc", range(20))
    out = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-G", "kcat-g", "-o", "beginning", "-e", "-q", "kc"],
        capture_output=True,
        timeout=60,
    )
    assert sorted(int(v) for v in out.stdout.split()) == list(range(20)), out.stderr[-500:]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert "kcat-g" in {g.group_id for g in admin.list_consumer_groups().result(10).valid}
