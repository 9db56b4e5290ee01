"""Bad security flags of `evtctl broker start`: a located error, exit 2, no traceback, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.process import REPO_ROOT


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ssl-listen", "127.0.0.1:0"], "--tls-cert"),
        (
            [
                "--ssl-listen",
                "127.0.0.1:0",
                "--tls-cert",
                "/nonexistent.pem",
                "--tls-key",
                "/nonexistent.key",
            ],
            "No such file",
        ),
        (["--sasl-user", "nopassword"], "NAME=PASSWORD"),
        (["--super-users", "admin"], "User:admin"),
        (["--sasl-mechanisms", "GSSAPI"], "unknown mechanism"),
        (["--tls-client-auth", "maybe"], "none, requested or required"),
        (
            [
                "--tls-client-auth",
                "required",
                "--ssl-listen",
                "127.0.0.1:0",
                "--tls-cert",
                "x",
                "--tls-key",
                "y",
            ],
            "error:",
        ),
    ],
)
def test_bad_security_flags_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
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
            *args,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and needle in proc.stderr
    assert "Traceback" not in proc.stderr and "evtctl broker ready" not in proc.stdout
