"""Event flow and partitioning: keys, hot partitions, feedback loops, orphans, mixed traffic."""

from __future__ import annotations

import re
from collections.abc import Container, Iterator

from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, finding, rule
from evtctl.lint.schema_fields import LOW_CARDINALITY
from evtctl.manifest.model import Production, Service, TrafficKind

_ID_LIKE = re.compile(r"(^|[._-])id$|[a-z0-9]Id$|_id$|(^|[._])key$|[a-z0-9]Key$", re.IGNORECASE)


def looks_like_entity_id(field_path: str) -> bool:
    last = field_path.rsplit(".", 1)[-1]
    return bool(_ID_LIKE.search(last)) or last.lower() in ("id", "key", "uuid")


@rule(
    "EVT301",
    "ordering-without-entity-key",
    family="flow",
    severity=Severity.ERROR,
    summary="Ordering-critical flows are keyed by the entity id.",
    rationale="""
        Kafka orders events only within a partition, and the key chooses the partition. An
        ordering-critical producer without a key (or keyed by something other than the entity's
        id) scatters one entity's events across partitions and consumers see them out of order.
    """,
    bad="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.events, orderingCritical: true}
    """,
    good="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.events, orderingCritical: true, partitionKey: orderId}
    """,
)
def ordering_without_entity_key(ctx: LintContext) -> Iterator[Finding]:
    for service in ctx.workspace.services:
        for prod in service.produces:
            if not prod.ordering_critical:
                continue
            if not prod.partition_key:
                yield finding(
                    service,
                    f"Service {service.name!r} produces ordering-critical {prod.topic!r} "
                    "without a partition key.",
                    location=prod.location,
                    help="set partitionKey to the entity id field (e.g. orderId)",
                )
            elif not looks_like_entity_id(prod.partition_key):
                yield finding(
                    service,
                    f"Service {service.name!r} keys ordering-critical {prod.topic!r} "
                    f"by {prod.partition_key!r}, which is not an entity id.",
                    location=prod.location,
                    help="key by the id of the entity whose events must stay in order",
                )


@rule(
    "EVT302",
    "low-cardinality-partition-key",
    family="flow",
    severity=Severity.WARNING,
    summary="Partition keys are not booleans or enums.",
    rationale="""
        A key with a handful of values maps every event to a handful of partitions: the rest of
        the topic idles while one partition (and its single consumer) takes all the load.
    """,
    bad="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.created, partitionKey: status}   # enum in the value schema
    """,
    good="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.created, partitionKey: orderId}
    """,
)
def low_cardinality_partition_key(ctx: LintContext) -> Iterator[Finding]:
    for service, prod, kind in _keyed_productions(ctx):
        if kind in LOW_CARDINALITY:
            yield finding(
                service,
                f"Service {service.name!r} keys {prod.topic!r} by {prod.partition_key!r}, a {kind}: "
                "few distinct keys make hot partitions.",
                location=prod.location,
                help="key by a high-cardinality field such as the entity id",
            )


@rule(
    "EVT303",
    "partition-key-not-in-schema",
    family="flow",
    severity=Severity.ERROR,
    summary="A producer's partition key is a field of the topic's value schema.",
    rationale="""
        The partition key is read from the event; naming a field the contract does not have means
        the producer keys by null (round-robin) or fails at runtime.
    """,
    bad="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.created, partitionKey: orderNumber}   # schema has orderId
    """,
    good="""
        kind: Service
        metadata: {name: orders}
        spec:
          produces:
            - {topic: shop.orders.created, partitionKey: orderId}
    """,
)
def partition_key_not_in_schema(ctx: LintContext) -> Iterator[Finding]:
    for service, prod, kind in _keyed_productions(ctx):
        if kind is None:
            yield finding(
                service,
                f"Partition key {prod.partition_key!r} of {service.name!r} "
                f"is not a field of {prod.topic!r}'s value schema.",
                location=prod.location,
                help="use a field of the value schema (dotted paths reach nested records)",
            )


def _keyed_productions(ctx: LintContext) -> Iterator[tuple[Service, Production, str | None]]:
    """Productions with a partition key whose value schema outline is known, with the key's type."""
    for service in ctx.workspace.services:
        for prod in service.produces:
            if not prod.partition_key:
                continue
            ref = ctx.index.value_ref(prod.topic)
            shape = ctx.index.outline(ref) if ref is not None else None
            if shape is None:
                continue
            found = shape.lookup(prod.partition_key)
            yield service, prod, (found.type if found else None)


@rule(
    "EVT304",
    "event-flow-cycle",
    family="flow",
    severity=Severity.WARNING,
    summary="No cycle of services feeding each other's input topics.",
    rationale="""
        When A's output triggers B and B's output triggers A, one event can set off an endless
        storm. Loops are occasionally intended (sagas with compensation); suppress with a reason
        then. Dead-letter and retry topics are not counted as flow.
    """,
    bad="""
        kind: Service
        metadata: {name: a}
        spec: {consumes: [shop.b.events], produces: [shop.a.events]}
        ---
        kind: Service
        metadata: {name: b}
        spec: {consumes: [shop.a.events], produces: [shop.b.events]}
    """,
    good="""
        kind: Service
        metadata: {name: a}
        spec: {produces: [shop.a.events]}
        ---
        kind: Service
        metadata: {name: b}
        spec: {consumes: [shop.a.events], produces: [shop.b.events]}
    """,
)
def event_flow_cycle(ctx: LintContext) -> Iterator[Finding]:
    services = {s.name: s for s in ctx.workspace.services}
    edges: dict[str, list[str]] = {}
    for name, service in services.items():
        targets: set[str] = set()
        for topic in service.produced_topics:
            if ctx.index.is_auxiliary(topic):
                continue
            targets.update(s.name for s, _ in ctx.index.consumers.get(topic, ()))
        edges[name] = sorted(targets)
    for component in strongly_connected(edges):
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        members = sorted(component)
        first = services[members[0]]
        path = " -> ".join([*members, members[0]])
        yield finding(
            first,
            f"Services form an event-flow cycle: {path}.",
            at=("metadata", "name"),
            help="break the loop, or suppress with a reason if the cycle terminates by design",
        )


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (10,000-service chains must not hit the recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index_of:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
                continue
            if low[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


@rule(
    "EVT305",
    "mixed-traffic-topic",
    family="flow",
    severity=Severity.WARNING,
    summary="A topic does not mix bulk/batch and real-time producers.",
    rationale="""
        A nightly bulk dump into a real-time topic backs up every live event behind a million
        batch records. Give bulk loads their own topic (or system) and let consumers merge.
    """,
    bad="""
        kind: Service
        metadata: {name: orders}
        spec: {produces: [shop.orders.created]}
        ---
        kind: Service
        metadata: {name: backfill}
        spec:
          traffic: bulk
          produces: [shop.orders.created]
    """,
    good="""
        kind: Service
        metadata: {name: backfill}
        spec:
          traffic: bulk
          produces: [shop.orders.backfill]
    """,
)
def mixed_traffic_topic(ctx: LintContext) -> Iterator[Finding]:
    for topic in ctx.workspace.topics:
        producers = ctx.index.producers.get(topic.name, ())
        kinds = {p.traffic for _, p in producers}
        if len(kinds) > 1:
            bulk = sorted({s.name for s, p in producers if p.traffic is TrafficKind.BULK})
            live = sorted({s.name for s, p in producers if p.traffic is TrafficKind.REALTIME})
            yield finding(
                topic,
                f"Topic {topic.name!r} mixes bulk producers ({', '.join(bulk)}) "
                f"with real-time producers ({', '.join(live)}).",
                at=("metadata", "name"),
                help="route bulk loads to a separate topic",
            )


@rule(
    "EVT306",
    "topic-without-producer",
    family="flow",
    severity=Severity.WARNING,
    summary="Every topic has a declared producer.",
    rationale="""
        A topic nobody writes to is dead weight or, worse, written by an undeclared service that
        escapes review and ACL generation. Dead-letter and retry topics are exempt.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.legacy}
        spec: {partitions: 3}
    """,
    good="""
        kind: Service
        metadata: {name: orders}
        spec: {produces: [shop.orders.legacy]}
    """,
)
def topic_without_producer(ctx: LintContext) -> Iterator[Finding]:
    yield from _topics_without(ctx, ctx.index.producers, "producer", "producing")


@rule(
    "EVT307",
    "topic-without-consumer",
    family="flow",
    severity=Severity.WARNING,
    summary="Every topic has a declared consumer.",
    rationale="""
        Events nobody consumes cost storage and producer effort for nothing, or are read by an
        undeclared consumer whose needs no compatibility check protects. Dead-letter and retry
        topics are exempt.
    """,
    bad="""
        kind: Topic
        metadata: {name: shop.orders.audit}
        spec: {partitions: 3}
    """,
    good="""
        kind: Service
        metadata: {name: auditor}
        spec: {consumes: [shop.orders.audit]}
    """,
)
def topic_without_consumer(ctx: LintContext) -> Iterator[Finding]:
    yield from _topics_without(ctx, ctx.index.consumers, "consumer", "consuming")


def _topics_without(ctx: LintContext, users: Container[str], role: str, acting: str) -> Iterator[Finding]:
    """Business topics (not dead-letter or retry plumbing) that no service in ``users`` names."""
    for topic in ctx.workspace.topics:
        if topic.name not in users and not ctx.index.is_auxiliary(topic.name):
            yield finding(
                topic,
                f"Topic {topic.name!r} has no {role}.",
                at=("metadata", "name"),
                help=f"declare the {acting} service, or delete the topic",
            )
