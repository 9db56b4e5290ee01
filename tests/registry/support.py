"""Run the registry alone as a real process (``python -m evtctl.broker.registry``) for tests."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.process import launch, terminate

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
        args = [
            sys.executable,
            "-m",
            "evtctl.broker.registry",
            "--listen",
            self.listen,
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        self.proc, m = launch(args, self.stderr_path, READY, timeout=START_TIMEOUT, what="registry")
        self.url = m.group(1)
        self.listen = self.url.split("://", 1)[1]  # same port after restart
        return self

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _terminate(self, sig: int) -> int | None:
        if self.proc is None:
            return None
        code = terminate(self.proc, sig, STOP_TIMEOUT)
        self.proc = None
        return code

    def stop(self) -> int | None:
        return self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        self._terminate(signal.SIGKILL)


def start_registry_process(data_dir: Path, *extra_args: str) -> RegistryProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    return RegistryProcess(data_dir, *extra_args).start()
