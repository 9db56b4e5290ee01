"""`evtctl contract` end to end: the real CLI on copies of the reference workspace."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.support.broker import BrokerProcess, start_broker
from tests.support.cli import run_evtctl

REPO = Path(__file__).resolve().parents[2]


def run(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_evtctl(*args, cwd=cwd, timeout=timeout)


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "evtctl.yaml", root / "evtctl.yaml")
    shutil.copytree(REPO / "topology", root / "topology")
    shutil.copytree(REPO / "schemas", root / "schemas")
    return root


def drop_field(schema: Path, name: str) -> None:
    doc = json.loads(schema.read_text())
    doc["fields"] = [f for f in doc["fields"] if f["name"] != name]
    schema.write_text(json.dumps(doc, indent=2))


def test_reference_contracts_hold(workspace: Path) -> None:
    done = run(workspace, "contract", "verify", "--output", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["summary"]["pairs"] >= 4
    assert {p["consumer"] for p in report["pairs"]} >= {
        "inventory-service",
        "email-service",
        "shipping-service",
    }


def test_removed_field_fails_naming_consumer_field_and_reason(workspace: Path) -> None:
    drop_field(workspace / "schemas/retail/order_created.avsc", "customerId")
    done = run(workspace, "contract", "verify", "--output", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    broken = [p for p in report["pairs"] if not p["ok"]]
    assert [(p["consumer"], p["producer"]) for p in broken] == [("email-service", "order-service")]
    reasons = {(f["target"], f["rule"]) for f in broken[0]["findings"]}
    # The schema no longer has the field, and the producer's example no longer validates.
    assert ("customerId", "field-missing") in reasons
    text = run(workspace, "contract", "verify", "--consumer", "email-service").stdout
    assert "BROKEN" in text and "customerId" in text and "order-service" in text


def test_junit_report(workspace: Path, tmp_path: Path) -> None:
    drop_field(workspace / "schemas/retail/order_created.avsc", "orderId")
    out = tmp_path / "contracts.xml"
    done = run(workspace, "contract", "verify", "--output", "junit", "--out", str(out))
    assert done.returncode == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and int(root.get("failures", "0")) == 2
    failures = root.findall(".//failure")
    assert all("orderId" in (f.text or "") for f in failures)


def test_contract_with_unknown_consumer_is_a_located_validate_error(workspace: Path) -> None:
    path = workspace / "topology/contracts/payments.yaml"
    path.write_text(path.read_text().replace("consumer: shipping-service", "consumer: shiping-service"))
    done = run(workspace, "validate")
    assert done.returncode == 2
    assert "payments.yaml:" in done.stderr + done.stdout
    assert "did you mean 'shipping-service'" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    verify = run(workspace, "contract", "verify")
    assert verify.returncode == 2 and "Traceback" not in verify.stderr


def test_bad_path_syntax_is_located(workspace: Path) -> None:
    path = workspace / "topology/contracts/payments.yaml"
    path.write_text(path.read_text().replace("path: paymentId", "path: payment..Id"))
    done = run(workspace, "validate")
    assert done.returncode == 2 and "invalid field path" in done.stderr + done.stdout


def test_unknown_output_is_a_usage_error(workspace: Path) -> None:
    done = run(workspace, "contract", "verify", "--output", "xml")
    assert done.returncode == 2 and "unknown output format" in done.stderr


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=30)


def test_matrix_from_git_history(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git(workspace, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "v1")
    drop_field(workspace / "schemas/retail/order_created.avsc", "totalCents")
    git(workspace, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "drop totalCents")
    done = run(workspace, "contract", "matrix", "--output", "json")
    assert done.returncode == 0, done.stderr
    cells = [c for c in json.loads(done.stdout)["cells"] if c["topic"] == "retail.orders.created"]
    email = {c["schema_version"]: c["ok"] for c in cells if c["contract"] == "email-service.orders-created"}
    inventory = {
        c["schema_version"]: c["ok"] for c in cells if c["contract"] == "inventory-service.orders-created"
    }
    assert len(email) == 2  # two commits of the schema file, no uncommitted change
    newest, oldest = list(email)  # newest first
    assert email[newest] is False and email[oldest] is True
    assert all(inventory.values())  # inventory does not read totalCents
    text = run(workspace, "contract", "matrix").stdout
    assert "BROKEN" in text and "email-service.orders-created@v1" in text


def test_pact_import_and_export_through_the_cli(workspace: Path, tmp_path: Path) -> None:
    exported = tmp_path / "pacts"
    done = run(workspace, "contract", "export-pact", "--consumer", "email-service", "--out", str(exported))
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in exported.glob("*.json"))
    assert files == ["email-service-customer-service.json", "email-service-order-service.json"]
    pact = json.loads((exported / "email-service-order-service.json").read_text())
    assert pact["interactions"][0]["type"] == "Asynchronous/Messages"
    assert pact["interactions"][0]["metadata"]["kafka_topic"] == "retail.orders.created"

    imported = tmp_path / "imported"
    done = run(
        workspace,
        "contract",
        "import-pact",
        str(exported / "email-service-order-service.json"),
        "--out",
        str(imported),
    )
    assert done.returncode == 0, done.stderr
    [manifest] = imported.glob("*.yaml")
    [doc] = yaml.safe_load_all(manifest.read_text())
    original = next(
        d
        for d in yaml.safe_load_all((workspace / "topology/contracts/orders.yaml").read_text())
        if d["metadata"]["name"] == "email-service.orders-created"
    )
    assert doc["kind"] == "Contract" and doc["spec"] == original["spec"]


@pytest.fixture()
def broker(tmp_path: Path) -> object:
    # evtctl's unauthenticated admin client stays a super user after the workspace's ACLs land.
    proc = start_broker(tmp_path / "broker", "--super-users", "User:ANONYMOUS")
    yield proc
    proc.stop()


def add_test_context(workspace: Path, broker: BrokerProcess) -> None:
    """A context named ``test`` in the workspace's evtctl.yaml, pointing at ``broker``."""
    config = yaml.safe_load((workspace / "evtctl.yaml").read_text())
    config["spec"]["contexts"]["test"] = {
        "kind": "kafka",
        "bootstrapServers": [broker.bootstrap],
        "registryUrl": broker.registry_url,
        "environment": "dev",
    }
    (workspace / "evtctl.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_live_mode_round_trips_examples_through_broker_and_registry(
    workspace: Path, broker: BrokerProcess
) -> None:
    add_test_context(workspace, broker)
    # Live verification needs the topics; the registry subjects are registered on first use.
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = [
        "retail.orders.created",
        "retail.customers",
        "retail.payments.completed",
        "retail.inventory.reserved",  # Protobuf
    ]
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
        future.result(timeout=30)
    static = json.loads(run(workspace, "contract", "verify", "--output", "json").stdout)
    done = run(
        workspace, "contract", "verify", "--live", "--context", "test", "--output", "json", timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    live = json.loads(done.stdout)
    assert live["ok"]
    # The live pass checked the read-back events on top of the static and example checks, for
    # the pairs whose producer has examples: Avro and Protobuf.
    assert live["summary"]["checked"] > static["summary"]["checked"]
    static_checked = {p["contract"]: p["checked"] for p in static["pairs"]}
    live_checked = {p["contract"]: p["checked"] for p in live["pairs"]}
    for contract in ("inventory-service.orders-created", "audit-service.inventory-reserved"):
        assert live_checked[contract] > static_checked[contract], contract

    # A consumer that needs a header the example never sets breaks only in the events that arrive.
    path = workspace / "topology/contracts/orders.yaml"
    path.write_text(
        path.read_text().replace(
            "    - name: event-type\n      equals: OrderCreated",
            "    - name: event-type\n      equals: OrderPlaced",
        )
    )
    done = run(
        workspace, "contract", "verify", "--live", "--context", "test", "--output", "json", timeout=180
    )
    assert done.returncode == 1
    findings = [f for p in json.loads(done.stdout)["pairs"] for f in p["findings"]]
    assert any(f["source"].startswith("live ") and f["rule"] == "value-equals" for f in findings)

    # Protobuf: a consumer rule on a 64-bit field holds against the value read back off the wire.
    path = workspace / "topology/contracts/inventory.yaml"
    path.write_text(path.read_text().replace("        minimum: 0\n", "        minimum: 1764201660001\n"))
    done = run(
        workspace, "contract", "verify", "--live", "--context", "test", "--output", "json", timeout=180
    )
    pairs = {p["contract"]: p for p in json.loads(done.stdout)["pairs"]}
    findings = pairs["audit-service.inventory-reserved"]["findings"]
    sources = {(f["source"].split(" ")[0], f["rule"]) for f in findings}
    assert ("live", "value-range") in sources, sources


def test_schema_check_fails_on_a_contract_break_the_level_allows(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git(workspace, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "v1")
    # Removing a field is BACKWARD compatible (the new reader ignores it), but email-service reads it.
    drop_field(workspace / "schemas/retail/order_created.avsc", "customerId")
    done = run(workspace, "schema", "check", "--against", "HEAD", "--output", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout
    assert "CONTRACT_FIELD_MISSING" in text and "email-service" in text and "customerId" in text
    # A change no consumer reads passes.
    git(workspace, "checkout", "-q", "--", ".")
    drop_field(workspace / "schemas/retail/order_created.avsc", "causationId")
    assert run(workspace, "schema", "check", "--against", "HEAD").returncode == 0


def test_plan_refuses_a_schema_version_that_breaks_a_consumer(workspace: Path, broker: BrokerProcess) -> None:
    add_test_context(workspace, broker)
    applied = run(workspace, "apply", "--context", "test", "--auto-approve", timeout=180)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # BACKWARD allows removing a field; the email service's contract does not.
    drop_field(workspace / "schemas/retail/order_created.avsc", "customerId")
    done = run(workspace, "plan", "--context", "test", "--output", "json", timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = json.loads(done.stdout)["errors"]
    [error] = [e for e in errors if "consumer contract" in e["message"]]
    assert error["address"] == "subject/retail.orders.created-value"
    assert any("email-service" in d and "customerId" in d for d in error["details"])


def test_contract_and_examples_must_match_what_services_do(workspace: Path) -> None:
    payments = workspace / "topology/contracts/payments.yaml"
    payments.write_text(
        payments.read_text().replace("consumer: shipping-service", "consumer: inventory-service")
    )
    orders = workspace / "topology/contracts/orders.yaml"
    orders.write_text(orders.read_text().replace("producer: order-service", "producer: email-service"))
    done = run(workspace, "validate")
    assert done.returncode == 2
    out = done.stdout + done.stderr
    assert "payments.yaml:10:10: error: service 'inventory-service' has contract on" in out
    assert "service 'email-service' has examples on 'retail.orders.created' but does not produce it" in out
