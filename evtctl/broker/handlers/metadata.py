"""Metadata (key 3), versions 0-12, with topic ids."""

from __future__ import annotations

import uuid

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import ZERO_UUID, Message, Raw, array_prefix, element_writer, is_flexible
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.state import TopicMeta


def broker_list(ctx: RequestContext) -> list[Message]:
    b = ctx.broker
    host, port = b.cfg.advertised, b.port
    for lst in b.cfg.extra_listeners:  # clients see the address of the listener they connected to
        if lst.name == ctx.listener:
            host, port = lst.advertised_host or lst.host, lst.port
    return [{"node_id": b.node_id, "host": host, "port": port, "rack": None}]


def topic_entry(ctx: RequestContext, meta: TopicMeta) -> Message:
    node = ctx.broker.node_id
    return {
        "error_code": 0,
        "name": meta.name,
        "topic_id": meta.topic_id,
        "is_internal": False,
        "partitions": [
            {
                "error_code": 0,
                "partition_index": p,
                "leader_id": node,
                "leader_epoch": 0,
                "replica_nodes": [node],
                "isr_nodes": [node],
                "offline_replicas": [],
            }
            for p in range(meta.partitions)
        ],
    }


def _error_topic(name: str | None, code: ErrorCode, topic_id: uuid.UUID = ZERO_UUID) -> Message:
    return {"error_code": code, "name": name, "topic_id": topic_id, "is_internal": False, "partitions": []}


async def handle(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    store = broker.store
    requested = request.get("topics")
    all_topics = requested is None or (ctx.api_version == 0 and not requested)
    topics: list[Message] = []
    listing: Raw | None = None
    if all_topics:
        listing = all_topics_encoded(
            ctx, [t for t in store.topics.values() if ctx.authorize("DESCRIBE", "TOPIC", t.name)]
        )
    else:
        auto = request.get("allow_auto_topic_creation", True)
        for t in requested or []:
            name = t.get("name")
            tid = t.get("topic_id") or ZERO_UUID
            if name is None:
                known = store.by_id.get(tid)
                if known is None:
                    # The response name is nullable from v12 only.
                    missing = None if ctx.api_version >= 12 else ""
                    topics.append(_error_topic(missing, ErrorCode.UNKNOWN_TOPIC_ID, tid))
                    continue
                name = known.name
            if not ctx.authorize("DESCRIBE", "TOPIC", name):
                topics.append(_error_topic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            meta: TopicMeta | None = store.topics.get(name)
            if meta is None and auto and ctx.authorize("CREATE", "TOPIC", name):
                meta = broker.maybe_auto_create(name)
                if meta is not None:
                    # Kafka answers LEADER_NOT_AVAILABLE while a new topic is being created; ours is ready.
                    topics.append(topic_entry(ctx, meta))
                    continue
            if meta is None:
                topics.append(_error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                continue
            topics.append(topic_entry(ctx, meta))
    return {
        "throttle_time_ms": 0,
        "brokers": broker_list(ctx),
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "topics": topics if listing is None else listing,
    }


# Encoded topic entries by (version, node, name, topic id, partitions): everything an entry holds. A
# client listing every topic of a 10,000-topic broker (a plan does, each time) then costs a join
# instead of building and encoding 10,000 entry dicts. Bounded: cleared past ENTRY_CACHE entries.
_ENCODED: dict[tuple[int, int, str, uuid.UUID, int], bytes] = {}
ENTRY_CACHE = 100_000


def all_topics_encoded(ctx: RequestContext, metas: list[TopicMeta]) -> Raw:
    version, node = ctx.api_version, ctx.broker.node_id
    write = element_writer("MetadataResponse", version, "topics")
    parts = []
    for meta in metas:
        key = (version, node, meta.name, meta.topic_id, meta.partitions)
        encoded = _ENCODED.get(key)
        if encoded is None:
            if len(_ENCODED) >= ENTRY_CACHE:
                _ENCODED.clear()
            out = bytearray()
            write(out, topic_entry(ctx, meta))
            encoded = _ENCODED[key] = bytes(out)
        parts.append(encoded)
    return Raw(array_prefix(len(parts), is_flexible("MetadataResponse", version)) + b"".join(parts))


def register(registry: HandlerRegistry) -> None:
    registry.register(3, "Metadata", (0, 12), handle)
