"""Delivery guarantees: duplicates, poison messages, transactions, tombstones, consumer groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from evtctl.kafka.units import format_duration_ms
from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, finding, rule
from evtctl.lint.rules.topics import retention_ms
from evtctl.manifest.model import Consumption, DeliveryGuarantee, OffsetReset

_ALO = DeliveryGuarantee.AT_LEAST_ONCE
_EO = DeliveryGuarantee.EFFECTIVELY_ONCE

# The good example of both EVT201 and EVT202: an at-least-once consumer needs both declarations.
_SAFE_AT_LEAST_ONCE = """
        kind: Service
        metadata: {name: inventory}
        spec:
          consumes:
            - topic: shop.orders.created
              deliveryGuarantee: at-least-once
              idempotencyKey: eventId
              deadLetterTopic: shop.inventory.dlq
    """


def _at_least_once_without(
    ctx: LintContext, declared: Callable[[Consumption], str | None], what: str, help: str
) -> Iterator[Finding]:
    """At-least-once consumptions for which ``declared`` gives nothing."""
    for service in ctx.workspace.services:
        for cons in service.consumes:
            if cons.delivery is _ALO and not declared(cons):
                yield finding(
                    service,
                    f"Service {service.name!r} consumes {cons.topic!r} at-least-once without {what}.",
                    location=cons.location,
                    help=help,
                )


@rule(
    "EVT201",
    "missing-idempotency-key",
    family="delivery",
    severity=Severity.ERROR,
    summary="At-least-once consumers declare an idempotency key.",
    rationale="""
        At-least-once means duplicates: after a rebalance or a crash before the offset commit, the
        same event is handled again. The handler must recognise repeats by a key (usually the event
        id), and declaring it makes the contract reviewable.
    """,
    bad="""
        kind: Service
        metadata: {name: inventory}
        spec:
          consumes:
            - {topic: shop.orders.created, deliveryGuarantee: at-least-once}
    """,
    good=_SAFE_AT_LEAST_ONCE,
)
def missing_idempotency_key(ctx: LintContext) -> Iterator[Finding]:
    yield from _at_least_once_without(
        ctx,
        lambda cons: cons.idempotency_key,
        "an idempotency key",
        "declare idempotencyKey (e.g. eventId) and deduplicate on it",
    )


@rule(
    "EVT202",
    "missing-dead-letter",
    family="delivery",
    severity=Severity.ERROR,
    summary="At-least-once consumers declare a dead-letter topic.",
    rationale="""
        An at-least-once consumer that cannot process an event either blocks its partition forever
        (retrying) or drops the event (skipping). A dead-letter topic parks it for inspection and
        replay while the stream moves on.
    """,
    bad="""
        kind: Service
        metadata: {name: inventory}
        spec:
          consumes:
            - {topic: shop.orders.created, deliveryGuarantee: at-least-once, idempotencyKey: eventId}
    """,
    good=_SAFE_AT_LEAST_ONCE,
)
def missing_dead_letter(ctx: LintContext) -> Iterator[Finding]:
    yield from _at_least_once_without(
        ctx,
        lambda cons: cons.dead_letter_topic,
        "a dead-letter topic",
        "declare deadLetterTopic for events that keep failing",
    )


@rule(
    "EVT203",
    "retry-topic-without-dead-letter",
    family="delivery",
    severity=Severity.ERROR,
    summary="Consumers that retry through a retry topic also declare a dead-letter topic.",
    rationale="""
        A retry topic without a dead-letter topic at the end of the chain circulates poison
        messages forever, burning capacity and hiding the failure.
    """,
    bad="""
        kind: Service
        metadata: {name: payments}
        spec:
          consumes:
            - topic: shop.orders.created
              retry: {attempts: 5, backoff: 1s, topic: shop.payments.retry}
    """,
    good="""
        kind: Service
        metadata: {name: payments}
        spec:
          consumes:
            - topic: shop.orders.created
              retry: {attempts: 5, backoff: 1s, topic: shop.payments.retry}
              deadLetterTopic: shop.payments.dlq
    """,
)
def retry_topic_without_dead_letter(ctx: LintContext) -> Iterator[Finding]:
    for service in ctx.workspace.services:
        for cons in service.consumes:
            if cons.retry is not None and cons.retry.topic and not cons.dead_letter_topic:
                yield finding(
                    service,
                    f"Service {service.name!r} retries {cons.topic!r} through {cons.retry.topic!r} "
                    "but has no dead-letter topic.",
                    location=cons.location,
                    help="declare deadLetterTopic where events go after the last attempt",
                )


@rule(
    "EVT204",
    "effectively-once-not-transactional",
    family="delivery",
    severity=Severity.ERROR,
    summary="Effectively-once flows use a transactional id (producers) or an idempotency key (consumers).",
    rationale="""
        Kafka gives exactly-once only to transactional producers writing outputs and offsets
        atomically (read-process-write). A service that declares effectively-once but has no
        transactional id (it produces nothing, or sets none) and no idempotency key promises what
        the setup cannot keep: redelivered events are applied twice.
    """,
    bad="""
        kind: Service
        metadata: {name: ledger}
        spec:
          consumes:
            - {topic: shop.payments.captured, deliveryGuarantee: effectively-once}
    """,
    good="""
        kind: Service
        metadata: {name: ledger}
        spec:
          consumes:
            - topic: shop.payments.captured
              deliveryGuarantee: effectively-once
              idempotencyKey: eventId
    """,
)
def effectively_once_not_transactional(ctx: LintContext) -> Iterator[Finding]:
    for service in ctx.workspace.services:
        if service.transactional_id:
            continue
        for prod in service.produces:
            if prod.delivery is _EO:
                yield finding(
                    service,
                    f"Service {service.name!r} produces {prod.topic!r} effectively-once "
                    "without a transactional id.",
                    location=prod.location,
                    help="set spec.transactionalId (enables idempotence and transactions)",
                )
        for cons in service.consumes:
            if cons.delivery is _EO and not cons.idempotency_key:
                yield finding(
                    service,
                    f"Service {service.name!r} consumes {cons.topic!r} effectively-once "
                    "without transactions or an idempotency key.",
                    location=cons.location,
                    help="set spec.transactionalId for read-process-write, or declare idempotencyKey",
                )


@rule(
    "EVT205",
    "tombstone-unsafe-consumer",
    family="delivery",
    severity=Severity.WARNING,
    summary="Consumers of compacted topics handle tombstones (null values).",
    rationale="""
        Deletes on a compacted topic are records with a null value. A handler that deserializes
        every value crashes or mis-handles them; declare tombstoneSafe: true once it copes.
    """,
    bad="""
        kind: Service
        metadata: {name: email}
        spec:
          consumes: [shop.customers]   # compacted
    """,
    good="""
        kind: Service
        metadata: {name: email}
        spec:
          consumes:
            - {topic: shop.customers, tombstoneSafe: true}
    """,
)
def tombstone_unsafe_consumer(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if not topic.compacted:
            continue
        for service, cons in ctx.index.consumers.get(topic.name, ()):
            if not cons.tombstone_safe:
                yield finding(
                    service,
                    f"Service {service.name!r} consumes compacted topic {topic.name!r} "
                    "but is not marked tombstone-safe.",
                    location=cons.location,
                    help="handle null-value records, then set tombstoneSafe: true",
                )


@rule(
    "EVT206",
    "dead-letter-retention-shorter",
    family="delivery",
    severity=Severity.WARNING,
    summary="Dead-letter topics retain events at least as long as their source topics.",
    rationale="""
        Dead letters wait for a human. If they expire before the source events do, the failed
        events vanish while the healthy ones are still replayable: the opposite of what triage needs.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.inventory.dlq}
        spec:
          partitions: 1
          configs: {retention.ms: 1d}    # source keeps 7d
    """,
    good="""
        kind: Topic
        metadata: {name: shop.inventory.dlq}
        spec:
          partitions: 1
          configs: {retention.ms: 14d}
    """,
)
def dead_letter_retention_shorter(ctx: LintContext) -> Iterator[Finding]:
    for dlq_name in sorted(ctx.index.dead_letter_sources):
        dlq = ctx.index.topics.get(dlq_name)
        if dlq is None:
            continue
        mine = retention_ms(dlq)
        for source_name in sorted(ctx.index.dead_letter_sources[dlq_name]):
            source = ctx.index.topics.get(source_name)
            if source is None or mine < 0:
                continue
            theirs = retention_ms(source)
            if theirs < 0 or mine < theirs:
                shown = "forever" if theirs < 0 else format_duration_ms(theirs)
                yield finding(
                    dlq,
                    f"Dead-letter topic {dlq_name!r} keeps events for {format_duration_ms(mine)}, "
                    f"less than its source {source_name!r} ({shown}).",
                    at=("spec", "configs", "retention.ms"),
                    help="retain dead letters at least as long as the source topic",
                )


@rule(
    "EVT207",
    "shared-consumer-group",
    family="delivery",
    severity=Severity.ERROR,
    summary="A consumer group belongs to exactly one service.",
    rationale="""
        Members of one group split the partitions between them. Two different services in the same
        group each see only part of the events and their offset commits overwrite each other.
    """,
    bad="""
        kind: Service
        metadata: {name: inventory}
        spec: {consumerGroup: shop.workers, consumes: [shop.orders.created]}
        ---
        kind: Service
        metadata: {name: email}
        spec: {consumerGroup: shop.workers, consumes: [shop.orders.created]}
    """,
    good="""
        kind: Service
        metadata: {name: inventory}
        spec: {consumerGroup: shop.inventory, consumes: [shop.orders.created]}
        ---
        kind: Service
        metadata: {name: email}
        spec: {consumerGroup: shop.email, consumes: [shop.orders.created]}
    """,
)
def shared_consumer_group(ctx: LintContext) -> Iterator[Finding]:
    for group in sorted(ctx.index.services_by_group):
        services = ctx.index.services_by_group[group]
        for other in services[1:]:
            yield finding(
                other,
                f"Consumer group {group!r} is shared by services {services[0].name!r} and {other.name!r}.",
                at=("spec", "consumerGroup"),
                help="give each service its own consumer group",
            )


@rule(
    "EVT208",
    "offset-reset-latest",
    family="delivery",
    severity=Severity.WARNING,
    summary="Groups of at-least-once consumers do not reset to the latest offset.",
    rationale="""
        With auto.offset.reset=latest a new group, or one whose offsets expired, starts at the end
        of the log and silently skips every event produced before it joined.
    """,
    bad="""
        kind: ConsumerGroup
        metadata: {name: shop.inventory}
        spec: {service: inventory, offsetReset: latest}
    """,
    good="""
        kind: ConsumerGroup
        metadata: {name: shop.inventory}
        spec: {service: inventory, offsetReset: earliest}
    """,
)
def offset_reset_latest(ctx: LintContext) -> Iterator[Finding]:
    for group in ctx.workspace.consumer_groups:
        if group.offset_reset is not OffsetReset.LATEST:
            continue
        for service in ctx.index.services_by_group.get(group.group_id, ()):
            if any(c.group == group.group_id and c.delivery is _ALO for c in service.consumes):
                yield finding(
                    group,
                    f"Consumer group {group.group_id!r} of at-least-once service {service.name!r} "
                    "resets to the latest offset and can skip events.",
                    at=("spec", "offsetReset"),
                    help="set offsetReset: earliest",
                )
                break
