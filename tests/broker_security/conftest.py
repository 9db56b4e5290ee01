"""A broker with a SASL_PLAINTEXT listener, SCRAM users and a super user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.broker import BrokerProcess, start_broker
from tests.support.tansu import free_port

USERS = {
    "admin": "admin-secret",
    "alice": "alice-pw",
    "bob": "bob-pw",
    "tenant-a": "a-pw",
    "tenant-b": "b-pw",
}


@dataclass
class SecureBroker:
    proc: BrokerProcess
    sasl_bootstrap: str

    def conf(self, user: str, mechanism: str = "SCRAM-SHA-256", **extra: Any) -> dict[str, Any]:
        """confluent-kafka settings for ``user`` on the SASL listener."""
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism,
            "sasl.username": user,
            "sasl.password": USERS[user],
            **extra,
        }

    @property
    def audit_lines(self) -> list[str]:
        path = self.proc.data_dir / "security-audit.log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[SecureBroker]:
    port = free_port()
    args = [
        "--registry-listen",
        "off",
        "--group-initial-rebalance-delay-ms",
        "0",
        "--sasl-listen",
        f"127.0.0.1:{port}",
        "--super-users",
        "User:admin",
    ]
    for user, password in USERS.items():
        args += ["--sasl-user", f"{user}={password}"]
    proc = start_broker(tmp_path, *args)
    yield SecureBroker(proc, f"127.0.0.1:{port}")
    proc.stop()
