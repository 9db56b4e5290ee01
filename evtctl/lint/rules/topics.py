"""Topic configuration: partitions, replication, durability, retention and compaction."""

from __future__ import annotations

from collections.abc import Iterator

from evtctl.kafka import topic_configs
from evtctl.kafka.units import format_duration_ms
from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, finding, rule
from evtctl.manifest.model import Topic

_CONFIGS = ("spec", "configs")


def effective(topic: Topic, name: str) -> str:
    """The topic's value for a config, or Kafka's default when the manifest leaves it unset."""
    value = topic.config(name)
    return value if value is not None else topic_configs.lookup(name).default


def retention_ms(topic: Topic) -> int:
    """Effective ``retention.ms``; -1 means unlimited."""
    return int(effective(topic, "retention.ms"))


def deletes_by_time(topic: Topic) -> bool:
    return "delete" in effective(topic, "cleanup.policy").split(",")


@rule(
    "EVT101",
    "replication-factor-low",
    family="topic",
    severity=Severity.WARNING,
    summary="Topics are replicated at least `min_replication_factor` times (default 3).",
    rationale="""
        With fewer than three replicas a single broker failure either loses data (factor 1) or
        leaves no room for a second failure during maintenance (factor 2). Use an environment
        overlay to lower it for local development instead of lowering it everywhere.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6, replicationFactor: 1}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6, replicationFactor: 3}
    """,
    options={"min_replication_factor": 3},
)
def replication_factor_low(ctx: LintContext) -> Iterator[Finding]:
    minimum = int(ctx.option(replication_factor_low, "min_replication_factor"))
    for topic in ctx.workspace.topics:
        if 0 < topic.replication_factor < minimum:
            yield finding(
                topic,
                f"Topic {topic.name!r} has replication factor {topic.replication_factor}, below {minimum}.",
                at=("spec", "replicationFactor"),
                help=f"set spec.replicationFactor to at least {minimum}",
            )


@rule(
    "EVT102",
    "min-insync-unsatisfiable",
    family="topic",
    severity=Severity.ERROR,
    summary="min.insync.replicas stays below the replication factor.",
    rationale="""
        Producers with acks=all need min.insync.replicas replicas in sync. If that equals the
        replication factor, one broker restart blocks every write; if it exceeds it, the topic can
        never be written at all.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          replicationFactor: 3
          configs: {min.insync.replicas: 3}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          replicationFactor: 3
          configs: {min.insync.replicas: 2}
    """,
)
def min_insync_unsatisfiable(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        raw = topic.config("min.insync.replicas")
        rf = topic.replication_factor
        if raw is None or rf <= 0:
            continue
        isr = int(raw)
        if isr > rf or (isr == rf and rf > 1):
            effect = (
                "can never accept acks=all writes"
                if isr > rf
                else "rejects acks=all writes whenever one replica is down"
            )
            yield finding(
                topic,
                f"Topic {topic.name!r} has min.insync.replicas={isr} "
                f"with replication factor {rf}: it {effect}.",
                at=(*_CONFIGS, "min.insync.replicas"),
                help=f"set min.insync.replicas to {max(1, rf - 1)} (replication factor minus one)",
            )


@rule(
    "EVT103",
    "min-insync-weak",
    family="topic",
    severity=Severity.WARNING,
    summary="Replicated topics set min.insync.replicas to at least 2.",
    rationale="""
        With the default min.insync.replicas=1, acks=all is acknowledged by the leader alone, so a
        leader crash right after the acknowledgement loses the write despite three replicas.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6, replicationFactor: 3}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          replicationFactor: 3
          configs: {min.insync.replicas: 2}
    """,
)
def min_insync_weak(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if topic.replication_factor >= 3 and int(effective(topic, "min.insync.replicas")) < 2:
            yield finding(
                topic,
                f"Topic {topic.name!r} is replicated {topic.replication_factor} times "
                "but acknowledges writes with one in-sync replica.",
                at=_CONFIGS
                if topic.config("min.insync.replicas") is None
                else (*_CONFIGS, "min.insync.replicas"),
                help="set configs.min.insync.replicas: 2",
            )


@rule(
    "EVT104",
    "partitions-excessive",
    family="topic",
    severity=Severity.WARNING,
    summary="Partition counts stay within `max_partitions` (default 1000).",
    rationale="""
        Every partition costs file handles, memory and leader elections on the brokers, and
        partitions can never be reduced; very high counts are usually a units mistake.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 5000}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 24}
    """,
    options={"max_partitions": 1000},
)
def partitions_excessive(ctx: LintContext) -> Iterator[Finding]:
    maximum = int(ctx.option(partitions_excessive, "max_partitions"))
    for topic in ctx.workspace.topics:
        if topic.partitions > maximum:
            yield finding(
                topic,
                f"Topic {topic.name!r} has {topic.partitions} partitions, more than {maximum}.",
                at=("spec", "partitions"),
                help="size partitions to peak throughput divided by per-consumer throughput",
            )


@rule(
    "EVT105",
    "unclean-leader-election",
    family="topic",
    severity=Severity.ERROR,
    summary="unclean.leader.election.enable is not turned on.",
    rationale="""
        Unclean leader election lets an out-of-sync replica become leader, silently discarding
        acknowledged writes. It trades data loss for availability; event logs should not.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          configs: {unclean.leader.election.enable: true}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6}
    """,
)
def unclean_leader_election(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if topic.config("unclean.leader.election.enable") == "true":
            yield finding(
                topic,
                f"Topic {topic.name!r} enables unclean leader election, which can lose acknowledged writes.",
                at=(*_CONFIGS, "unclean.leader.election.enable"),
                help="remove unclean.leader.election.enable",
            )


@rule(
    "EVT106",
    "retention-unset",
    family="topic",
    severity=Severity.WARNING,
    summary="Time-retained topics set retention.ms explicitly.",
    rationale="""
        Without retention.ms a topic silently inherits the broker default (7 days on stock Kafka,
        anything on a managed cluster); how long events can be replayed is a contract and belongs
        in the manifest.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          configs: {retention.ms: 7d}
    """,
)
def retention_unset(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if deletes_by_time(topic) and topic.config("retention.ms") is None:
            yield finding(
                topic,
                f"Topic {topic.name!r} does not set retention.ms and inherits the broker default.",
                at=("spec",),
                help="set configs.retention.ms, e.g. 7d",
            )


@rule(
    "EVT107",
    "retention-unbounded",
    family="topic",
    severity=Severity.WARNING,
    summary="Delete-policy topics with unlimited time retention bound their size.",
    rationale="""
        retention.ms=-1 on a delete-policy topic with no retention.bytes keeps every event forever
        and grows until a disk fills. Use compaction for state, or set a size bound.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.audit}
        spec:
          partitions: 6
          configs: {retention.ms: -1}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.audit}
        spec:
          partitions: 6
          configs: {retention.ms: -1, retention.bytes: 100GiB}
    """,
)
def retention_unbounded(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if (
            deletes_by_time(topic)
            and retention_ms(topic) < 0
            and int(effective(topic, "retention.bytes")) < 0
        ):
            yield finding(
                topic,
                f"Topic {topic.name!r} keeps events forever with no size bound.",
                at=(*_CONFIGS, "retention.ms"),
                help="set retention.bytes, a finite retention.ms, or cleanup.policy: compact",
            )


@rule(
    "EVT108",
    "retention-too-short",
    family="topic",
    severity=Severity.WARNING,
    summary="retention.ms is at least `min_retention` (default 1 hour).",
    rationale="""
        A consumer that is down longer than the retention period loses events without noticing.
        Very short retention is almost always a unit mistake (milliseconds for seconds).
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          configs: {retention.ms: 60000}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec:
          partitions: 6
          configs: {retention.ms: 3d}
    """,
    options={"min_retention": "1h"},
)
def retention_too_short(ctx: LintContext) -> Iterator[Finding]:
    from evtctl.kafka.units import parse_duration_ms

    minimum = parse_duration_ms(ctx.option(retention_too_short, "min_retention"))
    for topic in ctx.workspace.topics:
        value = retention_ms(topic)
        if deletes_by_time(topic) and 0 <= value < minimum:
            yield finding(
                topic,
                f"Topic {topic.name!r} keeps events for only {format_duration_ms(value)}.",
                at=(*_CONFIGS, "retention.ms"),
                help=f"retain for at least {format_duration_ms(minimum)} so restarted consumers catch up",
            )


@rule(
    "EVT109",
    "segment-exceeds-retention",
    family="topic",
    severity=Severity.WARNING,
    summary="segment.ms is not longer than retention.ms.",
    rationale="""
        Kafka deletes whole closed segments. When a segment stays open longer than the retention
        period, events outlive their retention by up to segment.ms, which breaks deletion promises.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.sessions}
        spec:
          partitions: 6
          configs: {retention.ms: 1d}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.sessions}
        spec:
          partitions: 6
          configs: {retention.ms: 1d, segment.ms: 6h}
    """,
)
def segment_exceeds_retention(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        retention = retention_ms(topic)
        segment = int(effective(topic, "segment.ms"))
        if deletes_by_time(topic) and retention > 0 and segment > retention:
            yield finding(
                topic,
                f"Topic {topic.name!r} rolls segments every {format_duration_ms(segment)}, "
                f"longer than its retention of {format_duration_ms(retention)}.",
                at=(*_CONFIGS, "segment.ms") if topic.config("segment.ms") else (*_CONFIGS, "retention.ms"),
                help="set segment.ms to a fraction of retention.ms",
            )


@rule(
    "EVT110",
    "compaction-without-key-schema",
    family="topic",
    severity=Severity.ERROR,
    summary="Compacted topics bind a key schema.",
    rationale="""
        Compaction keeps the latest record per key, so the key is the identity of the data. Without
        a key contract producers can key inconsistently and compaction silently drops real state.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.customers}
        spec:
          partitions: 6
          configs: {cleanup.policy: compact}
        ---
        kind: Subject
        metadata: {name: shop.customers}
        spec:
          topic: shop.customers
          value: {schema: schemas/customer.avsc}
    """,
    good="""
        kind: Subject
        metadata: {name: shop.customers}
        spec:
          topic: shop.customers
          key: {schema: schemas/customer-key.avsc}
          value: {schema: schemas/customer.avsc}
    """,
)
def compaction_without_key_schema(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if topic.compacted and ctx.index.key_ref(topic.name) is None:
            yield finding(
                topic,
                f"Topic {topic.name!r} is compacted but has no key schema.",
                at=(*_CONFIGS, "cleanup.policy"),
                help="bind a key schema in the topic's Subject (spec.key)",
            )
