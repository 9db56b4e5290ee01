"""The registry's ``GET /config?subjectConfigs=true`` extension (every subject level in one request),
through a real registry process, with and without subject ACLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry.support import RegistryProcess, start_registry_process

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
SCHEMA = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]})


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    config = {
        "users": {"admin": "admin-secret", "alice": "alice-secret"},
        "super_users": ["admin"],
        "acls": [
            {"principal": "User:alice", "subject_prefix": "", "operations": ["read"]},
            {
                "principal": "User:alice",
                "subject_prefix": "payments-",
                "operations": ["all"],
                "permission": "deny",
            },
        ],
    }
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(config))
    proc = start_registry_process(tmp_path / "data", "--auth-config", str(path))
    yield proc
    proc.stop()


def test_subject_levels_come_with_the_global_config(registry: RegistryProcess) -> None:
    admin = httpx.Client(base_url=registry.url, auth=("admin", "admin-secret"))
    alice = httpx.Client(base_url=registry.url, auth=("alice", "alice-secret"))
    with admin, alice:
        body = json.dumps({"schema": SCHEMA})
        for subject in ("orders-value", "orders-key", "payments-value"):
            assert admin.post(f"/subjects/{subject}/versions", content=body, headers=CT).status_code == 200
        # without the parameter: the Confluent answer, unchanged
        assert admin.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
        assert admin.get("/config", params={"subjectConfigs": "true"}).json() == {
            "compatibilityLevel": "BACKWARD",
            "evtctlSubjectConfigs": {},
        }
        set_level = {"compatibility": "FULL"}
        assert admin.put("/config/orders-value", json=set_level, headers=CT).status_code == 200
        assert admin.put("/config/orders-key", json={"compatibility": "NONE"}, headers=CT).status_code == 200
        assert admin.put("/config", json={"compatibility": "FORWARD"}, headers=CT).status_code == 200
        every = admin.get("/config", params={"subjectConfigs": "true"}).json()
        assert every["compatibilityLevel"] == "FORWARD"
        # each subject as GET /config/{subject} answers it; subjects without a level are absent
        assert every["evtctlSubjectConfigs"] == {
            s: admin.get(f"/config/{s}").json() for s in ("orders-value", "orders-key")
        }
        assert every["evtctlSubjectConfigs"]["orders-key"]["compatibilityLevel"] == "NONE"
        assert admin.get("/config/payments-value").status_code == 404
        # alice may read the global config and every subject but the payments- ones
        assert (
            alice.get("/config", params={"subjectConfigs": "true"}).json()["evtctlSubjectConfigs"]
            == (every["evtctlSubjectConfigs"])
        )
        assert admin.put("/config/payments-value", json=set_level, headers=CT).status_code == 200
        # a level she may not read: the extension is left out (a client then reads per subject)
        assert alice.get("/config", params={"subjectConfigs": "true"}).json() == {
            "compatibilityLevel": "FORWARD"
        }
        assert "evtctlSubjectConfigs" in admin.get("/config", params={"subjectConfigs": "true"}).json()
