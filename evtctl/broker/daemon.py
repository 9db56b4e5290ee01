"""The background broker: ``evtctl broker up|down|status|logs`` and ``ensure_local_broker``.

State lives under ``<workspace>/.evtctl/`` (workspace = nearest directory upward with ``evtctl.yaml``,
else the current directory): ``broker.json`` (pid and endpoints), ``broker.log`` and ``broker-data/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from evtctl.errors import BackendError, Location

STATE_FILE = "broker.json"
LOG_FILE = "broker.log"
DATA_DIR = "broker-data"
READY = re.compile(r"evtctl broker ready kafka=(\S+) registry=(\S+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class LocalEndpoints:
    bootstrap: str
    registry_url: str


@dataclass(frozen=True, slots=True)
class DaemonState:
    pid: int
    bootstrap: str
    registry_url: str | None
    data_dir: str
    log: str


def workspace_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "evtctl.yaml").is_file():
            return d
    return here


def state_dir(start: Path | None = None) -> Path:
    return workspace_root(start) / ".evtctl"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # guard against pid reuse: it must still be an evtctl broker
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    if b"evtctl" not in cmdline or b"broker" not in cmdline:
        return False
    try:  # a zombie (exited child not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _can_connect(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def read_state(sdir: Path) -> DaemonState | None:
    """The running daemon's state, or None (stale files are ignored)."""
    try:
        data = json.loads((sdir / STATE_FILE).read_text(encoding="utf-8"))
        state = DaemonState(
            int(data["pid"]),
            str(data["bootstrap"]),
            data.get("registry_url"),
            str(data["data_dir"]),
            str(data["log"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if _pid_alive(state.pid) else None


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_daemon(
    sdir: Path,
    *,
    data_dir: Path | None = None,
    listen: str | None = None,
    registry_listen: str | None = None,
    extra_args: list[str] | None = None,
    timeout: float = START_TIMEOUT,
) -> DaemonState:
    """Start ``evtctl broker start`` in the background (or return the running one)."""
    running = read_state(sdir)
    if running is not None:
        return running
    sdir.mkdir(parents=True, exist_ok=True)
    data = (data_dir or sdir / DATA_DIR).resolve()
    # Default ports when free; otherwise any free port (several workspaces can run side by side).
    listen = listen or ("127.0.0.1:9092" if _port_free("127.0.0.1", 9092) else "127.0.0.1:0")
    registry_listen = registry_listen or (
        "127.0.0.1:8081" if _port_free("127.0.0.1", 8081) else "127.0.0.1:0"
    )
    log_path = sdir / LOG_FILE
    args = [
        sys.executable,
        "-m",
        "evtctl.broker",  # the lean launcher; it defers to `evtctl broker start` for other flags
        "start",
        "--data-dir",
        str(data),
        "--listen",
        listen,
        "--registry-listen",
        registry_listen,
        *(extra_args or []),
    ]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    with open(log_path, "ab") as log:
        start_offset = log.tell()
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, "rb") as fh:
            fh.seek(start_offset)
            text = fh.read().decode(errors="replace")
        m = READY.search(text)
        if m:
            registry = None if m.group(2) == "off" else m.group(2)
            state = DaemonState(proc.pid, m.group(1), registry, str(data), str(log_path))
            tmp = sdir / (STATE_FILE + ".tmp")
            tmp.write_text(json.dumps(_asdict(state)))
            os.replace(tmp, sdir / STATE_FILE)
            return state
        if proc.poll() is not None:
            raise BackendError(
                f"the broker exited with code {proc.returncode}: {text.strip()[-500:]}",
                location=Location(context="broker up"),
                help=f"see {log_path}",
            )
        time.sleep(0.05)
    proc.kill()
    raise BackendError(
        f"the broker did not become ready within {timeout:.0f}s",
        location=Location(context="broker up"),
        help=f"see {log_path}",
    )


def _asdict(state: DaemonState) -> dict[str, object]:
    return {
        "pid": state.pid,
        "bootstrap": state.bootstrap,
        "registry_url": state.registry_url,
        "data_dir": state.data_dir,
        "log": state.log,
    }


def stop_daemon(sdir: Path, timeout: float = STOP_TIMEOUT) -> DaemonState | None:
    """SIGTERM the daemon and wait (SIGKILL after ``timeout``). Returns what was stopped."""
    state = read_state(sdir)
    if state is not None:
        try:
            os.kill(state.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _pid_alive(state.pid):
                time.sleep(0.05)
            if _pid_alive(state.pid):
                os.kill(state.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    (sdir / STATE_FILE).unlink(missing_ok=True)
    return state


# The local development broker is unauthenticated: evtctl's own PLAINTEXT admin client is
# User:ANONYMOUS and must keep seeing (and managing) topics once ACLs are applied to them.
LOCAL_BROKER_ARGS = ("--super-users", "User:ANONYMOUS")


def ensure_local_broker(state_dir: Path) -> LocalEndpoints:
    """Start the embedded broker + registry for the ``local`` context unless one is already running
    (started with ``LOCAL_BROKER_ARGS``: anonymous clients are super users)."""
    state = read_state(state_dir)
    if state is None or not _can_connect(state.bootstrap):
        if state is not None:
            stop_daemon(state_dir)
        state = start_daemon(state_dir, extra_args=list(LOCAL_BROKER_ARGS))
    if state.registry_url is None:
        raise BackendError(
            "the local broker runs without a schema registry",
            location=Location(context="local context"),
            help="run `evtctl broker down` and start it again without --registry-listen off",
        )
    return LocalEndpoints(state.bootstrap, state.registry_url)
