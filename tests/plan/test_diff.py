"""The pure diff: every change kind and risk class, deletion guards, determinism (no cluster)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evtctl.kafka.topic_configs import normalize
from evtctl.plan.diff import DiffOptions, diff, loosens
from evtctl.plan.model import Action, Plan, Risk
from evtctl.plan.scope import KindScope, Scopes, is_internal_topic
from evtctl.plan.state import (
    AclBindingState,
    ClusterState,
    ConsumerGroupState,
    QuotaState,
    Resource,
    SchemaVersion,
    ScramUserState,
    SubjectState,
    TopicState,
    fingerprint,
)

ALL = Scopes.everything()


def topic(
    name: str, partitions: int = 3, replication: int | None = 1, keyed: bool = False, **configs: object
) -> TopicState:
    norm = {k.replace("_", "."): normalize(k.replace("_", "."), v) for k, v in configs.items()}
    return TopicState(name, partitions, replication, tuple(sorted(norm.items())), keyed=keyed)


def state(*resources: Resource, kinds: Sequence[str] | None = None) -> ClusterState:
    if kinds is None:
        return ClusterState.build(resources)
    return ClusterState.build(resources, kinds=kinds)


def only(plan: Plan) -> tuple[Action, Risk]:
    assert len(plan.changes) == 1, plan
    return plan.changes[0].action, plan.changes[0].risk


def test_identical_state_is_empty_plan() -> None:
    t = topic("orders", 6, retention_ms="7d")
    plan = diff(state(t), state(topic("orders", 6, retention_ms=604800000)), ALL)
    assert plan.changes == () and plan.errors == ()


def test_units_normalized_so_7d_equals_millis() -> None:
    assert topic("a", retention_ms="7d") == topic("a", retention_ms="604800000")


def test_create_topic_is_safe() -> None:
    plan = diff(state(topic("orders")), state(), ALL)
    assert only(plan) == (Action.CREATE, Risk.SAFE)
    assert plan.changes[0].after is not None and plan.changes[0].after["partitions"] == 3


def test_partition_increase_unkeyed_safe_keyed_needs_approval() -> None:
    live = state(topic("orders", 3))
    assert only(diff(state(topic("orders", 6)), live, ALL)) == (Action.UPDATE, Risk.SAFE)
    plan = diff(state(topic("orders", 6, keyed=True)), live, ALL)
    assert only(plan) == (Action.UPDATE, Risk.NEEDS_APPROVAL)
    assert "ordering" in plan.changes[0].reasons[0]


def test_partition_decrease_is_impossible_with_recipe_and_no_change() -> None:
    plan = diff(state(topic("orders", 2)), state(topic("orders", 6)), ALL)
    assert plan.changes == ()
    (err,) = plan.errors
    assert err.risk is Risk.IMPOSSIBLE and err.address == "topic/orders"
    assert err.recipe and "new topic" in err.recipe and "never deletes and recreates" in err.recipe


def test_partition_increase_without_create_partitions_api_is_an_error() -> None:
    plan = diff(
        state(topic("orders", 6)),
        state(topic("orders", 3)),
        ALL,
        DiffOptions(unsupported_ops=frozenset({"CreatePartitions"})),
    )
    assert plan.changes == () and "CreatePartitions" in plan.errors[0].message


def test_replication_change_is_impossible() -> None:
    plan = diff(state(topic("orders", replication=3)), state(topic("orders", replication=1)), ALL)
    assert plan.errors[0].risk is Risk.IMPOSSIBLE and "replication" in plan.errors[0].message


def test_unspecified_replication_is_not_a_diff() -> None:
    assert (
        diff(state(topic("orders", replication=None)), state(topic("orders", replication=3)), ALL).changes
        == ()
    )


@pytest.mark.parametrize(
    ("before", "after", "risk"),
    [
        ({"retention_ms": "7d"}, {"retention_ms": "1d"}, Risk.DATA_LOSS),
        ({"retention_ms": "1d"}, {"retention_ms": "7d"}, Risk.SAFE),
        ({"retention_ms": -1}, {"retention_ms": "30d"}, Risk.DATA_LOSS),
        ({"retention_ms": "30d"}, {"retention_ms": -1}, Risk.SAFE),
        ({"retention_ms": "30d"}, {}, Risk.DATA_LOSS),  # removing the override falls back to 7d
        ({}, {"retention_bytes": "1GiB"}, Risk.DATA_LOSS),  # default -1 is unlimited
        ({}, {"cleanup_policy": "compact"}, Risk.DATA_LOSS),
        ({"cleanup_policy": "compact"}, {}, Risk.DATA_LOSS),
        ({}, {"segment_bytes": "512MiB"}, Risk.SAFE),
        ({"min_insync_replicas": 2}, {"min_insync_replicas": 1}, Risk.SAFE),
    ],
)
def test_config_risk(before: dict[str, object], after: dict[str, object], risk: Risk) -> None:
    plan = diff(state(topic("t", **after)), state(topic("t", **before)), ALL)
    assert only(plan) == (Action.UPDATE, risk)


def test_override_equal_to_default_is_not_a_diff() -> None:
    assert diff(state(topic("t", retention_ms="7d")), state(topic("t")), ALL).changes == ()


def test_cleanup_policy_order_is_a_set() -> None:
    a = topic("t", cleanup_policy="compact,delete")
    b = topic("t", cleanup_policy=["delete", "compact"])
    assert diff(state(a), state(b), ALL).changes == ()


def test_only_changed_fields_reported() -> None:
    plan = diff(
        state(topic("t", 3, retention_ms="2d", segment_ms="1h")),
        state(topic("t", 3, retention_ms="2d", segment_ms="2h")),
        ALL,
    )
    assert [f.field for f in plan.changes[0].fields] == ["config.segment.ms"]


def test_delete_withheld_without_allow_delete() -> None:
    plan = diff(state(), state(topic("old")), ALL)
    assert plan.changes == ()
    assert plan.withheld[0].address == "topic/old" and "--allow-delete" in plan.withheld[0].reason


def test_delete_with_allow_delete_is_data_loss() -> None:
    plan = diff(state(), state(topic("old")), ALL, DiffOptions(allow_delete=True))
    assert only(plan) == (Action.DELETE, Risk.DATA_LOSS)


def test_delete_outside_scope_never_happens() -> None:
    scopes = Scopes({"topic": KindScope(include=("team-a.*",))})
    plan = diff(
        state(), state(topic("team-b.orders"), topic("team-a.old")), scopes, DiffOptions(allow_delete=True)
    )
    assert [c.address for c in plan.changes] == ["topic/team-a.old"]
    assert plan.withheld == ()  # out of scope: not ours, not even listed


def test_exclude_pattern_wins() -> None:
    scopes = Scopes({"topic": KindScope(include=("*",), exclude=("keep.*",))})
    plan = diff(state(), state(topic("keep.x"), topic("drop.x")), scopes, DiffOptions(allow_delete=True))
    assert [c.name for c in plan.changes] == ["drop.x"]


@pytest.mark.parametrize(
    "name",
    [
        "__consumer_offsets",
        "__transaction_state",
        "_schemas",
        "_confluent-metrics",
        "connect-offsets",
        "my-connect-configs",
        "app-KSTREAM-AGGREGATE-0000000003-repartition",
        "app-store-changelog",
    ],
)
def test_internal_topics_never_deleted(name: str) -> None:
    assert is_internal_topic(name)
    plan = diff(state(), state(topic(name)), ALL, DiffOptions(allow_delete=True))
    assert plan.changes == () and plan.withheld == ()


def test_ordinary_topic_not_internal() -> None:
    assert not is_internal_topic("orders.created")


def test_deletion_policy_deletes_without_flag() -> None:
    scopes = Scopes({"topic": KindScope(include=("*",), deletion="delete")})
    assert only(diff(state(), state(topic("x")), scopes)) == (Action.DELETE, Risk.DATA_LOSS)


def test_tombstone_deletes_without_flag() -> None:
    plan = diff(state(topic("x")), state(topic("x")), Scopes(), DiffOptions(absent=frozenset({"topic/x"})))
    assert only(plan) == (Action.DELETE, Risk.DATA_LOSS)


def test_max_deletes() -> None:
    live = state(topic("a"), topic("b"), topic("c"))
    plan = diff(state(), live, ALL, DiffOptions(allow_delete=True, max_deletes=2))
    assert (
        len(plan.changes) == 3
        and plan.errors[0].address == "plan"
        and "--max-deletes 2" in plan.errors[0].message
    )
    assert diff(state(), live, ALL, DiffOptions(allow_delete=True, max_deletes=3)).errors == ()


def test_targets_limit_scope() -> None:
    plan = diff(state(topic("a"), topic("b")), state(), ALL, DiffOptions(targets=frozenset({"topic/b"})))
    assert [c.name for c in plan.changes] == ["b"]


def acl(principal: str = "User:alice", op: str = "READ", name: str = "orders") -> AclBindingState:
    return AclBindingState(principal, "TOPIC", name, "LITERAL", op, "ALLOW")


def test_acl_create_safe_and_removal_needs_approval_without_allow_delete() -> None:
    assert only(diff(state(acl()), state(), ALL)) == (Action.CREATE, Risk.SAFE)
    assert only(diff(state(), state(acl()), ALL)) == (Action.DELETE, Risk.NEEDS_APPROVAL)
    assert diff(state(acl()), state(acl()), ALL).changes == ()


def test_acl_scope_by_principal() -> None:
    scopes = Scopes({"acl": KindScope(include=("User:team-a-*",))})
    plan = diff(state(), state(acl("User:team-a-svc"), acl("User:other")), scopes)
    assert [c.name for c in plan.changes] == [acl("User:team-a-svc").key]


def test_quota_create_update_delete() -> None:
    q1 = QuotaState((("user", "alice"),), (("producer_byte_rate", 1024.0),))
    q2 = QuotaState((("user", "alice"),), (("producer_byte_rate", 2048.0), ("consumer_byte_rate", 10.0)))
    assert only(diff(state(q1), state(), ALL)) == (Action.CREATE, Risk.SAFE)
    plan = diff(state(q2), state(q1), ALL)
    assert only(plan) == (Action.UPDATE, Risk.SAFE)
    assert {f.field for f in plan.changes[0].fields} == {"producer_byte_rate", "consumer_byte_rate"}
    assert only(diff(state(), state(q1), ALL)) == (Action.DELETE, Risk.SAFE)


def test_scram_user() -> None:
    u = ScramUserState("alice", "SCRAM-SHA-256", 8192, password_env="ALICE_PW")
    assert only(diff(state(u), state(), ALL)) == (Action.CREATE, Risk.SAFE)
    assert diff(state(u), state(ScramUserState("alice", "SCRAM-SHA-256", 8192)), ALL).changes == ()
    assert (
        only(diff(state(u), state(ScramUserState("alice", "SCRAM-SHA-256", 4096)), ALL))[0] is Action.UPDATE
    )
    assert diff(state(), state(u), ALL).withheld  # deleting a user is guarded
    assert only(diff(state(), state(u), ALL, DiffOptions(allow_delete=True))) == (
        Action.DELETE,
        Risk.NEEDS_APPROVAL,
    )


def sv(text: str, version: int = 1) -> SchemaVersion:
    return SchemaVersion(version, "AVRO", text, text)


def subject(name: str, *texts: str, compat: str | None = None) -> SubjectState:
    return SubjectState(name, tuple(sv(t, i + 1) for i, t in enumerate(texts)), compat)


def test_subject_create_unchanged_and_new_version() -> None:
    assert only(diff(state(subject("s-value", "A")), state(), ALL)) == (Action.CREATE, Risk.SAFE)
    assert diff(state(subject("s-value", "A")), state(subject("s-value", "A")), ALL).changes == ()
    # already registered as an older version: the registry would return it, no new version
    assert diff(state(subject("s-value", "A")), state(subject("s-value", "A", "B")), ALL).changes == ()
    plan = diff(state(subject("s-value", "C")), state(subject("s-value", "A", "B")), ALL)
    assert only(plan) == (Action.UPDATE, Risk.SAFE)


def test_incompatible_schema_is_plan_error_with_reasons() -> None:
    seen: list[tuple[str, int, str]] = []

    def checker(candidate: SchemaVersion, history: Sequence[SchemaVersion], level: str) -> list[str]:
        seen.append((candidate.canonical, len(history), level))
        return ["/fields/amount: field amount was removed without a default"]

    plan = diff(
        state(subject("s-value", "C", compat="FULL")),
        state(subject("s-value", "A", "B")),
        ALL,
        DiffOptions(compat_checker=checker),
    )
    assert plan.changes == ()
    assert plan.errors[0].details == ("/fields/amount: field amount was removed without a default",)
    assert seen == [("C", 2, "FULL")]


def test_compat_level_uses_live_then_global() -> None:
    levels: list[str] = []

    def checker(candidate: SchemaVersion, history: Sequence[SchemaVersion], level: str) -> list[str]:
        levels.append(level)
        return []

    opts = DiffOptions(compat_checker=checker)
    diff(state(subject("s", "B")), state(subject("s", "A", compat="FORWARD")), ALL, opts)
    diff(state(subject("s", "B")), state(subject("s", "A")), ALL, opts)
    assert levels == ["FORWARD", "BACKWARD"]


@pytest.mark.parametrize(
    ("before", "after", "loosened"),
    [
        ("BACKWARD", "NONE", True),
        ("FULL", "BACKWARD", True),
        ("BACKWARD_TRANSITIVE", "BACKWARD", True),
        ("BACKWARD", "FORWARD", True),
        ("BACKWARD", "FULL", False),
        ("NONE", "BACKWARD", False),
        ("FULL", "FULL_TRANSITIVE", False),
    ],
)
def test_loosens(before: str, after: str, loosened: bool) -> None:
    assert loosens(before, after) is loosened


def test_compat_loosened_needs_approval() -> None:
    plan = diff(state(subject("s", "A", compat="NONE")), state(subject("s", "A", compat="FULL")), ALL)
    assert only(plan) == (Action.UPDATE, Risk.NEEDS_APPROVAL)
    plan = diff(state(subject("s", "A", compat="FULL")), state(subject("s", "A")), ALL)
    assert only(plan) == (Action.UPDATE, Risk.SAFE)


def test_subject_delete_is_data_loss_and_guarded() -> None:
    assert diff(state(), state(subject("s", "A")), ALL).withheld
    assert only(diff(state(), state(subject("s", "A")), ALL, DiffOptions(allow_delete=True))) == (
        Action.DELETE,
        Risk.DATA_LOSS,
    )


def test_consumer_group_only_deleted() -> None:
    g = ConsumerGroupState("g1")
    assert diff(state(g), state(), ALL).changes == ()
    assert only(diff(state(), state(g), ALL, DiffOptions(allow_delete=True))) == (
        Action.DELETE,
        Risk.DATA_LOSS,
    )


def test_kind_the_cluster_cannot_manage_is_a_warning_not_a_crash() -> None:
    live = state(topic("t"), kinds=("topic",))
    plan = diff(state(topic("t"), acl()), live, ALL)
    assert plan.changes == () and "cannot manage acls" in plan.warnings[0]


def test_plan_is_sorted_and_deterministic() -> None:
    desired = state(acl("User:b"), topic("z"), topic("a"), subject("s", "A"), acl("User:a"))
    p1 = diff(desired, state(), ALL)
    p2 = diff(
        state(*reversed([*desired.topics.values(), *desired.acls.values(), *desired.subjects.values()])),
        state(),
        ALL,
    )
    assert p1 == p2
    assert [c.kind for c in p1.changes] == ["topic", "topic", "acl", "acl", "subject"]
    assert [c.name for c in p1.changes][:2] == ["a", "z"]


def test_plan_json_round_trip() -> None:
    plan = diff(
        state(topic("t", 6, keyed=True), acl()),
        state(topic("t", 3), topic("u")),
        ALL,
        DiffOptions(allow_delete=True),
    )
    assert Plan.from_json(plan.to_json()) == plan


def test_fingerprint_changes_with_live_state() -> None:
    a = fingerprint(state(topic("t", 3)))
    b = fingerprint(state(topic("t", 4)))
    assert a.keys() == b.keys() and a != b
    assert fingerprint(state(topic("t", 3))) == a
