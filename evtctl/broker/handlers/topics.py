"""CreateTopics (19), DeleteTopics (20), CreatePartitions (37)."""

from __future__ import annotations

import re
import uuid
from collections import Counter

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.handlers.configs import topic_config_entries, validate_topic_configs
from evtctl.broker.protocol.codec import ZERO_UUID, Message
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.kafka.topic_configs import ConfigValueError

MAX_PARTITIONS = 10_000

_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_NAME_LENGTH = 249


def validate_topic_name(name: str | None) -> str | None:
    """Kafka's topic-name rules; returns a message for an invalid name, else None."""
    if not name:
        return "topic name is empty"
    if name in (".", ".."):
        return f"topic name {name!r} is not allowed"
    if len(name) > MAX_NAME_LENGTH:
        return f"topic name is longer than {MAX_NAME_LENGTH} characters"
    if not _LEGAL.match(name):
        return f"topic name {name!r} contains characters other than ASCII alphanumerics, '.', '_' and '-'"
    return None


def _topic_result(name: str, code: ErrorCode, message: str | None) -> Message:
    return {
        "name": name,
        "error_code": code,
        "error_message": message,
        "topic_config_error_code": 0,
        "num_partitions": -1,
        "replication_factor": -1,
        "configs": None,
    }


async def create_topics(ctx: RequestContext, request: Message) -> Message:
    with ctx.broker.store.batch():  # one journal write + fsync for the whole request
        return _create_topics(ctx, request)


def _create_topics(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    validate_only = bool(request.get("validate_only", False))
    names = Counter(t["name"] for t in request["topics"])
    results: list[Message] = []
    for t in request["topics"]:
        name: str = t["name"]
        if names[name] > 1:
            results.append(_topic_result(name, ErrorCode.INVALID_REQUEST, "topic listed more than once"))
            continue
        if not (
            ctx.authorize("CREATE", "CLUSTER", "kafka-cluster") or ctx.authorize("CREATE", "TOPIC", name)
        ):
            results.append(_topic_result(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, None))
            continue
        problem = validate_topic_name(name)
        if problem:
            results.append(_topic_result(name, ErrorCode.INVALID_TOPIC_EXCEPTION, problem))
            continue
        if name in broker.store.topics:
            results.append(
                _topic_result(name, ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists")
            )
            continue
        partitions, rf = t["num_partitions"], t["replication_factor"]
        assignments = t.get("assignments") or []
        if assignments:
            if partitions != -1 or rf != -1:
                results.append(
                    _topic_result(
                        name,
                        ErrorCode.INVALID_REQUEST,
                        "give either assignments or partitions/replication factor",
                    )
                )
                continue
            indexes = sorted(a["partition_index"] for a in assignments)
            if indexes != list(range(len(assignments))) or any(
                a["broker_ids"] != [broker.node_id] for a in assignments
            ):
                results.append(
                    _topic_result(
                        name,
                        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                        f"every partition must be assigned to broker {broker.node_id} only",
                    )
                )
                continue
            partitions, rf = len(assignments), 1
        if partitions == -1:
            partitions = broker.cfg.num_partitions
        if rf == -1:
            rf = 1
        if partitions < 1 or partitions > MAX_PARTITIONS:
            results.append(
                _topic_result(
                    name,
                    ErrorCode.INVALID_PARTITIONS,
                    f"number of partitions must be between 1 and {MAX_PARTITIONS}",
                )
            )
            continue
        if rf != 1:
            results.append(
                _topic_result(
                    name,
                    ErrorCode.INVALID_REPLICATION_FACTOR,
                    f"replication factor {rf} is larger than the 1 available broker"
                    if rf > 1
                    else "replication factor must be at least 1",
                )
            )
            continue
        try:
            configs = validate_topic_configs({c["name"]: c["value"] for c in t.get("configs") or []})
        except ConfigValueError as err:
            results.append(_topic_result(name, ErrorCode.INVALID_CONFIG, str(err)))
            continue
        topic_id = ZERO_UUID if validate_only else broker.create_topic(name, partitions, configs).topic_id
        results.append(
            {
                "name": name,
                "topic_id": topic_id,
                "error_code": 0,
                "error_message": None,
                "num_partitions": partitions,
                "replication_factor": 1,
                "configs": [
                    {
                        "name": e["name"],
                        "value": e["value"],
                        "read_only": e["read_only"],
                        "config_source": e["config_source"],
                        "is_sensitive": e["is_sensitive"],
                    }
                    for e in topic_config_entries(
                        broker, configs, synonyms=False, docs=False, version=ctx.api_version
                    )
                ],
            }
        )
    return {"throttle_time_ms": 0, "topics": results}


async def delete_topics(ctx: RequestContext, request: Message) -> Message:
    with ctx.broker.store.batch():
        return _delete_topics(ctx, request)


def _delete_topics(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    wanted: list[tuple[str | None, uuid.UUID]] = []
    if ctx.api_version >= 6:
        wanted = [(t.get("name"), t.get("topic_id") or ZERO_UUID) for t in request.get("topics") or []]
    else:
        wanted = [(n, ZERO_UUID) for n in request.get("topic_names") or []]
    responses: list[Message] = []
    for name, tid in wanted:
        if name is None:
            meta = broker.store.by_id.get(tid)
            if meta is None:
                responses.append(
                    {
                        "name": None,
                        "topic_id": tid,
                        "error_code": ErrorCode.UNKNOWN_TOPIC_ID,
                        "error_message": f"no topic with id {tid}",
                    }
                )
                continue
            name = meta.name
        if not ctx.authorize("DELETE", "TOPIC", name):
            responses.append(
                {"name": name, "topic_id": tid, "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED}
            )
            continue
        found = broker.store.topics.get(name)
        if found is None:
            responses.append(
                {
                    "name": name,
                    "topic_id": tid,
                    "error_code": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    "error_message": f"topic {name!r} does not exist",
                }
            )
            continue
        topic_id = found.topic_id
        broker.delete_topic(name)
        responses.append({"name": name, "topic_id": topic_id, "error_code": 0, "error_message": None})
    return {"throttle_time_ms": 0, "responses": responses}


async def create_partitions(ctx: RequestContext, request: Message) -> Message:
    with ctx.broker.store.batch():
        return _create_partitions(ctx, request)


def _create_partitions(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    validate_only = bool(request.get("validate_only", False))
    results: list[Message] = []
    for t in request["topics"]:
        name, count = t["name"], t["count"]
        meta = broker.store.topics.get(name)
        code, message = ErrorCode.NONE, None
        if not ctx.authorize("ALTER", "TOPIC", name):
            code = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        elif meta is None:
            code, message = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {name!r} does not exist"
        elif count <= meta.partitions:
            code = ErrorCode.INVALID_PARTITIONS
            message = (
                f"topic {name!r} has {meta.partitions} partitions; the new count must be larger, got {count}"
            )
        elif count > MAX_PARTITIONS:
            code, message = ErrorCode.INVALID_PARTITIONS, f"at most {MAX_PARTITIONS} partitions"
        elif t.get("assignments") and (
            len(t["assignments"]) != count - meta.partitions
            or any(a["broker_ids"] != [broker.node_id] for a in t["assignments"])
        ):
            code = ErrorCode.INVALID_REPLICA_ASSIGNMENT
            message = f"new partitions must be assigned to broker {broker.node_id} only"
        elif not validate_only:
            broker.add_partitions(name, count)
        results.append({"name": name, "error_code": code, "error_message": message})
    return {"throttle_time_ms": 0, "results": results}


def register(registry: HandlerRegistry) -> None:
    registry.register(19, "CreateTopics", (0, 7), create_topics)
    registry.register(20, "DeleteTopics", (0, 6), delete_topics)
    registry.register(37, "CreatePartitions", (0, 3), create_partitions)
