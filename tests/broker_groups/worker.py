"""A consumer-group member run as its own process (so a test can SIGKILL it).

Usage: python -m tests.broker_groups.worker BOOTSTRAP TOPIC GROUP OUT_FILE [INSTANCE_ID]
For each record it writes ``P <value>`` (processed), commits that offset synchronously, then writes
``C <value>`` (cleanly committed). Lines are flushed at once so the test sees them after a SIGKILL.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, KafkaException


def main() -> None:
    bootstrap, topic, group, out_path = sys.argv[1:5]
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }
    if len(sys.argv) > 5:
        conf["group.instance.id"] = sys.argv[5]
    consumer = Consumer(conf)
    with open(out_path, "a", buffering=1) as out:
        consumer.subscribe(
            [topic], on_assign=lambda c, ps: out.write("A " + ",".join(str(p.partition) for p in ps) + "\n")
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            value = msg.value().decode()
            out.write(f"P {value}\n")
            time.sleep(0.01)  # "work", so that a kill lands mid-stream
            try:
                consumer.commit(message=msg, asynchronous=False)
            except KafkaException:
                continue  # e.g. the partition moved in a rebalance: not a clean commit
            out.write(f"C {value}\n")


if __name__ == "__main__":
    main()
