"""Reference broker vs Tansu: the same workloads against both in one run; prints medians and ratios.

    python benchmarks/broker.py                 # full run (2 M records for the memory figure)
    python benchmarks/broker.py --quick         # smaller counts, one repetition

Workloads (confluent-kafka / librdkafka clients, default acks=all):
  produce throughput: 100 B and 1 KiB records, batched (linger.ms=5) and unbatched (one record per request)
  consume throughput: from the beginning of the 100 B batched topic
  end-to-end latency p50/p99 at 1,000 msg/s with default client settings
  start-up: process start to the first Metadata answer
  memory: resident set size after storing N records (default 2,000,000)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.support.broker import BrokerProcess  # noqa: E402
from tests.support.tansu import TansuProcess, free_port, tansu_binary  # noqa: E402

Server = Any  # BrokerProcess | TansuProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def produce_rate(bootstrap: str, topic: str, size: int, count: int, batched: bool) -> float:
    conf: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
    }
    if batched:
        conf.update({"linger.ms": 5, "batch.size": 1_000_000})
    else:
        conf.update({"linger.ms": 0, "batch.num.messages": 1})
    p = Producer(conf)
    payload = os.urandom(size)
    start = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, payload)
                break
            except BufferError:
                p.poll(0.001)
    remaining = p.flush(120)
    elapsed = time.perf_counter() - start
    if remaining:
        raise RuntimeError(f"{remaining} records not delivered")
    return count / elapsed


def consume_rate(bootstrap: str, topic: str, count: int) -> float:
    # librdkafka pauses fetching for fetch.queue.backoff.ms (default 1000 ms) whenever its local queue is
    # full; with a fast broker that pause dominates the figure, so it is shortened for both brokers.
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 10,
        }
    )
    c.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.perf_counter()
    deadline = time.monotonic() + 120
    while got < count and time.monotonic() < deadline:
        msgs = c.consume(10_000, 1.0)
        got += sum(1 for m in msgs if not m.error())
    elapsed = time.perf_counter() - start
    c.close()
    if got < count:
        raise RuntimeError(f"consumed only {got}/{count}")
    return count / elapsed


def _latency_consumer(bootstrap: str, topic: str, expected: int, ready: Any, out: Any) -> None:
    """Child process: consume from the end and report each record's delay (CLOCK_MONOTONIC is shared)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"lat-{uuid.uuid4().hex}"})
    c.assign([TopicPartition(topic, 0, -1)])  # from the end
    c.poll(0.5)
    ready.set()
    lat: list[float] = []
    deadline = time.monotonic() + 120
    while len(lat) < expected and time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is not None and not m.error():
            lat.append((time.perf_counter() - struct.unpack(">d", m.value()[:8])[0]) * 1000)
    c.close()
    out.put(lat)


def e2e_latency(bootstrap: str, topic: str, seconds: float, rate: int = 1000) -> tuple[float, float]:
    """p50, p99 in ms: the producer stamps the send time into the value; a consumer in another process
    (so the two clients do not share a GIL) computes the delay."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # the child only creates its own client
    n = int(seconds * rate)
    ready, out = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_latency_consumer, args=(bootstrap, topic, n, ready, out))
    child.start()
    if not ready.wait(60):
        child.kill()
        raise RuntimeError("latency consumer did not start")
    time.sleep(0.5)
    p = Producer({"bootstrap.servers": bootstrap})
    start = time.perf_counter()
    for i in range(n):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        p.produce(topic, struct.pack(">d", time.perf_counter()) + b"x" * 92)
        p.poll(0)
    p.flush(30)
    lat: list[float] = out.get(timeout=120)
    child.join(30)
    if len(lat) < n * 0.9:
        raise RuntimeError(f"only {len(lat)}/{n} latency samples")
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def metadata_answered(port: int) -> bool:
    # Metadata v1 request for all topics (null array), header v1.
    body = struct.pack(">hhih", 3, 1, 1, 5) + b"bench" + struct.pack(">i", -1)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            head = s.recv(4)
            return len(head) == 4
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def startup_time(kind: str, tmp: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the broker process) from process start to the first Metadata answer."""
    port = free_port()
    if kind == "evtctl":
        data = tmp / f"startup-{uuid.uuid4().hex}"
        args = [sys.executable, "-m", "evtctl.broker", "start", "--data-dir", str(data), "--listen",
                f"127.0.0.1:{port}", "--registry-listen", "off"]
        # Byte-code caching on (as for an installed wheel), in a private cache dir: this environment sets
        # PYTHONDONTWRITEBYTECODE, which would make every start compile all modules from source.
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        url = f"tcp://127.0.0.1:{port}"
        args = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]
        env = dict(os.environ)
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if metadata_answered(port):
                return time.perf_counter() - start, cpu_seconds(proc.pid)
            time.sleep(0.005)
        raise RuntimeError(f"{kind} did not answer Metadata")
    finally:
        proc.terminate()
        proc.wait(10)


def python_baseline() -> float:
    """Wall time of `python -c pass` right now: the floor under any Python broker's start-up."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def start_server(kind: str, tmp: Path) -> Server:
    if kind == "evtctl":
        d = tmp / f"evtctl-{uuid.uuid4().hex[:6]}"
        d.mkdir()
        return BrokerProcess(d / "data", ("--registry-listen", "off"), d / "broker.log").start()
    return TansuProcess(tansu_binary(), tmp / f"tansu-{uuid.uuid4().hex[:6]}.log").start()  # type: ignore[arg-type]


def server_pid(server: Server) -> int:
    return int(server.proc.pid)


def run(args: argparse.Namespace) -> None:
    kinds = ["evtctl", "tansu"] if tansu_binary() else ["evtctl"]
    results: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}

    def record(kind: str, metric: str, value: float) -> None:
        results[kind].setdefault(metric, []).append(value)
        print(f"  {kind:7s} {metric:32s} {value:12.1f}", flush=True)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for rep in range(args.repeat):
            print(f"repetition {rep + 1}/{args.repeat}", flush=True)
            for kind in kinds:
                server = start_server(kind, tmp)
                try:
                    bs = server.bootstrap
                    for size in (100, 1024):
                        for batched in (True, False):
                            topic = f"p{size}{'b' if batched else 'u'}-{uuid.uuid4().hex[:6]}"
                            create_topic(bs, topic)
                            count = args.records if batched else args.unbatched_records
                            rate = produce_rate(bs, topic, size, count, batched)
                            record(
                                kind, f"produce {size}B {'batched' if batched else 'unbatched'} msg/s", rate
                            )
                            if size == 100 and batched:
                                record(kind, "consume 100B msg/s", consume_rate(bs, topic, count))
                    topic = f"lat-{uuid.uuid4().hex[:6]}"
                    create_topic(bs, topic)
                    p50, p99 = e2e_latency(bs, topic, args.latency_seconds)
                    record(kind, "e2e p50 ms", p50)
                    record(kind, "e2e p99 ms", p99)
                finally:
                    server.stop()
                if rep == 0:
                    startup_time(kind, tmp)  # warm-up: fills the byte-code cache
                wall, cpu = startup_time(kind, tmp)
                record(kind, "startup s", wall)
                record(kind, "startup cpu s", cpu)
                if kind == "evtctl":
                    record(kind, "python -c pass s (baseline)", python_baseline())
        for kind in kinds:
            server = start_server(kind, tmp)
            try:
                topic = f"mem-{uuid.uuid4().hex[:6]}"
                create_topic(server.bootstrap, topic)
                produce_rate(server.bootstrap, topic, 100, args.memory_records, True)
                time.sleep(1)
                record(kind, f"RSS MB after {args.memory_records} records", rss_mb(server_pid(server)))
            finally:
                server.stop()

    print("\nmedians" + (" (ratio = evtctl / tansu)" if "tansu" in kinds else ""))
    for metric in results["evtctl"]:
        ours = statistics.median(results["evtctl"][metric])
        line = f"  {metric:34s} evtctl {ours:12.2f}"
        if "tansu" in kinds and metric in results["tansu"]:
            theirs = statistics.median(results["tansu"][metric])
            line += f"   tansu {theirs:12.2f}   ratio {ours / theirs if theirs else float('nan'):6.2f}"
        print(line)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000, help="records per batched produce run")
    ap.add_argument("--unbatched-records", type=int, default=20_000)
    ap.add_argument("--memory-records", type=int, default=2_000_000)
    ap.add_argument("--latency-seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small counts, one repetition")
    args = ap.parse_args(argv)
    if args.quick:
        args.records, args.unbatched_records, args.memory_records = 50_000, 5_000, 200_000
        args.latency_seconds, args.repeat = 3.0, 1
    run(args)


if __name__ == "__main__":
    main()
