"""Lint over the generated large workspace: load+validate, lint, and rendering, in one process.

    python benchmarks/bench_lint.py [--topics 10000] [--services 2000] [--subjects 2000] [--runs 5]

Generates the workspace with benchmarks/gen_workspace.py into a temporary directory, then reports
the median of ``--runs`` for: validate (load and check everything), lint (all rules on the loaded
model), text rendering of the findings, and the end-to-end `evtctl lint` process. Lint has no
external peer; the ratio printed is lint time relative to validate on the same workspace (target
for validate+lint: under 3 s on the 2-core CI machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time; CPU time of the same runs goes to CPU_TIMES (robust on a busy machine)."""
    times: list[float] = []
    cpu: list[float] = []
    result: Any = None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_TIMES.append(statistics.median(cpu))
    return statistics.median(times), result


CPU_TIMES: list[float] = []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--subjects", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from evtctl.lint.engine import run_lint
    from evtctl.lint.output import OutputContext, render
    from evtctl.workspace import check_workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        subprocess.run(
            [
                sys.executable,
                str(REPO / "benchmarks" / "gen_workspace.py"),
                str(root),
                "--topics",
                str(args.topics),
                "--services",
                str(args.services),
                "--subjects",
                str(args.subjects),
            ],
            check=True,
            capture_output=True,
        )
        def validate() -> Any:
            return check_workspace(root)  # pauses the cyclic GC itself, as `evtctl lint` loads

        validate_s, (workspace, problems) = median_time(validate, args.runs)
        assert not problems, problems[:3]
        lint_s, result = median_time(lambda: run_lint(workspace), args.runs)
        text_s, _ = median_time(lambda: render(result.diagnostics, "text", OutputContext()), args.runs)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cli_s, _ = median_time(
            lambda: subprocess.run(
                [sys.executable, "-m", "evtctl", "lint", str(root)], env=env, capture_output=True, check=False
            ),
            max(1, args.runs // 2),
        )
    print(
        f"workspace: {len(workspace.topics)} topics, {len(workspace.services)} services, "
        f"{len(workspace.subjects)} subjects, {len(workspace.acls)} ACL entries; "
        f"{len(result.diagnostics)} findings from {len(result.rules)} rules"
    )
    v_cpu, l_cpu, t_cpu = CPU_TIMES[:3]
    ratio = lint_s / validate_s
    print(f"load average: {os.getloadavg()[0]:.1f} (wall times inflate on a busy machine, CPU times less)")
    print(f"validate (load+check)  median {validate_s:6.3f} s wall  {v_cpu:6.3f} s CPU")
    print(
        f"lint (all rules)       median {lint_s:6.3f} s wall  {l_cpu:6.3f} s CPU   lint/validate {ratio:.2f}"
    )
    print(f"render text            median {text_s:6.3f} s wall  {t_cpu:6.3f} s CPU")
    total, total_cpu = validate_s + lint_s, v_cpu + l_cpu
    print(f"validate+lint          median {total:6.3f} s wall  {total_cpu:6.3f} s CPU   (target < 3 s)")
    print(f"`evtctl lint` process  median {cli_s:6.3f} s   (includes interpreter start-up and output)")


if __name__ == "__main__":
    main()
