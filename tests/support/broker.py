"""Run evtctl's reference broker as a real process for tests.

    proc = start_broker(tmp_path)                # free ports, registry on
    proc = start_broker(tmp_path, "--auto-create-topics", "--registry-listen", "off")
    proc.bootstrap, proc.registry_url, proc.data_dir; proc.stop(); proc.kill(); proc.restart()

Or use the ``broker_factory`` fixture, which stops every broker it started.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.process import launch, terminate

READY = re.compile(r"evtctl broker ready kafka=(\S+) registry=(\S+)")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


class BrokerProcess:
    def __init__(self, data_dir: Path, extra_args: tuple[str, ...], log_path: Path) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.log_path = log_path
        self.bootstrap = ""
        self.registry_url: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._listen = "127.0.0.1:0"
        self._registry_listen = "127.0.0.1:0"

    @property
    def port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

    def _args(self) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "evtctl.broker",  # the lean launcher; it defers to `evtctl broker start` for other flags
            "start",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            self._listen,
        ]
        if "--registry-listen" not in self.extra_args:
            args += ["--registry-listen", self._registry_listen]
        return args + list(self.extra_args)

    def start(self) -> BrokerProcess:
        self.proc, m = launch(self._args(), self.log_path, READY, timeout=START_TIMEOUT, what="broker")
        self.bootstrap = m.group(1)
        self.registry_url = None if m.group(2) == "off" else m.group(2)
        # Keep the same ports across restart() so clients can reconnect.
        self._listen = self.bootstrap
        if self.registry_url:
            self._registry_listen = self.registry_url.removeprefix("http://")
        return self

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _terminate(self, sig: int) -> int | None:
        if self.proc is None:
            return None
        code = terminate(self.proc, sig, STOP_TIMEOUT)
        self.proc = None
        return code

    def stop(self) -> int | None:
        """SIGTERM and wait (clean shutdown)."""
        return self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown."""
        self._terminate(signal.SIGKILL)

    def restart(self, *, kill: bool = False) -> BrokerProcess:
        self.kill() if kill else self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def start_broker(tmp_path: Path, *extra_args: str) -> BrokerProcess:
    data_dir = tmp_path / "broker-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    return BrokerProcess(data_dir, tuple(extra_args), tmp_path / "broker.log").start()


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[object]:
    """``broker_factory(*extra_args, name="b1") -> BrokerProcess``; all stopped at teardown."""
    started: list[BrokerProcess] = []

    def make(*extra_args: str, name: str = "b") -> BrokerProcess:
        d = tmp_path / f"{name}{len(started)}"
        d.mkdir()
        proc = start_broker(d, *extra_args)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()
