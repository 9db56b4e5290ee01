"""Event contracts: every topic has one, and it carries the ids that make events traceable."""

from __future__ import annotations

from collections.abc import Iterator

from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, finding, rule
from evtctl.manifest.model import Compatibility


@rule(
    "EVT501",
    "missing-value-contract",
    family="contracts",
    severity=Severity.ERROR,
    summary="Every topic binds a value schema.",
    rationale="""
        An event without a contract is an API without a spec: producers change it freely and
        consumers break silently. A Subject binding with a value schema puts the topic under
        compatibility checks, code generation and contract tests.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6}
    """,
    good="""
        kind: Subject
        metadata: {name: shop.orders.created}
        spec:
          topic: shop.orders.created
          value: {schema: schemas/order_created.avsc}
    """,
)
def missing_value_contract(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if ctx.index.value_ref(topic.name) is None:
            yield finding(
                topic,
                f"Topic {topic.name!r} has no value schema.",
                at=("metadata", "name"),
                help="add a Subject binding with spec.value.schema for this topic",
            )


@rule(
    "EVT502",
    "missing-tracing-ids",
    family="contracts",
    severity=Severity.WARNING,
    summary="Value schemas carry an event id, a correlation id and a causation id.",
    rationale="""
        The event id makes deduplication possible; the correlation id ties every event of one
        business transaction together; the causation id names the event that caused this one.
        Without them "the order was placed but no email went out" cannot be traced. The fields may
        sit at the top level or in one nested record (e.g. a `metadata` header record).
    """,
    bad="""
        {"type": "record", "name": "OrderCreated",
         "fields": [{"name": "orderId", "type": "string"}]}
    """,
    good="""
        {"type": "record", "name": "OrderCreated",
         "fields": [{"name": "eventId", "type": "string"},
                    {"name": "correlationId", "type": "string"},
                    {"name": "causationId", "type": ["null", "string"]},
                    {"name": "orderId", "type": "string"}]}
    """,
    options={
        "event_id": ["eventId", "event_id", "messageId", "message_id"],
        "correlation_id": ["correlationId", "correlation_id"],
        "causation_id": ["causationId", "causation_id"],
    },
)
def missing_tracing_ids(ctx: LintContext) -> Iterator[Finding]:
    wanted = {
        label: {str(n).lower() for n in ctx.option(missing_tracing_ids, label)}
        for label in ("event_id", "correlation_id", "causation_id")
    }
    for binding in ctx.workspace.subjects:
        if binding.value is None:
            continue
        shape = ctx.index.outline(binding.value)
        if shape is None:
            continue
        present = {n.lower() for n in shape.names()}
        missing = [label.replace("_", " ") for label, names in wanted.items() if not names & present]
        if missing:
            yield finding(
                binding,
                f"Value schema of {binding.topic!r} lacks {', '.join(missing)}.",
                location=binding.value.location,
                help="add eventId, correlationId and causationId fields (top level or in a header record)",
            )


@rule(
    "EVT503",
    "compatibility-none",
    family="contracts",
    severity=Severity.WARNING,
    summary="Subjects keep a compatibility level other than NONE.",
    rationale="""
        With NONE the registry accepts any change, so a producer can deploy a schema no existing
        consumer can read. BACKWARD (the default) or stricter keeps evolution safe.
    """,
    bad="""
        kind: Subject
        metadata: {name: shop.orders.created}
        spec:
          topic: shop.orders.created
          value: {schema: schemas/order_created.avsc}
          compatibility: NONE
    """,
    good="""
        kind: Subject
        metadata: {name: shop.orders.created}
        spec:
          topic: shop.orders.created
          value: {schema: schemas/order_created.avsc}
          compatibility: BACKWARD
    """,
)
def compatibility_none(ctx: LintContext) -> Iterator[Finding]:
    for binding in ctx.workspace.subjects:
        if binding.compatibility is Compatibility.NONE:
            yield finding(
                binding,
                f"Subject binding of {binding.topic!r} disables compatibility checks.",
                at=("spec", "compatibility"),
                help="use BACKWARD, FULL or a transitive level",
            )
