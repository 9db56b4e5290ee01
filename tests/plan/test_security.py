"""Contexts with SASL (SCRAM and PLAIN): secrets from environment variables only, every kind over an
authenticated listener (quotas then go through kafka-python), and a missing variable is a usage error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from evtctl.errors import UsageError
from tests.plan.helpers import apply_ws, plan_of
from tests.plan.workspace import Ws
from tests.support.broker import BrokerProcess, start_broker
from tests.support.tansu import free_port


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BrokerProcess, str]]:
    listen = f"127.0.0.1:{free_port()}"
    proc = start_broker(
        tmp_path_factory.mktemp("sasl"),
        "--sasl-listen",
        listen,
        "--sasl-user",
        "admin=admin-secret",
        "--super-users",
        "User:admin",
    )
    yield proc, listen
    proc.stop()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_sasl_context_plans_and_applies(
    sasl_broker: tuple[BrokerProcess, str], tmp_path: Path, mechanism: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, listen = sasl_broker
    prefix = "s" + re.sub(r"[^a-z0-9]", "", mechanism.lower()) + "-"
    ws = Ws(tmp_path / "ws", listen, broker.registry_url, prefix)
    ws.config["spec"]["contexts"]["test"]["security"] = {
        "protocol": "SASL_PLAINTEXT",
        "saslMechanism": mechanism,
        "usernameEnv": "TEST_KAFKA_USER",
        "passwordEnv": "TEST_KAFKA_PASSWORD",
        "registryUsernameEnv": "TEST_KAFKA_USER",
        "registryPasswordEnv": "TEST_KAFKA_PASSWORD",
    }
    t = ws.topic("secure", 2, retention_ms="1d")
    svc = ws.name("svc")
    ws.add("Principal", svc, {"mechanism": "PLAIN"})
    ws.add("Service", svc, {"principal": svc, "produces": [t]})
    ws.add("Quota", ws.name("q"), {"user": svc, "consumerByteRate": 4096})
    ws.write()
    with pytest.raises(UsageError) as err:
        plan_of(ws)
    assert "TEST_KAFKA_USER" in err.value.message
    monkeypatch.setenv("TEST_KAFKA_USER", "admin")
    monkeypatch.setenv("TEST_KAFKA_PASSWORD", "admin-secret")
    plan = plan_of(ws)
    assert {c.kind for c in plan.changes} == {"topic", "acl", "quota"} and not plan.warnings
    assert apply_ws(ws).ok
    assert plan_of(ws).changes == ()


def test_a_wrong_password_is_one_clear_error(sasl_broker: tuple[BrokerProcess, str], tmp_path: Path) -> None:
    """`evtctl plan` with rejected credentials: one located error naming the broker and what to check,
    exit 1 (a backend error), no traceback, the password nowhere in the output."""
    broker, listen = sasl_broker
    ws = Ws(tmp_path / "ws", listen, broker.registry_url, "wrongpw-")
    ws.config["spec"]["contexts"]["test"]["security"] = {
        "protocol": "SASL_PLAINTEXT",
        "saslMechanism": "SCRAM-SHA-512",
        "usernameEnv": "TEST_KAFKA_USER",
        "passwordEnv": "TEST_KAFKA_PASSWORD",
    }
    ws.topic("t", 1)
    ws.write()
    r = ws.cli("plan", env={"TEST_KAFKA_USER": "admin", "TEST_KAFKA_PASSWORD": "not-the-secret-9"})
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert f"SaslAuthenticate: error: SASL SCRAM-SHA-512 authentication with {listen} failed" in out
    assert "Traceback" not in out and "not-the-secret-9" not in out
