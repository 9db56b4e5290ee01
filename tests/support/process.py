"""Start a repository module as a real process, wait for its ready line, stop it (broker, registry)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def launch(
    args: list[str], log_path: Path, ready: re.Pattern[str], *, timeout: float, what: str
) -> tuple[subprocess.Popen[bytes], re.Match[str]]:
    """Run ``args`` from the repo root (stderr appended to ``log_path``) until stdout matches ``ready``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        readable, _, _ = select.select([proc.stdout], [], [], 0.2)
        if readable:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            match = ready.search(buf.decode(errors="replace"))
            if match:
                return proc, match
        elif proc.poll() is not None:
            break
    terminate(proc, signal.SIGKILL, timeout)
    try:
        tail = log_path.read_text(errors="replace")[-4000:]
    except OSError:
        tail = ""
    raise RuntimeError(f"{what} did not become ready; output: {buf!r}; log:\n{tail}")


def terminate(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> int | None:
    """Send ``sig`` and wait (escalating to SIGKILL); returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode
