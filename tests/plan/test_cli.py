"""The plan/apply/drift/import commands as processes: exit codes, saved plans, formats, import round trip."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from tests.plan.workspace import Ws, avro_record
from tests.support.broker import BrokerProcess


def set_config_out_of_band(broker: BrokerProcess, topic: str, name: str, value: str) -> None:
    client = AdminClient({"bootstrap.servers": broker.bootstrap})
    entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
    (fut,) = client.incremental_alter_configs(
        [ConfigResource("TOPIC", topic, incremental_configs=[entry])]
    ).values()
    fut.result(10)


def test_detailed_exitcode_and_apply(ws: Ws) -> None:
    t = ws.topic("ec", 2, retention_ms="3d")
    r = ws.cli("plan", "--detailed-exitcode")
    assert r.returncode == 2, r.stderr
    assert f"+ topic/{t}" in r.stdout and "Plan: 1 to create" in r.stdout
    r = ws.cli("apply")  # stdin is not a terminal: refuses without --auto-approve
    assert r.returncode == 2 and "--auto-approve" in r.stderr
    r = ws.cli("apply", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 applied, 0 failed" in r.stdout
    r = ws.cli("plan", "--detailed-exitcode")
    assert r.returncode == 0 and "No changes" in r.stdout
    ws.topic("ec", 1, retention_ms="3d")
    r = ws.cli("plan", "--detailed-exitcode")
    assert r.returncode == 1 and "cannot decrease" in r.stdout and "recipe:" in r.stdout


def test_saved_plan_applies_exactly_and_refuses_when_stale(
    ws: Ws, broker: BrokerProcess, tmp_path: Path
) -> None:
    a = ws.topic("sa", 1)
    b = ws.topic("sb", 1)
    assert ws.cli("apply", "--auto-approve").returncode == 0
    ws.topic("sa", 1, retention_ms="2d")
    plan_file = tmp_path / "plan.json"
    r = ws.cli("plan", "--out", str(plan_file))
    assert r.returncode == 0 and plan_file.exists()
    saved = json.loads(plan_file.read_text())
    assert [c["address"] for c in saved["changes"]] == [f"topic/{a}"]
    set_config_out_of_band(broker, b, "segment.ms", "3600000")
    r = ws.cli("apply", str(plan_file), "--auto-approve")
    assert r.returncode == 1
    assert f"topic/{b} changed" in r.stderr and "plan --out" in r.stderr
    # a fresh saved plan applies, and only what it says (b's out-of-band change is not in it)
    ws.topic("sb", 1, segment_ms="1h")
    r = ws.cli("plan", "--out", str(plan_file), "--target", f"topic/{a}")
    assert r.returncode == 0
    r = ws.cli("apply", str(plan_file), "--auto-approve")
    assert r.returncode == 0 and "1 applied" in r.stdout, r.stdout + r.stderr
    assert ws.cli("plan", "--detailed-exitcode").returncode == 0


def test_json_and_markdown_outputs(ws: Ws) -> None:
    t = ws.topic("fmt", 1)
    r = ws.cli("plan", "-o", "json")
    data = json.loads(r.stdout)
    assert data["format_version"] == 1 and data["summary"]["create"] == 1
    (change,) = data["changes"]
    assert (
        change["address"] == f"topic/{t}" and change["risk"] == "safe" and change["after"]["partitions"] == 1
    )
    assert isinstance(data["round_trips"], int)
    assert data["level_reads"] == 0  # no subject declared or in scope: no per-subject level read
    r = ws.cli("plan", "-o", "markdown")
    assert (
        "| create | update | delete |" in r.stdout and "<details>" in r.stdout and f"+ topic/{t}" in r.stdout
    )
    r = ws.cli("plan", "-o", "yaml")
    assert r.returncode == 2 and "unknown output format" in r.stderr


def test_bad_saved_plan_is_a_located_error(ws: Ws, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    r = ws.cli("apply", str(bad), "--auto-approve")
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr
    r = ws.cli("plan", "--target", "nonsense")
    assert r.returncode == 2 and "KIND/NAME" in r.stderr


def test_drift_then_import_round_trip(ws: Ws, broker: BrokerProcess, tmp_path: Path) -> None:
    orders = ws.topic("dorders", 2, retention_ms="1d")
    svc = ws.name("dsvc")
    ws.add("Principal", svc, {"mechanism": "PLAIN"})
    ws.add(
        "Service",
        svc,
        {"principal": svc, "produces": [orders], "consumerGroup": ws.name("dg"), "consumes": [orders]},
    )
    ws.add(
        "AccessPolicy",
        ws.name("dops"),
        {
            "principal": svc,
            "rules": [
                {
                    "resourceType": "TOPIC",
                    "name": ws.prefix,
                    "patternType": "PREFIXED",
                    "operations": ["DESCRIBE_CONFIGS"],
                }
            ],
        },
    )
    schema = ws.schema("d.avsc", avro_record("D", ("id", "string")))
    ws.add(
        "Subject", ws.name("d"), {"topic": orders, "value": {"schema": schema}, "compatibility": "FORWARD"}
    )
    assert ws.cli("apply", "--auto-approve").returncode == 0
    assert ws.cli("drift").returncode == 0
    set_config_out_of_band(broker, orders, "retention.ms", "3600000")
    r = ws.cli("drift")
    assert r.returncode == 1
    assert (
        f"topic/{orders}: config.retention.ms is 3600000 on the cluster, 86400000 in the manifests"
        in r.stdout
    )

    out = ws.root / "imported"
    r = ws.cli("import", "--out", str(out), "--include", f"{ws.prefix}*")
    assert r.returncode == 0, r.stderr
    docs = [d for f in sorted(out.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Service", svc) in kinds and ("AccessPolicy", svc) in kinds and ("Topic", orders) in kinds
    topic_doc = next(d for d in docs if d["kind"] == "Topic" and d["metadata"]["name"] == orders)
    assert topic_doc["spec"] == {
        "partitions": 2,
        "replicationFactor": 1,
        "configs": {"retention.ms": 3600000},
    }
    # the imported manifests, as a workspace of their own, describe the cluster exactly
    for old in (ws.root / "topology").glob("*.yaml"):
        old.unlink()
    for f in out.glob("*.yaml"):
        f.rename(ws.root / "topology" / f.name)
    r = ws.cli("plan", "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr


def test_local_context_starts_the_embedded_broker_and_converges(tmp_path: Path) -> None:
    from evtctl.broker.daemon import stop_daemon

    ws = Ws(tmp_path / "local", "unused:1", None, "loc-")
    ws.config["spec"] = {"managed": {"tenantPrefixes": ["loc-"]}}  # default context: local
    t = ws.topic("orders", 2, retention_ms="1d")
    svc = ws.name("svc")
    ws.add("Principal", svc, {"mechanism": "PLAIN"})
    ws.add("Service", svc, {"principal": svc, "produces": [t]})
    ws.write()
    try:
        r = ws.cli("apply", "--auto-approve")
        assert r.returncode == 0, r.stdout + r.stderr
        assert (ws.root / ".evtctl").is_dir()
        r = ws.cli("plan", "--detailed-exitcode")
        assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
    finally:
        stop_daemon(ws.root / ".evtctl")


def test_plan_read_before_the_manifests_load_matches_a_read_after(
    ws: Ws, broker: BrokerProcess, tmp_path: Path
) -> None:
    """`evtctl plan` starts reading the cluster from evtctl.yaml before the manifests load; what it
    saves must be what a read made with the manifests in hand sees: configs of other teams' topics
    and levels of their subjects are not part of it, so the saved plan is not stale."""
    from confluent_kafka.admin import NewTopic
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    from evtctl.plan.session import load_plan, staleness
    from evtctl.plan.state import fingerprint
    from tests.plan.helpers import open_target, plan_result

    mine = ws.topic("early", 1, retention_ms="2d")
    schema = ws.schema("early.avsc", avro_record("Early", ("id", "string")))
    ws.add("Subject", ws.name("early"), {"topic": mine, "value": {"schema": schema}, "compatibility": "FULL"})
    assert ws.cli("apply", "--auto-approve").returncode == 0
    foreign = f"foreign-{ws.prefix}topic"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    (fut,) = admin.create_topics([NewTopic(foreign, 1, 1, config={"retention.ms": "3600000"})]).values()
    fut.result(10)
    registry = SchemaRegistryClient({"url": broker.registry_url})
    registry.register_schema(f"{foreign}-value", Schema(avro_record("Foreign", ("x", "long")), "AVRO"))
    registry.set_compatibility(f"{foreign}-value", "NONE")

    ws.topic("early", 1, retention_ms="3d")
    plan_file = tmp_path / "plan.json"
    r = ws.cli("plan", "--out", str(plan_file))
    assert r.returncode == 0, r.stderr
    saved = load_plan(plan_file)
    assert [c.address for c in saved.plan.changes] == [f"topic/{mine}"]
    library = plan_result(ws)  # read after loading, with the plan's predicates
    assert saved.fingerprint == library.fingerprint
    assert saved.config_topics is not None and foreign not in saved.config_topics
    assert saved.level_subjects is not None and f"{foreign}-value" not in saved.level_subjects
    target = open_target(ws)
    try:
        assert staleness(saved.fingerprint, fingerprint(saved.read_live(target))) == []
    finally:
        target.close()
    r = ws.cli("apply", str(plan_file), "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
