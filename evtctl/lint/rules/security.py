"""Access control and tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator

from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, rule
from evtctl.manifest.model import (
    AclEntry,
    Classification,
    Operation,
    PatternType,
    Permission,
    PiiPolicy,
    Resource,
    ResourceType,
    Tenant,
)

_READS = (Operation.READ, Operation.ALL)
_TENANT_SCOPED = (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID)


def _acl_finding(ctx: LintContext, acl: AclEntry, message: str, help: str) -> Finding:
    return Finding(message, acl.location, help, _anchor(ctx, acl))


def _anchor(ctx: LintContext, acl: AclEntry) -> Resource | None:
    kind, _, name = acl.origin.partition("/")
    return ctx.workspace.get(kind, name)


def _allows(ctx: LintContext) -> Iterator[AclEntry]:
    return (a for a in ctx.workspace.acls if a.permission is Permission.ALLOW)


def _describe(acl: AclEntry) -> str:
    pattern = "prefix " if acl.pattern_type is PatternType.PREFIXED else ""
    resource = f"{acl.resource_type.value} {pattern}{acl.resource_name!r}"
    return f"{acl.operation.value} on {resource} for {acl.principal}"


@rule(
    "EVT401",
    "acl-wildcard-principal",
    family="security",
    severity=Severity.ERROR,
    summary="ACLs do not allow the wildcard principal User:*.",
    rationale="""
        User:* matches every authenticated client, including ones created later by other teams;
        grant access to named principals so access stays reviewable.
    """,
    bad="""
        kind: AccessPolicy
        metadata: {name: open-orders}
        spec:
          principal: User:*
          rules:
            - {resourceType: TOPIC, name: shop.orders.created, operations: [READ]}
    """,
    good="""
        kind: AccessPolicy
        metadata: {name: analytics-orders}
        spec:
          principal: analytics
          rules:
            - {resourceType: TOPIC, name: shop.orders.created, operations: [READ]}
    """,
)
def acl_wildcard_principal(ctx: LintContext) -> Iterator[Finding]:
    for acl in _allows(ctx):
        if acl.principal.endswith(":*"):
            yield _acl_finding(
                ctx,
                acl,
                f"ACL allows {_describe(acl)}: every client gets it.",
                "name the principals that need access",
            )


@rule(
    "EVT402",
    "acl-all-operations",
    family="security",
    severity=Severity.WARNING,
    summary="ACLs grant specific operations, not ALL.",
    rationale="""
        ALL includes DELETE, ALTER and ALTER_CONFIGS: an application that only needs to read or
        write can then delete the topic or rewrite its retention.
    """,
    bad="""
        kind: AccessPolicy
        metadata: {name: orders-admin}
        spec:
          principal: orders
          rules:
            - {resourceType: TOPIC, name: shop.orders.created, operations: [ALL]}
    """,
    good="""
        kind: AccessPolicy
        metadata: {name: orders-writer}
        spec:
          principal: orders
          rules:
            - {resourceType: TOPIC, name: shop.orders.created, operations: [WRITE, DESCRIBE]}
    """,
)
def acl_all_operations(ctx: LintContext) -> Iterator[Finding]:
    for acl in _allows(ctx):
        if acl.operation is Operation.ALL:
            yield _acl_finding(
                ctx,
                acl,
                f"ACL allows {_describe(acl)}.",
                "list the operations the principal needs (READ, WRITE, ...)",
            )


@rule(
    "EVT403",
    "acl-cross-tenant",
    family="security",
    severity=Severity.ERROR,
    summary="ACLs do not reach into another tenant's namespace unless that tenant granted it.",
    rationale="""
        Tenants are isolated by name prefix. An ACL giving a principal of one tenant access to
        another tenant's topics, groups or transactional ids breaks that isolation, unless the
        owning tenant lists a read grant for it (reads only).
    """,
    bad="""
        kind: AccessPolicy
        metadata: {name: shop-reads-billing}
        spec:
          principal: shop-orders          # tenant shop
          rules:
            - {resourceType: TOPIC, name: billing.invoices, operations: [READ]}
    """,
    good="""
        kind: Tenant
        metadata: {name: billing}
        spec:
          prefixes: [billing.]
          readGrants:
            - {tenant: shop, topics: [billing.invoices]}
    """,
)
def acl_cross_tenant(ctx: LintContext) -> Iterator[Finding]:
    for acl in _allows(ctx):
        if acl.resource_type not in _TENANT_SCOPED:
            continue
        mine = ctx.index.principal_tenants.get(acl.principal)
        if mine is None:
            continue
        foreign = sorted(_covered_tenants(ctx, acl) - {mine})
        if not foreign:
            continue
        if (
            acl.resource_type is ResourceType.TOPIC
            and acl.operation in (Operation.READ, Operation.DESCRIBE)
            and acl.pattern_type is PatternType.LITERAL
            and all(_granted(ctx.workspace.tenant(t), mine, acl.resource_name) for t in foreign)
        ):
            continue  # the owning tenant granted this read
        names = ", ".join(repr(t) for t in foreign)
        yield _acl_finding(
            ctx,
            acl,
            f"ACL allows {_describe(acl)}, of tenant {mine!r}, into the namespace of tenant {names}.",
            "narrow it to the principal's own tenant, or have the owning tenant grant the read",
        )


def _covered_tenants(ctx: LintContext, acl: AclEntry) -> set[str]:
    """Tenants whose namespace the ACL's resource pattern reaches into."""
    owner = ctx.index.tenant_of(acl.resource_name)
    covered = {owner.name} if owner is not None else set()
    if acl.pattern_type is PatternType.PREFIXED:
        # A prefix shorter than a tenant's prefix ('' or 'sh') reaches into that whole tenant.
        covered |= {
            t.name for t in ctx.workspace.tenants for p in t.prefixes if p.startswith(acl.resource_name)
        }
    return covered


def _granted(owner: Tenant | None, reader: str, topic: str) -> bool:
    return owner is not None and any(g.tenant == reader and g.covers(topic) for g in owner.read_grants)


@rule(
    "EVT404",
    "pii-read-outside-tenant",
    family="security",
    severity=Severity.ERROR,
    summary="PII-classified topics are readable only inside their tenant (or through an explicit grant).",
    rationale="""
        Personal data must not leak across tenant boundaries. A read ACL (explicit, wildcard or
        derived from a consuming service) on a PII topic for a principal outside the owning tenant
        is a leak unless the tenant's piiPolicy is `granted` and it lists a read grant.
    """,
    bad="""
        kind: Service
        metadata: {name: billing-reporter}
        spec:
          tenant: billing
          consumes: [shop.customers]     # classification: pii, tenant shop
    """,
    good="""
        kind: Service
        metadata: {name: shop-reporter}
        spec:
          tenant: shop
          consumes: [shop.customers]
    """,
)
def pii_read_outside_tenant(ctx: LintContext) -> Iterator[Finding]:
    pii = [t for t in ctx.workspace.topics if t.metadata.classification is Classification.PII]
    if not pii:
        return
    pii_names = {t.name: t for t in pii}
    for acl in _allows(ctx):
        if acl.resource_type is not ResourceType.TOPIC or acl.operation not in _READS:
            continue
        if acl.pattern_type is PatternType.LITERAL:
            covered = [pii_names[acl.resource_name]] if acl.resource_name in pii_names else []
        else:
            covered = [t for t in pii if t.name.startswith(acl.resource_name)]
        reader = ctx.index.principal_tenants.get(acl.principal)
        for topic in covered:
            owner_name = ctx.index.topic_tenant(topic)
            if owner_name is None or reader == owner_name:
                continue
            owner = ctx.workspace.tenant(owner_name)
            if (
                owner is not None
                and owner.pii_policy is PiiPolicy.GRANTED
                and reader is not None
                and _granted(owner, reader, topic.name)
            ):
                continue
            who = f"tenant {reader!r}" if reader else "no tenant"
            yield _acl_finding(
                ctx,
                acl,
                f"PII topic {topic.name!r} of tenant {owner_name!r} is readable by {acl.principal} ({who}).",
                "remove the read access, or have the owning tenant grant it under piiPolicy: granted",
            )


@rule(
    "EVT405",
    "acl-wildcard-resource",
    family="security",
    severity=Severity.WARNING,
    summary="ACLs name resources; they do not allow '*' or an empty prefix.",
    rationale="""
        A literal '*' or an empty prefix covers every topic or group in the cluster, present and
        future, which defeats per-topic review.
    """,
    bad="""
        kind: AccessPolicy
        metadata: {name: reader}
        spec:
          principal: analytics
          rules:
            - {resourceType: TOPIC, name: "*", operations: [READ]}
    """,
    good="""
        kind: AccessPolicy
        metadata: {name: reader}
        spec:
          principal: analytics
          rules:
            - {resourceType: TOPIC, name: analytics., patternType: PREFIXED, operations: [READ]}
    """,
)
def acl_wildcard_resource(ctx: LintContext) -> Iterator[Finding]:
    for acl in _allows(ctx):
        if acl.resource_type is ResourceType.CLUSTER:
            continue
        wildcard = acl.resource_name == "*" or (
            acl.pattern_type is PatternType.PREFIXED and acl.resource_name == ""
        )
        if wildcard:
            yield _acl_finding(
                ctx,
                acl,
                f"ACL allows {_describe(acl)}: every resource of that type.",
                "name the resources or a narrow prefix",
            )


@rule(
    "EVT406",
    "tenant-quota-missing",
    family="security",
    severity=Severity.WARNING,
    summary="Every tenant has a quota.",
    rationale="""
        Without byte-rate quotas one tenant's backfill can saturate the brokers for everyone.
        Set spec.quota on the Tenant or declare Quota resources for its principals.
    """,
    bad="""
        kind: Tenant
        metadata: {name: shop}
        spec: {prefixes: [shop.]}
    """,
    good="""
        kind: Tenant
        metadata: {name: shop}
        spec:
          prefixes: [shop.]
          quota: {producerByteRate: 10MiB, consumerByteRate: 20MiB}
    """,
)
def tenant_quota_missing(ctx: LintContext) -> Iterator[Finding]:
    users_with_quota = {q.user for q in ctx.workspace.quotas if q.user}
    if "<default>" in users_with_quota:
        return  # a default quota caps every client, tenants included
    for tenant in ctx.workspace.tenants:
        if tenant.quota is not None:
            continue
        principals = [p.name for p in ctx.workspace.principals if p.tenant == tenant.name]
        if principals and all(name in users_with_quota for name in principals):
            continue
        yield Finding(
            f"Tenant {tenant.name!r} has no quota.",
            tenant.at("spec"),
            "set spec.quota (producerByteRate, consumerByteRate) on the tenant",
            tenant,
        )
