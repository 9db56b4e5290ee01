"""``python -m evtctl.broker.registry``: start-up errors are located messages with exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.support.process import REPO_ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evtctl.broker.registry", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_port_in_use_bad_listen_and_bad_auth_config(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = run("--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "d1"))
    assert taken.returncode == 2 and "cannot listen" in taken.stderr and "Traceback" not in taken.stderr
    bad_listen = run("--listen", "nowhere", "--data-dir", str(tmp_path / "d2"))
    assert bad_listen.returncode == 2 and "HOST:PORT" in bad_listen.stderr
    config = tmp_path / "auth.yaml"
    config.write_text("acls:\n  - {principal: alice, operations: [fly], subject_prefix: x}\n")
    bad_auth = run(
        "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d3"), "--auth-config", str(config)
    )
    assert bad_auth.returncode == 2
    assert f"{config}: error: acls[0]: operations must be among" in bad_auth.stderr
    assert "Traceback" not in bad_auth.stderr
