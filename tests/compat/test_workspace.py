"""Workspace mode: every bound subject against a git ref, a lock file, or a running registry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.broker import broker_factory  # noqa: F401  (pytest fixture)
from tests.support.cli import run_evtctl

REPO = Path(__file__).resolve().parents[2]

WORKSPACE = """\
apiVersion: evtctl/v1
kind: Workspace
metadata:
  name: compat-test
spec:
  paths:
    manifests: [topology]
    schemas: [schemas]
"""
TOPOLOGY = """\
apiVersion: evtctl/v1
kind: Topic
metadata:
  name: shop.orders
spec:
  partitions: 3
---
apiVersion: evtctl/v1
kind: Subject
metadata:
  name: shop.orders
spec:
  topic: shop.orders
  value:
    schema: schemas/order.avsc
  compatibility: BACKWARD
"""
V1 = {"type": "record", "name": "Order", "namespace": "shop", "fields": [{"name": "id", "type": "string"}]}
V2_OK = {**V1, "fields": [*V1["fields"], {"name": "note", "type": "string", "default": ""}]}  # type: ignore[list-item]
V2_BAD = {**V1, "fields": [*V1["fields"], {"name": "total", "type": "long"}]}  # type: ignore[list-item]


def make_workspace(root: Path, schema: dict[str, object]) -> Path:
    (root / "topology").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "evtctl.yaml").write_text(WORKSPACE)
    (root / "topology" / "shop.yaml").write_text(TOPOLOGY)
    write_schema(root, schema)
    return root


def write_schema(root: Path, schema: dict[str, object]) -> None:
    (root / "schemas" / "order.avsc").write_text(json.dumps(schema, indent=2))


def evtctl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_evtctl(*args, cwd=root, clean_env=True, env={"HOME": str(root)})


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_against_git_ref(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", V1)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "v1")
    write_schema(root, V2_OK)
    ok = evtctl(root, "schema", "check", "--against", "main")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "shop.orders-value: compatible (BACKWARD, AVRO, against 1 earlier version)" in ok.stdout
    write_schema(root, V2_BAD)
    bad = evtctl(root, "schema", "check", "--against", "main", "-o", "json")
    assert bad.returncode == 1
    (result,) = json.loads(bad.stdout)["results"]
    assert result["name"] == "shop.orders-value"
    assert [v["path"] for v in result["violations"]] == ["Order.total"]
    assert evtctl(root, "schema", "check", "--against", "no-such-ref").returncode == 2


def test_lock_file_round_trip(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", V1)
    assert evtctl(root, "schema", "check").returncode == 2  # no history source at all
    locked = evtctl(root, "schema", "lock")
    assert locked.returncode == 0, locked.stderr
    assert evtctl(root, "schema", "lock").returncode == 0  # unchanged: no new version
    doc = json.loads((root / "evtctl.lock.json").read_text())
    assert len(doc["subjects"]["shop.orders-value"]["versions"]) == 1
    write_schema(root, V2_BAD)
    bad = evtctl(root, "schema", "check")
    assert bad.returncode == 1 and "Order.total" in bad.stdout
    write_schema(root, V2_OK)
    assert evtctl(root, "schema", "check", "--lock", str(root / "evtctl.lock.json")).returncode == 0
    assert evtctl(root, "schema", "lock").returncode == 0
    doc = json.loads((root / "evtctl.lock.json").read_text())
    assert len(doc["subjects"]["shop.orders-value"]["versions"]) == 2
    (root / "broken.lock.json").write_text("{not json")
    broken = evtctl(root, "schema", "check", "--lock", "broken.lock.json")
    assert broken.returncode == 2 and "broken.lock.json:1:2" in broken.stderr


def test_against_a_running_registry(tmp_path: Path, broker_factory) -> None:  # noqa: F811
    from evtctl.registry.client import RegistryClient

    broker = broker_factory()
    assert broker.registry_url
    root = make_workspace(tmp_path / "ws", V2_BAD)
    with RegistryClient(broker.registry_url) as client:
        client.register("shop.orders-value", json.dumps(V1), schema_type="AVRO")
    bad = evtctl(root, "schema", "check", "--registry", broker.registry_url)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "against 1 earlier version" in bad.stdout and "Order.total" in bad.stdout
    write_schema(root, V2_OK)
    assert evtctl(root, "schema", "check", "--registry", broker.registry_url).returncode == 0
    locked = evtctl(root, "schema", "lock", "--registry", broker.registry_url, "-o", "reg.lock.json")
    assert locked.returncode == 0, locked.stderr
    doc = json.loads((root / "reg.lock.json").read_text())
    assert json.loads(doc["subjects"]["shop.orders-value"]["versions"][0]["schema"]) == V1
