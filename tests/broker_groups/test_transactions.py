"""Transactions with librdkafka: commit/abort visibility, fencing, timeouts, exactly-once across a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from tests.broker_groups.helpers import create_topic, produce_values
from tests.support.broker import BrokerProcess
from tests.support.process import REPO_ROOT


def read_all(bootstrap: str, topic: str, isolation: str, partitions: int = 1, idle: float = 1.0) -> list[str]:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.monotonic_ns()}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: list[str] = []
    last = time.monotonic()
    while time.monotonic() - last < idle:
        msg = c.poll(0.1)
        if msg is not None and not msg.error():
            out.append(msg.value().decode())
            last = time.monotonic()
    c.close()
    return out


def txn_producer(bootstrap: str, tid: str, **extra: object) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, **extra})
    p.init_transactions(15)
    return p


def test_commit_and_abort_visibility(broker: BrokerProcess) -> None:
    create_topic(broker.bootstrap, "tx", 1)
    p = txn_producer(broker.bootstrap, "t1")
    p.begin_transaction()
    for i in range(5):
        p.produce("tx", f"c{i}".encode())
    p.commit_transaction(15)
    p.begin_transaction()
    for i in range(5):
        p.produce("tx", f"a{i}".encode())
    p.flush(10)
    # Open transaction: read_committed stops at the last stable offset.
    assert read_all(broker.bootstrap, "tx", "read_committed", idle=1.0) == [f"c{i}" for i in range(5)]
    p.abort_transaction(15)
    p.begin_transaction()
    p.produce("tx", b"c5")
    p.commit_transaction(15)
    committed = read_all(broker.bootstrap, "tx", "read_committed")
    assert committed == [f"c{i}" for i in range(6)]
    uncommitted = read_all(broker.bootstrap, "tx", "read_uncommitted")
    assert sorted(uncommitted) == sorted([f"c{i}" for i in range(6)] + [f"a{i}" for i in range(5)])
    # Survives a restart: the aborted-transaction index is durable.
    broker.restart(kill=True)
    assert read_all(broker.bootstrap, "tx", "read_committed") == committed


def test_zombie_producer_is_fenced(broker: BrokerProcess) -> None:
    create_topic(broker.bootstrap, "fence", 1)
    old = txn_producer(broker.bootstrap, "same-id")
    old.begin_transaction()
    old.produce("fence", b"zombie")
    old.flush(10)
    new = txn_producer(broker.bootstrap, "same-id")  # bumps the epoch, aborts the zombie's transaction
    new.begin_transaction()
    new.produce("fence", b"fresh")
    new.commit_transaction(15)
    with pytest.raises(KafkaException) as fenced:
        old.produce("fence", b"late")
        old.commit_transaction(10)
    assert fenced.value.args[0].fatal() or fenced.value.args[0].code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    )
    assert read_all(broker.bootstrap, "fence", "read_committed") == ["fresh"]


def test_transaction_timeout_aborts(broker: BrokerProcess) -> None:
    create_topic(broker.bootstrap, "slow", 1)
    p = txn_producer(broker.bootstrap, "slowpoke", **{"transaction.timeout.ms": 1000})
    p.begin_transaction()
    p.produce("slow", b"never")
    p.flush(10)
    time.sleep(2.5)
    q = txn_producer(broker.bootstrap, "other")
    q.begin_transaction()
    q.produce("slow", b"after")
    q.commit_transaction(15)
    # The timed-out transaction no longer holds the last stable offset back, and stays invisible.
    assert read_all(broker.bootstrap, "slow", "read_committed") == ["after"]


def _transformer(broker: BrokerProcess, out: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.broker_groups.transformer", broker.bootstrap, str(out)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_consume_transform_produce_exactly_once_across_a_crash(broker: BrokerProcess, tmp_path: Path) -> None:
    n = 200
    create_topic(broker.bootstrap, "input", 2)
    create_topic(broker.bootstrap, "output", 2)
    produce_values(broker.bootstrap, "input", range(n))
    progress = tmp_path / "progress.txt"
    first = _transformer(broker, progress)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not progress.exists() or len(progress.read_text()) < 80):
            time.sleep(0.05)
        first.kill()  # mid-stream, usually inside an open transaction
        first.wait(10)
        done_before_crash = len(progress.read_text().splitlines())
        second = _transformer(broker, progress)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(read_all(broker.bootstrap, "output", "read_committed", partitions=2, idle=0.5)) >= n:
                    break
                time.sleep(0.5)
        finally:
            second.kill()
            second.wait(10)
    finally:
        first.kill()
        first.wait(10)
    out = read_all(broker.bootstrap, "output", "read_committed", partitions=2)
    assert 0 < done_before_crash < n  # the crash really happened mid-stream
    assert sorted(int(v) for v in out) == [v * 10 for v in range(n)]  # each exactly once


def test_open_transaction_survives_a_broker_crash_and_is_aborted_by_the_next_incarnation(
    broker: BrokerProcess,
) -> None:
    create_topic(broker.bootstrap, "crashy", 1)
    p = txn_producer(broker.bootstrap, "crash-id")
    p.begin_transaction()
    p.produce("crashy", b"in-flight")
    p.flush(10)
    broker.restart(kill=True)
    # The open transaction is still open after the crash: read_committed sees nothing yet...
    assert read_all(broker.bootstrap, "crashy", "read_committed", idle=0.8) == []
    # ...and the producer's next incarnation aborts it, after which committed data flows again.
    q = txn_producer(broker.bootstrap, "crash-id")
    q.begin_transaction()
    q.produce("crashy", b"after-crash")
    q.commit_transaction(15)
    assert read_all(broker.bootstrap, "crashy", "read_committed") == ["after-crash"]
    assert sorted(read_all(broker.bootstrap, "crashy", "read_uncommitted")) == ["after-crash", "in-flight"]
