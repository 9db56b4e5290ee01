"""References between resources, tenant ownership and the ACLs derived from services.

Runs after every document is built, so a reference may point to a resource declared later or in
another file. Dangling references become located problems; resolved ones fill in the fields that
depend on other resources (a service's Kafka principal, each resource's tenant).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable
from functools import partial

from evtctl.errors import Location
from evtctl.manifest.build import Built
from evtctl.manifest.model import (
    AccessPolicy,
    AclEntry,
    DeliveryGuarantee,
    Kind,
    Operation,
    PatternType,
    Permission,
    Resource,
    ResourceType,
    Service,
    Tenant,
)
from evtctl.manifest.problems import Code, Problem

CLUSTER_NAME = "kafka-cluster"


class _Names:
    def __init__(self, kind: Kind, names: Iterable[str], broken: set[tuple[str, str]]) -> None:
        self.kind = kind
        self.names = set(names)
        self.broken = {name for k, name in broken if k == kind.value}

    def check(
        self, name: str, where: Location | Callable[[], Location], what: str, problems: list[Problem]
    ) -> bool:
        """True if declared; else records a problem (``where`` may be lazy: locating costs)."""
        if name in self.names:
            return True
        if name in self.broken:
            return False  # declared but invalid: its own error is already reported
        if callable(where):
            where = where()
        close = difflib.get_close_matches(name, list(self.names), n=1) if len(self.names) < 5000 else []
        hint = f"did you mean {close[0]!r}?" if close else f"declare a {self.kind.value} named {name!r}"
        problems.append(Problem(f"{what} {name!r} is not declared", where, hint, Code.REFERENCE))
        return False


def _tenant_for(name: str, tenants: list[Tenant]) -> str | None:
    best: str | None = None
    best_len = -1
    for tenant in tenants:
        for prefix in tenant.prefixes:
            if len(prefix) > best_len and name.startswith(prefix):
                best, best_len = tenant.name, len(prefix)
    return best


def link(built: Built, broken: set[tuple[str, str]] | None = None) -> list[AclEntry]:
    """Check references, assign tenants, derive service ACLs; returns explicit + derived ACLs."""
    problems = built.problems
    broken = broken or set()
    topics = _Names(Kind.TOPIC, (t.name for t in built.topics), broken)
    principals = _Names(Kind.PRINCIPAL, (p.name for p in built.principals), broken)
    tenants = _Names(Kind.TENANT, (t.name for t in built.tenants), broken)
    services = _Names(Kind.SERVICE, (s.name for s in built.services), broken)

    # Tenants: unique prefixes, grants to existing tenants.
    owners: dict[str, Tenant] = {}
    for tenant in built.tenants:
        for i, prefix in enumerate(tenant.prefixes):
            other = owners.get(prefix)
            if other is not None and other is not tenant:
                problems.append(
                    Problem(
                        f"prefix {prefix!r} is already owned by tenant {other.name!r}",
                        tenant.at("spec", "prefixes", i),
                        "each name prefix belongs to exactly one tenant",
                        Code.REFERENCE,
                    )
                )
            owners[prefix] = tenant
        for j, grant in enumerate(tenant.read_grants):
            tenants.check(grant.tenant, tenant.at("spec", "readGrants", j, "tenant"), "tenant", problems)
            for k, pattern in enumerate(grant.topics):
                if not any(
                    pattern.startswith(p) or p.startswith(pattern.rstrip("*")) for p in tenant.prefixes
                ):
                    problems.append(
                        Problem(
                            f"tenant {tenant.name!r} grants {pattern!r}, which is outside its prefixes",
                            tenant.at("spec", "readGrants", j, "topics", k),
                            f"a tenant can only grant its own topics ({', '.join(tenant.prefixes)})",
                            Code.REFERENCE,
                        )
                    )

    def explicit_tenant(res: Resource, path: tuple[str, ...] = ("spec", "tenant")) -> None:
        if res.tenant is not None:
            tenants.check(res.tenant, partial(res.at, *path), "tenant", problems)

    def assign(res: Resource) -> Resource:
        if res.tenant is not None or not built.tenants:
            return res
        owner = _tenant_for(res.name, built.tenants)
        return dataclasses.replace(res, tenant=owner) if owner else res

    built.topics = [assign(t) for t in built.topics]  # type: ignore[misc]

    subject_owner: dict[str, str] = {}
    for binding in built.subjects:
        topics.check(binding.topic, partial(binding.at, "spec", "topic"), "topic", problems)
        for side, ref in binding.sides():
            bound_by = subject_owner.setdefault(ref.subject, binding.name)
            if bound_by != binding.name:
                problems.append(
                    Problem(
                        f"subject {ref.subject!r} is already bound by Subject {bound_by!r}",
                        binding.at("spec", side),
                        "one registry subject has one contract: merge the bindings or name the subject",
                        Code.DUPLICATE_RESOURCE,
                    )
                )
    built.subjects = [assign(b) for b in built.subjects]  # type: ignore[misc]

    principal_strings = {p.name: p.principal for p in built.principals}
    for principal in built.principals:
        explicit_tenant(principal)
    built.principals = [assign(p) for p in built.principals]  # type: ignore[misc]

    for group in built.consumer_groups:
        explicit_tenant(group)
        if group.service is not None:
            services.check(group.service, partial(group.at, "spec", "service"), "service", problems)
    built.consumer_groups = [assign(g) for g in built.consumer_groups]  # type: ignore[misc]

    principal_tenants = {p.name: p.tenant for p in built.principals}
    linked: list[Service] = []
    for service in built.services:
        explicit_tenant(service)
        if service.principal_ref is not None and principals.check(
            service.principal_ref, partial(service.at, "spec", "principal"), "principal", problems
        ):
            service = dataclasses.replace(service, principal=principal_strings[service.principal_ref])
        for production in service.produces:
            topics.check(production.topic, production.location, "produced topic", problems)
        for i, consumption in enumerate(service.consumes):
            topics.check(consumption.topic, consumption.location, "consumed topic", problems)
            if consumption.dead_letter_topic is not None:
                topics.check(
                    consumption.dead_letter_topic,
                    partial(_field_at, service, i, ("deadLetterTopic",)),
                    "dead-letter topic",
                    problems,
                )
            if consumption.retry is not None and consumption.retry.topic is not None:
                topics.check(
                    consumption.retry.topic,
                    partial(_field_at, service, i, ("retry", "topic")),
                    "retry topic",
                    problems,
                )
        if service.tenant is None and service.principal_ref is not None:
            owner_tenant = principal_tenants.get(service.principal_ref)
            if owner_tenant is not None:
                service = dataclasses.replace(service, tenant=owner_tenant)
        linked.append(service)
    built.services = [assign(s) for s in linked]  # type: ignore[misc]

    acls: list[AclEntry] = []
    for policy in built.access_policies:
        if policy.principal_ref is not None and principals.check(
            policy.principal_ref, partial(policy.at, "spec", "principal"), "principal", problems
        ):
            real = principal_strings[policy.principal_ref]
            if real != policy.principal:
                entries = tuple(dataclasses.replace(e, principal=real) for e in policy.entries)
                policy = dataclasses.replace(policy, principal=real, entries=entries)
                built.index[(Kind.ACCESS_POLICY.value, policy.name)] = policy
        acls.extend(policy.entries)
    built.access_policies = [
        x
        for p in built.access_policies
        if isinstance(x := built.index[(Kind.ACCESS_POLICY.value, p.name)], AccessPolicy)
    ]

    for quota in built.quotas:
        if quota.user is not None and quota.user != "<default>":
            principals.check(quota.user, partial(quota.at, "spec", "user"), "principal", problems)
    built.quotas = [assign(q) for q in built.quotas]  # type: ignore[misc]

    for resource in (
        *built.topics,
        *built.subjects,
        *built.principals,
        *built.consumer_groups,
        *built.services,
        *built.quotas,
    ):
        built.index[(_kind_of(resource), resource.name)] = resource

    _link_contracts(built, topics, services, problems)
    for service in built.services:
        acls.extend(derived_acls(service))
    return acls


def _link_contracts(built: Built, topics: _Names, services: _Names, problems: list[Problem]) -> None:
    """A contract's consumer must consume its topic; examples' producer must produce theirs."""
    by_name = {s.name: s for s in built.services}
    docs: list[tuple[Resource, str, str, str, str]] = [
        (d, d.contract.topic, d.contract.consumer, "consumer", "contract") for d in built.contracts
    ]
    docs += [(d, d.examples.topic, d.examples.producer, "producer", "examples") for d in built.event_examples]
    for doc, topic, name, role, what in docs:
        if not topics.check(topic, partial(doc.at, "spec", "topic"), "topic", problems):
            continue
        if not services.check(name, partial(doc.at, "spec", role), f"{role} service", problems):
            continue
        service = by_name.get(name)
        if service is None:
            continue
        uses = service.consumed_topics if role == "consumer" else service.produced_topics
        if topic not in uses:
            verb, field = ("consume", "consumes") if role == "consumer" else ("produce", "produces")
            problems.append(
                Problem(
                    f"service {name!r} has {what} on {topic!r} but does not {verb} it",
                    doc.at("spec", "topic"),
                    f"add {topic!r} to the {field} list of service {name!r}",
                    Code.REFERENCE,
                )
            )


def _field_at(service: Service, index: int, path: tuple[str, ...]) -> Location:
    """A consumption's field, or the service-level default it inherited."""
    here = service.at("spec", "consumes", index, *path)
    if here == service.at("spec", "consumes", index):
        return service.at("spec", *path)
    return here


def _kind_of(resource: Resource) -> str:
    return _KINDS[type(resource).__name__]


_KINDS = {
    "Topic": Kind.TOPIC.value,
    "SubjectBinding": Kind.SUBJECT.value,
    "Service": Kind.SERVICE.value,
    "ConsumerGroup": Kind.CONSUMER_GROUP.value,
    "Principal": Kind.PRINCIPAL.value,
    "AccessPolicy": Kind.ACCESS_POLICY.value,
    "Quota": Kind.QUOTA.value,
    "Tenant": Kind.TENANT.value,
}


def derived_acls(service: Service) -> list[AclEntry]:
    """The ACLs a service needs, from its declaration (nobody hand-writes these).

    Producing: WRITE+DESCRIBE on the topic; effectively-once adds IDEMPOTENT_WRITE on the cluster
    and WRITE+DESCRIBE on its transactional id. Consuming: READ+DESCRIBE on the topic, READ on the
    group; dead-letter and retry topics add WRITE (and READ for retry topics it consumes back).
    """
    out: list[AclEntry] = []
    origin = f"Service/{service.name}"
    seen: set[tuple[ResourceType, str, Operation]] = set()

    def add(rtype: ResourceType, name: str, op: Operation, where: Location) -> None:
        if (rtype, name, op) in seen:
            return
        seen.add((rtype, name, op))
        out.append(
            AclEntry(
                principal=service.principal,
                resource_type=rtype,
                resource_name=name,
                pattern_type=PatternType.LITERAL,
                operation=op,
                permission=Permission.ALLOW,
                host="*",
                derived=True,
                origin=origin,
                location=where,
            )
        )

    transactional = False
    for p in service.produces:
        add(ResourceType.TOPIC, p.topic, Operation.WRITE, p.location)
        add(ResourceType.TOPIC, p.topic, Operation.DESCRIBE, p.location)
        transactional |= p.delivery is DeliveryGuarantee.EFFECTIVELY_ONCE
    for c in service.consumes:
        add(ResourceType.TOPIC, c.topic, Operation.READ, c.location)
        add(ResourceType.TOPIC, c.topic, Operation.DESCRIBE, c.location)
        add(ResourceType.GROUP, c.group, Operation.READ, c.location)
        add(ResourceType.GROUP, c.group, Operation.DESCRIBE, c.location)
        if c.dead_letter_topic is not None:
            add(ResourceType.TOPIC, c.dead_letter_topic, Operation.WRITE, c.location)
            add(ResourceType.TOPIC, c.dead_letter_topic, Operation.DESCRIBE, c.location)
        if c.retry is not None and c.retry.topic is not None:
            add(ResourceType.TOPIC, c.retry.topic, Operation.WRITE, c.location)
            add(ResourceType.TOPIC, c.retry.topic, Operation.READ, c.location)
            add(ResourceType.TOPIC, c.retry.topic, Operation.DESCRIBE, c.location)
        transactional |= c.delivery is DeliveryGuarantee.EFFECTIVELY_ONCE and bool(service.produces)
    if transactional:
        tid = service.transactional_id or service.name
        add(ResourceType.CLUSTER, CLUSTER_NAME, Operation.IDEMPOTENT_WRITE, service.location)
        add(ResourceType.TRANSACTIONAL_ID, tid, Operation.WRITE, service.location)
        add(ResourceType.TRANSACTIONAL_ID, tid, Operation.DESCRIBE, service.location)
    return out
