"""`evtctl broker start|up|down|status|logs`, ensure_local_broker, and registry hosting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.broker import BrokerProcess, start_broker
from tests.support.process import REPO_ROOT

ENV = dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def evtctl(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evtctl", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_start_through_the_full_cli_prints_one_ready_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evtctl",
            "broker",
            "start",
            "--data-dir",
            str(tmp_path / "d"),
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "off",
        ],
        cwd=REPO_ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("evtctl broker ready kafka=127.0.0.1:") and "registry=off" in line
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "" and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "localhost:notaport"], "--listen"),
        (["--flush-policy", "sometimes"], "--flush-policy"),
        (["-c", "log.retention.ms=forever-ish"], "--config"),
        (["-c", "no.such.config=1"], "--config"),
    ],
)
def test_bad_start_flags_exit_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    result = evtctl(
        "broker", "start", "--data-dir", str(tmp_path), "--registry-listen", "off", *args, cwd=REPO_ROOT
    )
    assert result.returncode == 2
    assert message in result.stderr and "error:" in result.stderr and "Traceback" not in result.stderr


def test_second_broker_on_the_same_data_dir_is_refused(broker: BrokerProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evtctl.broker",
            "start",
            "--data-dir",
            str(broker.data_dir),
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "off",
        ],
        cwd=REPO_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "in use by another broker" in result.stderr


def test_daemon_up_status_logs_down(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "nested").mkdir(parents=True)
    (ws / "evtctl.yaml").write_text("# workspace marker\n")
    cwd = ws / "nested"  # the workspace is found upward from here
    try:
        up = evtctl("broker", "up", "--listen", "127.0.0.1:0", "--registry-listen", "off", cwd=cwd)
        assert up.returncode == 0, up.stderr
        assert "broker running" in up.stdout
        status = evtctl("broker", "status", cwd=cwd)
        assert status.returncode == 0 and str(ws / ".evtctl") in status.stdout
        again = evtctl("broker", "up", cwd=cwd)  # already running: same pid
        assert again.stdout.split()[2] == up.stdout.split()[2]
        logs = evtctl("broker", "logs", "-n", "5", cwd=cwd)
        assert "evtctl broker ready" in logs.stdout
        assert (ws / ".evtctl" / "broker-data" / "meta" / "meta.json").exists()
    finally:
        down = evtctl("broker", "down", cwd=cwd)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert evtctl("broker", "status", cwd=cwd).returncode == 1


def test_ensure_local_broker_starts_once(tmp_path: Path) -> None:
    from evtctl.broker.daemon import ensure_local_broker, stop_daemon

    state = tmp_path / ".evtctl"
    try:
        first = ensure_local_broker(state)
        second = ensure_local_broker(state)
        assert first == second
        assert first.bootstrap.startswith("127.0.0.1:") and first.registry_url.startswith("http://")
    finally:
        stop_daemon(state)


def test_local_broker_lets_the_anonymous_admin_see_topics_with_acls(tmp_path: Path) -> None:
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        NewTopic,
        ResourcePatternType,
        ResourceType,
    )

    from evtctl.broker.daemon import ensure_local_broker, stop_daemon

    state = tmp_path / ".evtctl"
    try:
        local = ensure_local_broker(state)
        admin = AdminClient({"bootstrap.servers": local.bootstrap})
        admin.create_topics([NewTopic("guarded", 1, 1)])["guarded"].result(20)
        acl = AclBinding(
            ResourceType.TOPIC,
            "guarded",
            ResourcePatternType.LITERAL,
            "User:alice",
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        )
        for f in admin.create_acls([acl]).values():
            f.result(20)
        # The topic now has ACLs that do not name ANONYMOUS; evtctl's own client must still see it.
        assert "guarded" in AdminClient({"bootstrap.servers": local.bootstrap}).list_topics(timeout=20).topics
    finally:
        stop_daemon(state)


def test_registry_is_hosted_in_the_broker_process(tmp_path: Path) -> None:
    proc = start_broker(tmp_path)  # registry on a free port
    try:
        assert proc.registry_url is not None
        resp = httpx.get(f"{proc.registry_url}/subjects", timeout=10)
        assert resp.status_code == 200 and resp.json() == []
    finally:
        proc.stop()


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = evtctl(
        "broker",
        "start",
        "--data-dir",
        str(not_a_dir),
        "--listen",
        "127.0.0.1:0",
        "--registry-listen",
        "off",
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2
    assert "cannot use data directory" in result.stderr and "Traceback" not in result.stderr
