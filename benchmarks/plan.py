"""Benchmark `evtctl plan` against the reference broker for the generated large workspace.

Generates the workspace of benchmarks/gen_workspace.py (default 10,000 topics, 2,000 services
deriving 20,000 ACLs, 2,000 subjects), starts the reference broker and registry, applies it once,
then times `evtctl plan` as a fresh process (import, workspace load, live read, diff, render):

  * full plan against the converged cluster (0 changes expected): with every cache of the workspace
    removed first (.evtctl/cache: a fresh clone), then with the manifest and schema caches warm
  * after adding one topic to the manifests (1 change expected; the new file is the only cache miss)

and prints medians, the admin/registry round trips of one plan, and ratios to the targets
(full < 10 s, one-topic change < 2 s). With --peer-tansu the same topic-only plan also runs against
Tansu in the same run, for comparison.

    python benchmarks/plan.py [--topics N --services N --subjects N] [--repeat 3] [--peer-tansu]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from gen_workspace import generate  # noqa: E402

READY = re.compile(r"evtctl broker ready kafka=(\S+) registry=(\S+)")


def _drain(stream: IO[bytes]) -> None:
    for _ in stream:  # keep the broker's stdout flowing
        pass


def start_broker(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evtctl",
            "broker",
            "start",
            "--data-dir",
            str(data),
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "127.0.0.1:0",
            "--super-users",
            "User:ANONYMOUS",
            "--flush-policy",
            "page-cache",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = READY.search(line.decode(errors="replace"))
        if m:
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc, m.group(1), m.group(2)
    proc.kill()
    raise SystemExit(f"broker did not start: {line!r}")


def point_at(ws: Path, bootstrap: str, registry: str | None, partitions: int = 1) -> None:
    cfg = ws / "evtctl.yaml"
    text = cfg.read_text()
    context = (
        "  defaultContext: bench\n  contexts:\n    bench:\n      kind: kafka\n"
        f"      bootstrapServers: [{bootstrap}]\n"
    )
    if registry:
        context += f"      registryUrl: {registry}\n"
    cfg.write_text(text + context)
    # a single-node broker: replication 1 so the cluster can converge
    for f in (ws / "topology" / "topics").glob("*.yaml"):
        text = f.read_text().replace("replicationFactor: 3", "replicationFactor: 1")
        f.write_text(text.replace("partitions: 12", f"partitions: {partitions}"))


def apply_once(ws: Path) -> tuple[float, int]:
    from evtctl.plan.apply import Applier
    from evtctl.plan.desired import desired_state
    from evtctl.plan.session import Target, cluster_config, make_plan
    from evtctl.workspace import load_workspace

    t0 = time.perf_counter()
    workspace = load_workspace(ws)
    config, _ = cluster_config(workspace, None)
    target = Target.open(config)
    try:
        plan = make_plan(desired_state(workspace, env={}), target).plan
        report = Applier(target.kafka, target.registry, env={}).run(plan)
    finally:
        target.close()
    if not report.ok:
        raise SystemExit(f"setup apply failed: {list(report.failed.items())[:3]}")
    return time.perf_counter() - t0, len(plan.changes)


def register_foreign(registry: str, count: int) -> None:
    """Subjects another team owns: a plan must neither change nor read them one by one."""
    import json

    import httpx

    with httpx.Client(base_url=registry, timeout=30) as client:
        for i in range(count):
            subject = f"zz-other-team.s{i:05d}-value"
            schema = {"type": "record", "name": f"Other{i}", "fields": [{"name": "x", "type": "long"}]}
            body = {"schema": json.dumps(schema)}
            client.post(f"/subjects/{subject}/versions", json=body).raise_for_status()
            client.put(f"/config/{subject}", json={"compatibility": "NONE"}).raise_for_status()


def plan_process(ws: Path, *extra: str) -> tuple[float, dict[str, object]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "evtctl", "plan", "-o", "json", "--workspace", str(ws), *extra],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        errors = ""
        if r.stdout.strip().startswith("{"):
            errors = json.dumps(json.loads(r.stdout).get("errors", [])[:3])
        raise SystemExit(f"plan failed ({r.returncode}): {r.stderr[-2000:]} {errors}")
    return elapsed, json.loads(r.stdout)


def add_topic(ws: Path, name: str) -> None:
    (ws / "topology" / "topics" / "zz-added.yaml").write_text(
        f"apiVersion: evtctl/v1\nkind: Topic\nmetadata:\n  name: {name}\n  owner: bench\n"
        "  description: One more topic.\nspec:\n  partitions: 3\n  replicationFactor: 1\n"
        "  configs:\n    retention.ms: 1d\n"
    )


def measure(ws: Path, repeat: int, label: str) -> dict[str, float]:
    cold = []
    for _ in range(repeat):
        # nothing cached: no manifest cache, no schema cache (a fresh clone in CI)
        shutil.rmtree(ws / ".evtctl" / "cache", ignore_errors=True)
        elapsed, _ = plan_process(ws)
        cold.append(elapsed)
    print(f"{label}: full plan, caches cold: median {statistics.median(cold):.2f} s over {repeat}")
    full = []
    data: dict[str, object] = {}
    for _ in range(repeat):
        elapsed, data = plan_process(ws)
        full.append(elapsed)
    summary = data["summary"]
    assert isinstance(summary, dict)
    print(
        f"{label}: full plan (converged, {summary['create'] + summary['update']} changes), caches warm: "
        f"median {statistics.median(full):.2f} s over {repeat}; round trips {data['round_trips']}"
        f" (of which concurrent per-subject level reads: {data.get('level_reads', '?')})"
    )
    one = []
    targeted = []
    target_rts: object = None
    for i in range(repeat):
        name = f"retail.added{i:03d}.events"
        add_topic(ws, name)
        elapsed, data = plan_process(ws)
        summary = data["summary"]
        assert isinstance(summary, dict) and summary["create"] == 1, summary
        one.append(elapsed)
        elapsed, tdata = plan_process(ws, "--target", f"topic/{name}")
        targeted.append(elapsed)
        target_rts = tdata["round_trips"]
    (ws / "topology" / "topics" / "zz-added.yaml").unlink()
    print(
        f"{label}: one added topic (1 change): median {statistics.median(one):.2f} s over {repeat}; "
        f"round trips {data['round_trips']} (level reads {data.get('level_reads', '?')})"
    )
    print(
        f"{label}: one added topic, plan --target topic/NAME: median {statistics.median(targeted):.2f} s; "
        f"round trips {target_rts}"
    )
    return {
        "cold": statistics.median(cold),
        "full": statistics.median(full),
        "one": statistics.median(one),
        "target": statistics.median(targeted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--subjects", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="partitions per topic (1 keeps set-up short; 12 x 10,000 works, ~70 s of set-up)",
    )
    parser.add_argument("--broker-log", default=os.devnull, help="where the broker's stderr goes")
    parser.add_argument(
        "--peer-topics", type=int, default=None, help="topics for the Tansu run (default --topics)"
    )
    parser.add_argument(
        "--only-peer", action="store_true", help="skip the reference broker (with --peer-tansu)"
    )
    parser.add_argument("--peer-tansu", action="store_true", help="also plan the topics alone against Tansu")
    parser.add_argument(
        "--foreign-subjects",
        type=int,
        default=0,
        help="also register N subjects outside the workspace's managed scope (other teams' subjects) "
        "straight into the registry, each with its own compatibility level",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evtctl-plan-bench-") as tmp:
        root = Path(tmp)
        ws = root / "ws"
        generate(ws, args.topics, args.services, args.subjects)
        if not args.only_peer:
            proc, bootstrap, registry = start_broker(root / "data", Path(args.broker_log))
            try:
                point_at(ws, bootstrap, registry, args.partitions)
                seconds, changes = apply_once(ws)
                print(f"setup: applied {changes} changes to the reference broker in {seconds:.1f} s")
                if args.foreign_subjects:
                    register_foreign(registry, args.foreign_subjects)
                    print(f"setup: registered {args.foreign_subjects} subjects outside the managed scope")
                ours = measure(ws, args.repeat, "reference broker")
            finally:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)
            print(f"one topic with --target: {ours['target']:.2f} s / 2 s = {ours['target'] / 2:.2f}")
            print(
                f"targets: full {ours['full']:.2f} s / 10 s = {ours['full'] / 10:.2f} "
                f"(caches cold {ours['cold']:.2f} s / 10 s = {ours['cold'] / 10:.2f}); "
                f"one topic {ours['one']:.2f} s / 2 s = {ours['one'] / 2:.2f}"
            )
        if args.peer_tansu:
            from tests.support.tansu import start_tansu

            tws = root / "tansu-ws"
            generate(tws, args.peer_topics or args.topics, 0, 0)
            tansu = start_tansu(root)
            try:
                point_at(tws, tansu.bootstrap, None, args.partitions)
                seconds, changes = apply_once(tws)
                print(f"tansu setup: applied {changes} changes in {seconds:.1f} s")
                peer = measure(tws, args.repeat, "tansu (topics only)")
            finally:
                tansu.stop()
            if not args.only_peer:
                same = (
                    args.services == 0
                    and args.subjects == 0
                    and (args.peer_topics or args.topics) == args.topics
                )
                what = "same workspace" if same else "reference: the whole workspace, Tansu: its topics only"
                print(f"ratio reference/tansu, full plan ({what}): {ours['full'] / peer['full']:.2f}")


if __name__ == "__main__":
    main()
