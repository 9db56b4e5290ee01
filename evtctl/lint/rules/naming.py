"""Naming and metadata: names that follow the convention, resources someone owns and explains."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, finding, rule
from evtctl.manifest.model import Metadata, Topic

_NAME = ("metadata", "name")


@rule(
    "EVT001",
    "topic-naming",
    family="naming",
    severity=Severity.ERROR,
    summary="Topic names follow the naming pattern (per tenant when configured).",
    rationale="""
        Consistent, dot-separated lowercase names make topics discoverable, let prefixed ACLs and
        tenant namespaces work, and keep metric names readable. Patterns are set in evtctl.yaml
        under lint.naming.topic and, per tenant, lint.naming.tenants.<tenant>.
    """,
    bad="""
        kind: Topic
        metadata: {name: OrdersCreated}
        spec: {partitions: 6}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6}
    """,
)
def topic_naming(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        tenant = ctx.index.topic_tenant(topic)
        pattern = ctx.config.naming_pattern(tenant)
        if not pattern.search(topic.name):
            scope = f"tenant {tenant!r}" if tenant in ctx.config.tenant_patterns else "topics"
            yield finding(
                topic,
                f"Topic name {topic.name!r} does not match the naming pattern of {scope}.",
                at=_NAME,
                help=f"rename it to match {pattern.pattern}",
            )


@rule(
    "EVT002",
    "missing-owner",
    family="naming",
    severity=Severity.ERROR,
    summary="Topics and services declare an owner.",
    rationale="""
        Every topic and service needs a team to page when it breaks and to ask before a contract
        changes; an ownerless topic is one nobody dares to delete or evolve.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created, owner: team-orders}
        spec: {partitions: 6}
    """,
)
def missing_owner(ctx: LintContext) -> Iterator[Finding]:
    yield from _without_metadata(
        ctx, lambda meta: meta.owner, "owner", "set metadata.owner to the responsible team"
    )


@rule(
    "EVT003",
    "missing-description",
    family="naming",
    severity=Severity.WARNING,
    summary="Topics and services carry a description.",
    rationale="""
        A one-line description of what an event means and when it is emitted is the cheapest
        documentation there is; reviewers and new consumers read it in the manifest and the graph.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.created, owner: team-orders}
        spec: {partitions: 6}
    """,
    good="""
        kind: Topic
        metadata:
          name: shop.orders.created
          owner: team-orders
          description: An order was accepted at checkout.
        spec: {partitions: 6}
    """,
)
def missing_description(ctx: LintContext) -> Iterator[Finding]:
    yield from _without_metadata(
        ctx,
        lambda meta: (meta.description or "").strip(),
        "description",
        "set metadata.description to one sentence about what it carries or does",
    )


def _without_metadata(
    ctx: LintContext, declared: Callable[[Metadata], str | None], what: str, help: str
) -> Iterator[Finding]:
    """Topics and services for which ``declared`` gives nothing."""
    for resource in (*ctx.workspace.topics, *ctx.workspace.services):
        if not declared(resource.metadata):
            yield finding(
                resource,
                f"{type(resource).__name__} {resource.name!r} has no {what}.",
                at=("metadata",),
                help=help,
            )


@rule(
    "EVT004",
    "topic-name-collision",
    family="naming",
    severity=Severity.ERROR,
    summary="No two topic names differ only by '.' versus '_'.",
    rationale="""
        Kafka replaces '.' with '_' in metric names, so 'a.b' and 'a_b' share metrics and Kafka
        warns when creating the second; one of them is almost always a typo.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders}
        ---
        kind: Topic
        metadata: {name: shop_orders}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders}
    """,
)
def topic_name_collision(ctx: LintContext) -> Iterator[Finding]:
    groups: dict[str, list[Topic]] = {}
    for topic in ctx.workspace.topics:
        groups.setdefault(topic.name.replace(".", "_"), []).append(topic)
    for members in groups.values():
        if len(members) < 2:
            continue
        for topic in members:
            others = ", ".join(repr(t.name) for t in members if t is not topic)
            yield finding(
                topic,
                f"Topic {topic.name!r} collides with {others}: Kafka metric names treat '.' and '_' alike.",
                at=_NAME,
                help="use one separator consistently",
            )


@rule(
    "EVT005",
    "outside-tenant-namespace",
    family="naming",
    severity=Severity.ERROR,
    summary="When tenants are declared, every topic and consumer group lies in a tenant's prefix.",
    rationale="""
        Tenant isolation rests on name prefixes: prefixed ACLs, quotas and the managed scope of apply
        all key off them. A topic or group outside every prefix belongs to nobody and escapes them.
    """,
    bad="""
        kind: Tenant
        metadata: {name: shop}
        spec: {prefixes: [shop.]}
        ---
        kind: Topic
        metadata: {name: misc.events}
    """,
    good="""
        kind: Tenant
        metadata: {name: shop}
        spec: {prefixes: [shop.]}
        ---
        kind: Topic
        metadata: {name: shop.misc.events}
    """,
)
def outside_tenant_namespace(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.workspace.tenants:
        return
    for topic in ctx.workspace.topics:
        if ctx.index.tenant_of(topic.name) is None:
            yield finding(
                topic,
                f"Topic {topic.name!r} is outside every tenant's namespace.",
                at=_NAME,
                help="rename it under a tenant prefix or add the prefix to a Tenant",
            )
    for service in ctx.workspace.services:
        for group in dict.fromkeys(c.group for c in service.consumes):
            if ctx.index.tenant_of(group) is None:
                yield finding(
                    service,
                    f"Consumer group {group!r} of service {service.name!r} "
                    "is outside every tenant's namespace.",
                    at=("spec", "consumerGroup"),
                    help="name the group under the service's tenant prefix",
                )


@rule(
    "EVT006",
    "missing-classification",
    family="naming",
    severity=Severity.INFO,
    summary="Topics declare a data classification.",
    rationale="""
        PII rules, retention policies and cross-tenant reviews depend on knowing what a topic holds;
        metadata.classification (public, internal, confidential, pii) makes that explicit.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.customers}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.customers, classification: pii}
    """,
)
def missing_classification(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        if topic.metadata.classification is None:
            yield finding(
                topic,
                f"Topic {topic.name!r} has no data classification.",
                at=("metadata",),
                help="set metadata.classification: public, internal, confidential or pii",
            )
