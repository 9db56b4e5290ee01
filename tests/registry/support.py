"""Run the registry alone as a real process (``python -m evtctl.broker.registry``) for tests."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"evtctl registry ready url=(\S+)")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


class RegistryProcess:
    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.listen = "127.0.0.1:0"
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = data_dir.parent / f"{data_dir.name}.stderr"

    def start(self) -> RegistryProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        args = [
            sys.executable,
            "-m",
            "evtctl.broker.registry",
            "--listen",
            self.listen,
            "--data-dir",
            str(self.data_dir),
        ]
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [*args, *self.extra_args], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=err
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = READY.search(buf.decode(errors="replace"))
                if m:
                    self.url = m.group(1)
                    self.listen = self.url.split("://", 1)[1]  # same port after restart
                    return self
            elif self.proc.poll() is not None:
                break
        self._terminate(signal.SIGKILL)
        raise RuntimeError(f"registry did not start: {buf!r}\n{self.stderr()}")

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _terminate(self, sig: int) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def stop(self) -> int | None:
        return self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        self._terminate(signal.SIGKILL)


def start_registry_process(data_dir: Path, *extra_args: str) -> RegistryProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    return RegistryProcess(data_dir, *extra_args).start()
