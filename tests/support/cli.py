"""Run the `evtctl` CLI as a real process, the way users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_evtctl(
    *args: str | Path,
    cwd: Path = REPO,
    timeout: float = 120,
    clean_env: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m evtctl ARGS`` in ``cwd``; output captured as text, colour off.

    ``clean_env`` starts from a bare environment (no inherited variables, as on a fresh CI
    machine); ``env`` adds to whichever base.
    """
    base = {"PATH": "/usr/bin:/bin"} if clean_env else dict(os.environ)
    full_env = {**base, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "evtctl", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fresh_python(script: str, *args: str | Path, timeout: float = 300) -> str:
    """Run ``script`` in a fresh interpreter (no threads left by other tests, forking allowed) and
    return its standard output; a failure raises with the script's stderr."""
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), "EVTCTL_NO_FORK": ""},
    )
    if result.returncode != 0:
        raise AssertionError(f"script failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def copy_reference(dest: Path) -> Path:
    """A copy of the repository's reference workspace (evtctl.yaml, topology/, schemas/) at ``dest``."""
    import shutil

    dest.mkdir(parents=True)
    for part in ("evtctl.yaml", "topology", "schemas"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part)
        else:
            shutil.copy(source, dest / part)
    return dest
