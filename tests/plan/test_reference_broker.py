"""Plan and apply against the bundled reference broker and registry, checked with real clients."""

from __future__ import annotations

import json

from confluent_kafka.admin import AdminClient, ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient

from evtctl.plan.desired import desired_state
from evtctl.plan.model import Action, Risk
from evtctl.plan.session import make_plan
from tests.plan.helpers import apply_ws, by_address, open_target, plan_of
from tests.plan.workspace import Ws, avro_record
from tests.support.broker import BrokerProcess


def admin(broker: BrokerProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def dynamic_configs(broker: BrokerProcess, topic: str) -> dict[str, str]:
    client = admin(broker)  # keep the handle alive until the future resolves
    (fut,) = client.describe_configs([ConfigResource("TOPIC", topic)]).values()
    return {k: e.value for k, e in fut.result(10).items() if e.source == 1}  # DYNAMIC_TOPIC_CONFIG


def full_workspace(ws: Ws) -> dict[str, str]:
    orders = ws.topic("orders", 3, retention_ms="7d", cleanup_policy="delete")
    ws.topic("audit", 1, retention_bytes="1GiB", segment_ms="1h")
    svc = ws.name("svc")
    ws.add("Principal", svc, {"mechanism": "SCRAM-SHA-256"})
    ws.add(
        "Service",
        svc,
        {"principal": svc, "produces": [orders], "consumerGroup": ws.name("g"), "consumes": [orders]},
    )
    ws.add(
        "AccessPolicy",
        ws.name("ops"),
        {
            "principal": svc,
            "rules": [
                {
                    "resourceType": "TOPIC",
                    "name": ws.name(""),
                    "patternType": "PREFIXED",
                    "operations": ["DESCRIBE"],
                }
            ],
        },
    )
    ws.add("Quota", ws.name("q"), {"user": svc, "producerByteRate": "1MiB", "consumerByteRate": 2048})
    money = ws.schema("money.avsc", avro_record("Money", ("amount", "long")))
    ws.add("Subject", ws.name("money"), {"topic": orders, "key": {"schema": money}, "compatibility": "FULL"})
    schema = ws.schema("order.avsc", avro_record("Order", ("id", "string"), ("note", ["null", "string"])))
    ws.add(
        "Subject",
        ws.name("orders"),
        {"topic": orders, "value": {"schema": schema}, "compatibility": "BACKWARD"},
    )
    return {"EVTCTL_SCRAM_PASSWORD_" + svc.upper().replace("-", "_"): "s3cret-pw"}


def test_every_kind_applied_then_second_plan_empty(ws: Ws, broker: BrokerProcess) -> None:
    env = full_workspace(ws)
    plan = plan_of(ws, env)
    kinds = {c.kind for c in plan.changes}
    assert kinds == {"topic", "acl", "quota", "user", "subject"}
    assert all(c.action is Action.CREATE and c.risk is Risk.SAFE for c in plan.changes)
    report = apply_ws(ws, env)
    assert report.ok and len(report.applied) == len(plan.changes)

    # judged by real clients, not by our own reader
    orders = ws.name("orders")
    meta = admin(broker).list_topics(timeout=10)
    assert len(meta.topics[orders].partitions) == 3
    assert dynamic_configs(broker, orders) == {"retention.ms": "604800000", "cleanup.policy": "delete"}
    sr = SchemaRegistryClient({"url": broker.registry_url})
    latest = sr.get_latest_version(f"{orders}-value")
    assert json.loads(latest.schema.schema_str)["name"] == "Order"
    assert sr.get_compatibility(f"{orders}-key") == "FULL"
    assert second_plan_is_empty(ws, env)


def second_plan_is_empty(ws: Ws, env: dict[str, str]) -> bool:
    plan = plan_of(ws, env)
    return plan.changes == () and plan.errors == ()


def test_every_live_read_keys_its_resources_as_the_state_does(ws: Ws) -> None:
    """The live state is assembled from the reads' tables as they come (ClusterState.of_tables):
    each read must key its resources exactly as ClusterState.build would."""
    from evtctl.plan.state import KINDS, ClusterState

    env = full_workspace(ws)
    assert apply_ws(ws, env).ok
    target = open_target(ws)
    try:
        live = target.read_live(KINDS, user_names=[ws.name("svc")])
    finally:
        target.close()
    resources = [r for kind in live.kinds for r in live.of_kind(kind).values()]
    assert {"topic", "acl", "quota", "user", "subject"} <= {k for k in live.kinds if live.of_kind(k)}
    rebuilt = ClusterState.build(
        resources, kinds=live.kinds, registry_compatibility=live.registry_compatibility
    )
    assert rebuilt == live


def test_units_defaults_and_synonyms_never_diff(ws: Ws, broker: BrokerProcess) -> None:
    t = ws.topic("units", 1, retention_ms="7d", max_message_bytes="1MiB", min_insync_replicas=1)
    assert apply_ws(ws).ok
    ws.topic("units", 1, retention_ms=604800000, max_message_bytes=1048576, min_insync_replicas="1")
    assert plan_of(ws).changes == ()
    assert dynamic_configs(broker, t)["retention.ms"] == "604800000"


def test_risk_classes_on_a_live_cluster(ws: Ws) -> None:
    keyed = ws.topic("keyed", 2)
    svc = ws.name("p")
    ws.add("Principal", svc, {"mechanism": "PLAIN"})
    ws.add("Service", svc, {"principal": svc, "produces": [{"topic": keyed, "partitionKey": "id"}]})
    plain = ws.topic("plain", 2, retention_ms="7d")
    policy = ws.topic("policy", 1)
    shrink = ws.topic("shrink", 4)
    rules = [{"resourceType": "TOPIC", "name": plain, "operations": ["READ"]}]
    ws.add("AccessPolicy", ws.name("readers"), {"principal": svc, "rules": rules})
    assert apply_ws(ws).ok

    ws.topic("keyed", 4)
    ws.topic("plain", 3, retention_ms="1d")
    ws.topic("policy", 1, cleanup_policy="compact")
    ws.topic("shrink", 2)
    ws.remove("AccessPolicy", ws.name("readers"))  # revoking access needs approval
    plan = plan_of(ws)
    changes = by_address(plan)
    assert changes[f"topic/{keyed}"].risk is Risk.NEEDS_APPROVAL
    assert "ordering" in " ".join(changes[f"topic/{keyed}"].reasons)
    assert changes[f"topic/{plain}"].risk is Risk.DATA_LOSS  # retention 7d -> 1d
    assert changes[f"topic/{policy}"].risk is Risk.DATA_LOSS
    acl_removals = [c for c in plan.changes if c.kind == "acl"]
    assert acl_removals and all(
        c.action is Action.DELETE and c.risk is Risk.NEEDS_APPROVAL for c in acl_removals
    )
    (err,) = plan.errors
    assert (
        err.address == f"topic/{shrink}" and err.risk is Risk.IMPOSSIBLE and "new topic" in (err.recipe or "")
    )
    assert f"topic/{shrink}" not in changes  # never delete-and-recreate


def test_replication_change_is_impossible(ws: Ws) -> None:
    t = ws.topic("rf", 1)
    assert apply_ws(ws).ok
    ws.add("Topic", t, {"partitions": 1, "replicationFactor": 3})
    (err,) = plan_of(ws).errors
    assert err.risk is Risk.IMPOSSIBLE and "replication" in err.message and err.recipe


def test_schema_compatibility_in_the_plan(ws: Ws) -> None:
    t = ws.topic("sc", 1)
    path = ws.schema("sc.avsc", avro_record("Sc", ("id", "string")))
    ws.add("Subject", ws.name("sc"), {"topic": t, "value": {"schema": path}, "compatibility": "BACKWARD"})
    assert apply_ws(ws).ok
    # a new required field without a default: old data cannot be read with the new schema
    ws.schema("sc.avsc", avro_record("Sc", ("id", "string"), ("total", "long")))
    plan = plan_of(ws)
    (err,) = plan.errors
    assert err.address == f"subject/{t}-value" and "BACKWARD" in err.message
    assert any("total" in d for d in err.details), err.details
    # an optional field is fine and becomes version 2
    ws.schema("sc.avsc", avro_record("Sc", ("id", "string"), ("note", ["null", "string"])))
    plan = plan_of(ws)
    assert not plan.errors and by_address(plan)[f"subject/{t}-value"].action is Action.UPDATE
    assert apply_ws(ws).ok and plan_of(ws).changes == ()
    # loosening the level needs approval
    ws.add("Subject", ws.name("sc"), {"topic": t, "value": {"schema": path}, "compatibility": "NONE"})
    change = by_address(plan_of(ws))[f"subject/{t}-value"]
    assert change.risk is Risk.NEEDS_APPROVAL and "loosened" in change.reasons[0]


def test_deletion_guards(ws: Ws, broker: BrokerProcess) -> None:
    keep = ws.topic("keep", 1)
    stray, foreign = ws.name("stray"), "other-team-topic-" + ws.prefix
    from confluent_kafka.admin import NewTopic

    client = admin(broker)
    futures = client.create_topics([NewTopic(n, 1, 1) for n in (stray, foreign)])
    for f in futures.values():
        f.result(10)
    assert apply_ws(ws).ok
    plan = plan_of(ws)
    assert plan.changes == ()
    assert [w.address for w in plan.withheld] == [f"topic/{stray}"]
    deleting = plan_of(ws, allow_delete=True)
    addresses = {c.address: c for c in deleting.changes}
    assert set(addresses) == {f"topic/{stray}"} and addresses[f"topic/{stray}"].risk is Risk.DATA_LOSS
    over = plan_of(ws, allow_delete=True, max_deletes=0)
    assert over.errors and "--max-deletes 0" in over.errors[0].message
    assert apply_ws(ws, allow_delete=True).ok
    topics = admin(broker).list_topics(timeout=10).topics
    assert stray not in topics and foreign in topics and keep in topics
    assert "_schemas" not in {c.name for c in deleting.changes}


def test_partial_failure_then_rerun_converges(ws: Ws) -> None:
    good = ws.topic("good", 2)
    bad = ws.name("bad")
    ws.add("Topic", bad, {"partitions": 1, "replicationFactor": 3})  # a one-node cluster refuses this
    report = apply_ws(ws)
    assert f"topic/{good}" in report.applied
    assert f"topic/{bad}" in report.failed and "replication" in report.failed[f"topic/{bad}"].lower()
    plan = plan_of(ws)
    assert [c.address for c in plan.changes] == [f"topic/{bad}"]
    ws.add("Topic", bad, {"partitions": 1, "replicationFactor": 1})
    assert apply_ws(ws).ok
    assert plan_of(ws).changes == ()


def round_trips_of_a_plan(ws: Ws) -> tuple[dict[str, int], int]:
    """The requests of one plan by source, and its number of changes."""
    target = open_target(ws)
    try:
        result = make_plan(desired_state(ws.load(), env={}), target)
        registry = target.registry.round_trips if target.registry else 0
        counts = {
            "total": target.round_trips,
            "kafka": target.kafka.round_trips,
            "registry": registry - target.level_reads,
            "registry levels": target.level_reads,
        }
        return counts, len(result.plan.changes)
    finally:
        target.close()


def test_round_trips_do_not_grow_with_the_number_of_topics(ws: Ws) -> None:
    ws.topic("rt-first", 1, retention_ms="2d")
    assert apply_ws(ws).ok
    before, changes = round_trips_of_a_plan(ws)
    assert changes == 0
    for i in range(30):
        ws.topic(f"rt{i}", 1, retention_ms="2d")
    assert apply_ws(ws).ok
    after, changes = round_trips_of_a_plan(ws)
    # 30 more topics with overrides on the cluster: the same handful of requests. (Level reads are
    # only for this workspace's subjects, so subjects other tests left in the shared registry do not
    # count; the kinds in the managed scope are all read: topics, ACLs, users, quotas, groups, subjects.)
    assert changes == 0 and after == before, (before, after)
    assert before == {"total": 10, "kafka": 6, "registry": 3, "registry levels": 0}


def test_consumer_group_delete_is_guarded_data_loss(ws: Ws, broker: BrokerProcess) -> None:
    from confluent_kafka import Consumer, TopicPartition

    t = ws.topic("grp", 1)
    assert apply_ws(ws).ok
    group = ws.name("stray-group")
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        consumer.commit(offsets=[TopicPartition(t, 0, 0)], asynchronous=False)
    finally:
        consumer.close()
    plan = plan_of(ws)
    assert f"consumer-group/{group}" in [w.address for w in plan.withheld]
    change = by_address(plan_of(ws, allow_delete=True))[f"consumer-group/{group}"]
    assert change.action is Action.DELETE and change.risk is Risk.DATA_LOSS
    assert apply_ws(ws, allow_delete=True).ok
    client = admin(broker)
    groups = {g.group_id for g in client.list_consumer_groups().result(10).valid}
    assert group not in groups


def test_scram_user_is_created_with_its_mechanism(ws: Ws, broker: BrokerProcess) -> None:
    user = ws.name("scram")
    ws.add("Principal", user, {"mechanism": "SCRAM-SHA-512"})
    env = {"EVTCTL_SCRAM_PASSWORD_" + user.upper().replace("-", "_"): "pw-1234"}
    plan = plan_of(ws)  # no password in the environment: left alone, with a warning naming the variable
    assert plan.changes == () and any(next(iter(env)) in w for w in plan.warnings)
    assert apply_ws(ws, env).ok
    client = admin(broker)
    (fut,) = client.describe_user_scram_credentials([user]).values()
    (info,) = fut.result(10).scram_credential_infos
    assert info.mechanism.name == "SCRAM_SHA_512" and info.iterations == 8192
    assert plan_of(ws, env).changes == ()
