"""A transactional consume-transform-produce loop (input -> value*10 -> output), run as a process.

Usage: python -m tests.broker_groups.transformer BOOTSTRAP PROGRESS_FILE
Each batch of records is produced and its input offsets committed in one transaction.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


def main() -> None:
    bootstrap, progress = sys.argv[1:3]
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "transformer",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "transformer-1"})
    producer.init_transactions(30)
    consumer.subscribe(["input"])
    with open(progress, "a", buffering=1) as out:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msgs = [m for m in consumer.consume(10, 0.5) if not m.error()]
            if not msgs:
                continue
            producer.begin_transaction()
            try:
                for m in msgs:
                    producer.produce(
                        "output",
                        key=m.key(),
                        value=str(int(m.value()) * 10).encode(),
                        partition=m.partition(),
                    )
                    out.write(".\n")
                    time.sleep(0.005)
                producer.send_offsets_to_transaction(
                    consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30
                )
                producer.commit_transaction(30)
            except KafkaException as err:
                if not err.args[0].txn_requires_abort():
                    raise
                # E.g. a rebalance moved partitions: drop the batch and restart from the committed offsets.
                producer.abort_transaction(30)
                for tp in consumer.committed(consumer.assignment(), timeout=30):
                    consumer.seek(
                        tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                    )


if __name__ == "__main__":
    main()
