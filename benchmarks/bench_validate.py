"""Benchmark `evtctl validate` and `evtctl lint` on a large generated workspace.

Generates (once) the workspace of ``gen_workspace.py`` (10,000 topics, 2,000 services -> 20,000
derived ACL entries, 2,000 subjects with their own Avro files) and reports medians of N runs:

* ``validate`` and ``lint`` (which validates first) as real CLI processes, wall clock, with the
  caches cold (.evtctl deleted before each run: manifest and schema caches) and warm;
* in-process: evtctl's loader (positions, JSON Schema, model, references, derived ACLs) against a
  naive peer doing much less: ``yaml.load_all`` with PyYAML's C loader plus ``jsonschema`` on every
  document (no positions, no model, no reference or schema-file checks).

    python benchmarks/bench_validate.py [--runs 5] [--dir /tmp/evtctl-bench-ws]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _median(
    fn: Callable[[], object], runs: int, before: Callable[[], None] | None = None
) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (this process plus its children).

    CPU time is reported too because wall time on a shared 2-core machine mostly measures the
    neighbours.
    """
    walls, cpus = [], []
    for _ in range(runs):
        if before is not None:
            before()
        cpu0 = _cpu()
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu0)
    return statistics.median(walls), statistics.median(cpus)


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _cli(args: list[str], cwd: Path, **extra_env: str) -> Callable[[], object]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1", **extra_env}

    def run() -> object:
        result = subprocess.run(
            [sys.executable, "-m", "evtctl", *args], cwd=cwd, env=env, capture_output=True, text=True
        )
        if result.returncode not in (0, 1):
            raise SystemExit(f"evtctl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    return run


def _naive(workspace: Path) -> Callable[[], object]:
    import jsonschema
    import yaml

    from evtctl.manifest.schemas import kind_schema

    validators = {}

    def run() -> object:
        count = 0
        for path in sorted((workspace / "topology").rglob("*.yaml")):
            for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
                kind = doc["kind"]
                if kind not in validators:
                    validators[kind] = jsonschema.Draft202012Validator(kind_schema(kind))
                validators[kind].validate(doc)
                count += 1
        return count

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/evtctl-bench-ws"))
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    workspace: Path = args.dir
    if args.regenerate or not (workspace / "evtctl.yaml").is_file():
        from gen_workspace import generate

        generate(workspace, 10_000, 2_000, 2_000)
    cache = workspace / ".evtctl"

    def drop_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    print(
        f"workspace: {workspace} (10,000 topics, 2,000 services, 2,000 subjects); median of {args.runs} runs"
    )
    has_lint = (REPO_ROOT / "evtctl" / "lint" / "engine.py").is_file()

    rows: list[tuple[str, tuple[float, float]]] = []
    rows.append(
        ("cli validate (caches cold)", _median(_cli(["validate"], workspace), args.runs, drop_cache))
    )
    rows.append(("cli validate (warm)", _median(_cli(["validate"], workspace), args.runs)))
    if has_lint:
        rows.append(
            ("cli lint = validate+lint (cold)", _median(_cli(["lint"], workspace), args.runs, drop_cache))
        )
        rows.append(("cli lint = validate+lint (warm)", _median(_cli(["lint"], workspace), args.runs)))
        rows.append(
            (
                "cli lint (warm), one core (EVTCTL_NO_FORK=1)",
                _median(_cli(["lint"], workspace, EVTCTL_NO_FORK="1"), args.runs),
            )
        )

    from evtctl.workspace import check_workspace

    def load() -> object:
        workspace_model, problems = check_workspace(workspace)
        assert not problems, problems[:3]
        return workspace_model

    ours = _median(load, args.runs, drop_cache)
    gc.enable()
    peer = _median(_naive(workspace), args.runs)
    rows.append(("in-process evtctl loader (cold)", ours))
    rows.append(("in-process peer: yaml.load_all(CSafeLoader)+jsonschema", peer))
    width = max(len(name) for name, _ in rows)
    print(f"  {'':<{width}}  {'wall':>8}  {'cpu':>8}")
    for name, (wall, cpu) in rows:
        print(f"  {name:<{width}}  {wall:7.3f}s  {cpu:7.3f}s")
    print(
        f"  ratio evtctl loader / naive peer (cpu): {ours[1] / peer[1]:.2f}x"
        " (the peer checks far less: no positions, model, references or schema files)"
    )


if __name__ == "__main__":
    main()
