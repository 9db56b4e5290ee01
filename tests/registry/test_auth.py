"""Basic and bearer authentication, subject ACLs by prefix, through a real registry process."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from evtctl.registry import RegistryClient, RegistryError
from tests.registry.support import RegistryProcess
from tests.support.broker import start_broker

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
SCHEMA = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]})


@pytest.fixture
def secured(tmp_path: Path, registry_factory: Callable[..., RegistryProcess]) -> Iterator[RegistryProcess]:
    config = {
        "users": {
            "admin": "admin-secret",
            "alice": "sha256:" + hashlib.sha256(b"alice-secret").hexdigest(),
            "bob": "bob-secret",
        },
        "tokens": {"tok-bob": "bob"},
        "super_users": ["admin"],
        "acls": [
            {"principal": "User:alice", "subject_prefix": "orders-", "operations": ["read", "write"]},
            {"principal": "User:bob", "subject_prefix": "orders-", "operations": ["read"]},
            {
                "principal": "User:bob",
                "subject": "orders-secret",
                "operations": ["all"],
                "permission": "deny",
            },
        ],
    }
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(config))
    yield registry_factory("--auth-config", str(path))


def test_requests_without_valid_credentials_are_401(secured: RegistryProcess) -> None:
    resp = httpx.get(secured.url + "/subjects")
    assert resp.status_code == 401
    assert resp.json()["error_code"] == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert httpx.get(secured.url + "/subjects", auth=("alice", "wrong")).status_code == 401
    assert httpx.get(secured.url + "/subjects", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(secured.url + "/subjects", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_subject_acls_by_prefix(secured: RegistryProcess) -> None:
    alice = httpx.Client(base_url=secured.url, auth=("alice", "alice-secret"))
    bob = httpx.Client(base_url=secured.url, headers={"Authorization": "Bearer tok-bob"})
    admin = httpx.Client(base_url=secured.url, auth=("admin", "admin-secret"))
    with alice, bob, admin:
        body = json.dumps({"schema": SCHEMA})
        assert alice.post("/subjects/orders-value/versions", content=body, headers=CT).status_code == 200
        denied = alice.post("/subjects/payments-value/versions", content=body, headers=CT)
        assert denied.status_code == 403 and denied.json()["error_code"] == 40301
        assert admin.post("/subjects/payments-value/versions", content=body, headers=CT).status_code == 200
        assert admin.post("/subjects/orders-secret/versions", content=body, headers=CT).status_code == 200
        # listings only show what the principal may read
        assert alice.get("/subjects").json() == ["orders-secret", "orders-value"]
        assert bob.get("/subjects").json() == ["orders-value"]  # the deny hides orders-secret
        assert sorted(admin.get("/subjects").json()) == ["orders-secret", "orders-value", "payments-value"]
        # read-only bob: reads yes, writes and deletes no, explicit deny wins over the prefix allow
        assert bob.get("/subjects/orders-value/versions/1").status_code == 200
        assert bob.post("/subjects/orders-value/versions", content=body, headers=CT).status_code == 403
        assert bob.delete("/subjects/orders-value").status_code == 403
        assert bob.get("/subjects/orders-secret/versions").status_code == 403
        assert alice.delete("/subjects/orders-value").status_code == 403
        # reading by id needs read access to a subject holding it
        schema_id = admin.get("/subjects/payments-value/versions/1").json()["id"]
        assert alice.get(f"/schemas/ids/{schema_id}").status_code == 200  # also under orders-value
        only_payments = json.dumps({"type": "record", "name": "P", "fields": [{"name": "p", "type": "long"}]})
        pid = admin.post(
            "/subjects/payments-key/versions", content=json.dumps({"schema": only_payments}), headers=CT
        )
        assert alice.get(f"/schemas/ids/{pid.json()['id']}").status_code == 403
        # the global scope needs a rule covering every subject (or a super user)
        assert (
            alice.put("/config", content=json.dumps({"compatibility": "NONE"}), headers=CT).status_code == 403
        )
        assert (
            admin.put("/config", content=json.dumps({"compatibility": "NONE"}), headers=CT).status_code == 200
        )


def test_evtctl_client_with_basic_and_token(secured: RegistryProcess) -> None:
    with RegistryClient(secured.url, username="alice", password="alice-secret") as alice:
        assert alice.register("orders-key", '"string"') > 0
        assert alice.subjects() == ["orders-key"]
    with RegistryClient(secured.url, token="tok-bob") as bob:
        assert bob.get_version("orders-key").schema == '"string"'
        with pytest.raises(RegistryError) as info:
            bob.register("orders-key", '"int"')
        assert info.value.status == 403 and info.value.error_code == 40301
        assert "POST /subjects/orders-key/versions" in info.value.render()
    host = secured.url.removeprefix("http://")
    with RegistryClient(f"http://alice:alice-secret@{host}") as via_url:
        assert via_url.subjects() == ["orders-key"]
    with RegistryClient(secured.url) as anonymous, pytest.raises(RegistryError) as info:
        anonymous.subjects()
    assert info.value.status == 401 and info.value.help


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_broker_mode_uses_broker_principals_and_topic_acls(tmp_path: Path) -> None:
    """With a SASL listener the hosted registry checks SCRAM users and the broker's topic ACLs."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    tokens = tmp_path / "broker-data" / "_schemas" / "tokens.json"
    tokens.parent.mkdir(parents=True)
    tokens.write_text(json.dumps({"tok-alice": "alice"}))
    broker = start_broker(
        tmp_path,
        "--sasl-listen",
        f"127.0.0.1:{_free_port()}",
        "--sasl-user",
        "alice=alice-secret",
        "--sasl-user",
        "bob=bob-secret",
        "--super-users",
        "User:ANONYMOUS",  # the plaintext listener administers ACLs in this test
    )
    try:
        assert broker.registry_url
        url = broker.registry_url
        assert httpx.get(url + "/subjects").status_code == 401
        assert httpx.get(url + "/subjects", auth=("alice", "wrong")).status_code == 401
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        bindings = [
            AclBinding(
                ResourceType.TOPIC,
                "orders",
                ResourcePatternType.PREFIXED,
                "User:alice",
                "*",
                op,
                AclPermissionType.ALLOW,
            )
            for op in (AclOperation.READ, AclOperation.WRITE)
        ]
        for future in admin.create_acls(bindings).values():
            future.result(timeout=20)
        body = json.dumps({"schema": '"string"'})
        alice = ("alice", "alice-secret")
        ok = httpx.post(url + "/subjects/orders-value/versions", content=body, headers=CT, auth=alice)
        assert ok.status_code == 200, ok.text
        denied = httpx.post(url + "/subjects/payments-value/versions", content=body, headers=CT, auth=alice)
        assert denied.status_code == 403 and denied.json()["error_code"] == 40301
        bob = httpx.post(
            url + "/subjects/orders-value/versions", content=body, headers=CT, auth=("bob", "bob-secret")
        )
        assert bob.status_code == 403
        by_token = httpx.get(url + "/subjects", headers={"Authorization": "Bearer tok-alice"})
        assert by_token.json() == ["orders-value"]
        # no DELETE ACL for alice
        assert httpx.delete(url + "/subjects/orders-value", auth=alice).status_code == 403
    finally:
        broker.stop()
