"""Wire handlers for the classic group protocol and committed offsets.

FindCoordinator 0-6, JoinGroup 0-9, SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5, OffsetCommit 2-9,
OffsetFetch 1-9, ListGroups 0-5, DescribeGroups 0-5, DeleteGroups 0-2, OffsetDelete 0. Authorization
follows Kafka's KafkaApis: READ on the group to take part in it, DESCRIBE to look at it, DELETE to
delete it, READ on a topic to commit its offsets and DESCRIBE to fetch them.
"""

from __future__ import annotations

from typing import Any

from evtctl.broker.context import RequestContext
from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.coordinator import GroupConfig, GroupCoordinator, GroupState
from evtctl.broker.groups.offsets import OffsetStore
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message

PLUGIN_KEY = "groups"


def coordinator_of(broker: Any) -> GroupCoordinator:
    """The node's group coordinator, created at start-up from the broker's data dir and config."""
    coord = broker.plugins.get(PLUGIN_KEY)
    if coord is None:
        coord = GroupCoordinator(
            OffsetStore(broker.data_dir),
            GroupConfig(initial_rebalance_delay_ms=broker.cfg.group_initial_rebalance_delay_ms),
        )
        broker.plugins[PLUGIN_KEY] = coord
    assert isinstance(coord, GroupCoordinator)
    return coord


def coordinator(ctx: RequestContext) -> GroupCoordinator:
    return coordinator_of(ctx.broker)


def _coordinator_node(ctx: RequestContext) -> tuple[int, str, int]:
    from evtctl.broker.handlers.metadata import broker_list

    node = broker_list(ctx)[0]
    return int(node["node_id"]), str(node["host"]), int(node["port"])


# ------------------------------------------------------------------ FindCoordinator
async def find_coordinator(ctx: RequestContext, req: Message) -> Message:
    node_id, host, port = _coordinator_node(ctx)
    key_type = req.get("key_type", 0)
    keys = req["coordinator_keys"] if ctx.api_version >= 4 else [req["key"]]
    results = []
    for key in keys:
        if key_type == 0:
            allowed, denied = ctx.authorize("DESCRIBE", "GROUP", key), Err.GROUP_AUTHORIZATION_FAILED
        elif key_type == 1:
            allowed = ctx.authorize("DESCRIBE", "TRANSACTIONAL_ID", key)
            denied = Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        else:
            allowed, denied = False, Err.INVALID_REQUEST
        if allowed:
            results.append(
                {
                    "key": key,
                    "node_id": node_id,
                    "host": host,
                    "port": port,
                    "error_code": 0,
                    "error_message": None,
                }
            )
        else:
            results.append(
                {
                    "key": key,
                    "node_id": -1,
                    "host": "",
                    "port": -1,
                    "error_code": denied,
                    "error_message": denied.name,
                }
            )
    if ctx.api_version >= 4:
        return {"throttle_time_ms": 0, "coordinators": results}
    only = results[0]
    return {
        "throttle_time_ms": 0,
        "error_code": only["error_code"],
        "error_message": only["error_message"],
        "node_id": only["node_id"],
        "host": only["host"],
        "port": only["port"],
    }


# ------------------------------------------------------------------ membership
async def join_group(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    if not ctx.authorize("READ", "GROUP", group_id):
        return {
            "throttle_time_ms": 0,
            "error_code": Err.GROUP_AUTHORIZATION_FAILED,
            "generation_id": -1,
            "protocol_name": None if ctx.api_version >= 7 else "",
            "leader": "",
            "member_id": "",
            "members": [],
        }
    session = req["session_timeout_ms"]
    rebalance = req.get("rebalance_timeout_ms", -1)
    result = await coordinator(ctx).join(
        group_id,
        req["member_id"],
        req.get("group_instance_id"),
        req["protocol_type"],
        [(p["name"], p["metadata"]) for p in req["protocols"]],
        session_timeout_ms=session,
        rebalance_timeout_ms=session if rebalance < 0 else rebalance,
        client_id=ctx.client_id or "",
        client_host="/" + ctx.client_address[0],
        require_known_member_id=ctx.api_version >= 4,
        reason=req.get("reason"),
    )
    protocol_name = result.protocol_name
    if protocol_name is None and ctx.api_version < 7:
        protocol_name = ""
    return {
        "throttle_time_ms": 0,
        "error_code": result.error,
        "generation_id": result.generation_id,
        "protocol_type": result.protocol_type,
        "protocol_name": protocol_name,
        "leader": result.leader,
        "skip_assignment": result.skip_assignment,
        "member_id": result.member_id,
        "members": [
            {"member_id": m.member_id, "group_instance_id": m.group_instance_id, "metadata": m.metadata}
            for m in result.members
        ],
    }


async def sync_group(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    if not ctx.authorize("READ", "GROUP", group_id):
        return {"throttle_time_ms": 0, "error_code": Err.GROUP_AUTHORIZATION_FAILED, "assignment": b""}
    result = await coordinator(ctx).sync(
        group_id,
        req["generation_id"],
        req["member_id"],
        req.get("group_instance_id"),
        req.get("protocol_type"),
        req.get("protocol_name"),
        [(a["member_id"], a["assignment"]) for a in req["assignments"]],
    )
    return {
        "throttle_time_ms": 0,
        "error_code": result.error,
        "protocol_type": result.protocol_type,
        "protocol_name": result.protocol_name,
        "assignment": result.assignment,
    }


async def heartbeat(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    if not ctx.authorize("READ", "GROUP", group_id):
        return {"throttle_time_ms": 0, "error_code": Err.GROUP_AUTHORIZATION_FAILED}
    err = coordinator(ctx).heartbeat(
        group_id, req["generation_id"], req["member_id"], req.get("group_instance_id")
    )
    return {"throttle_time_ms": 0, "error_code": err}


async def leave_group(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    if not ctx.authorize("READ", "GROUP", group_id):
        return {"throttle_time_ms": 0, "error_code": Err.GROUP_AUTHORIZATION_FAILED, "members": []}
    if ctx.api_version >= 3:
        members = [(m["member_id"], m.get("group_instance_id")) for m in req["members"]]
    else:
        members = [(req["member_id"], None)]
    err, results = coordinator(ctx).leave(group_id, members)
    if ctx.api_version < 3:
        return {"throttle_time_ms": 0, "error_code": err if err else (results[0] if results else 0)}
    return {
        "throttle_time_ms": 0,
        "error_code": err,
        "members": [
            {"member_id": mid, "group_instance_id": iid, "error_code": e}
            for (mid, iid), e in zip(members, results, strict=False)
        ],
    }


# ------------------------------------------------------------------ offsets
def _partition_exists(ctx: RequestContext, topic: str, partition: int) -> bool:
    meta = ctx.broker.store.topics.get(topic)
    return meta is not None and 0 <= partition < meta.partitions


async def offset_commit(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    coord = coordinator(ctx)
    if not ctx.authorize("READ", "GROUP", group_id):
        group_err: Err = Err.GROUP_AUTHORIZATION_FAILED
    else:
        group_err = coord.validate_commit(
            group_id,
            req.get("generation_id_or_member_epoch", -1),
            req.get("member_id", ""),
            req.get("group_instance_id"),
        )
    max_meta = coord.config.offset_metadata_max_bytes
    to_store: list[tuple[str, int, int, int, str]] = []
    topics_out = []
    for t in req["topics"]:
        name = t["name"]
        topic_ok = ctx.authorize("READ", "TOPIC", name)
        parts_out = []
        for p in t["partitions"]:
            idx = p["partition_index"]
            metadata = p.get("committed_metadata") or ""
            if group_err:
                err: Err = group_err
            elif not topic_ok:
                err = Err.TOPIC_AUTHORIZATION_FAILED
            elif not _partition_exists(ctx, name, idx):
                err = Err.UNKNOWN_TOPIC_OR_PARTITION
            elif len(metadata.encode()) > max_meta:
                err = Err.OFFSET_METADATA_TOO_LARGE
            else:
                err = Err.NONE
                epoch = p.get("committed_leader_epoch", -1)
                to_store.append((name, idx, p["committed_offset"], epoch, metadata))
            parts_out.append({"partition_index": idx, "error_code": err})
        topics_out.append({"name": name, "partitions": parts_out})
    if to_store:
        coord.offsets.commit(group_id, to_store, sync=False)
        await coord.offsets.sync()  # answered once durable, without blocking the event loop
    return {"throttle_time_ms": 0, "topics": topics_out}


def _fetch_group(
    ctx: RequestContext, group_id: str, topics: list[Message] | None, require_stable: bool
) -> tuple[Err, list[Message]]:
    coord = coordinator(ctx)
    if not ctx.authorize("DESCRIBE", "GROUP", group_id):
        return Err.GROUP_AUTHORIZATION_FAILED, []
    pending = _pending_txn_offsets(ctx, group_id) if require_stable else set()
    out: list[Message] = []
    if topics is None:
        by_topic: dict[str, list[Message]] = {}
        for (topic, part), entry in sorted(coord.offsets.all_for(group_id).items()):
            if not ctx.authorize("DESCRIBE", "TOPIC", topic):
                continue  # all-topics fetch leaves out what the caller may not see
            by_topic.setdefault(topic, []).append(
                {
                    "partition_index": part,
                    "committed_offset": entry.offset,
                    "committed_leader_epoch": entry.leader_epoch,
                    "metadata": entry.metadata,
                    "error_code": 0,
                }
            )
        return Err.NONE, [{"name": t, "partitions": ps} for t, ps in by_topic.items()]
    for t in topics:
        name = t["name"]
        allowed = ctx.authorize("DESCRIBE", "TOPIC", name)
        parts = []
        for idx in t["partition_indexes"]:
            found = coord.offsets.fetch(group_id, name, idx) if allowed else None
            err = Err.NONE if allowed else Err.TOPIC_AUTHORIZATION_FAILED
            if allowed and (name, idx) in pending:
                err = Err.UNSTABLE_OFFSET_COMMIT
            parts.append(
                {
                    "partition_index": idx,
                    "committed_offset": found.offset if found else -1,
                    "committed_leader_epoch": found.leader_epoch if found else -1,
                    "metadata": found.metadata if found else "",
                    "error_code": err,
                }
            )
        out.append({"name": name, "partitions": parts})
    return Err.NONE, out


def _pending_txn_offsets(ctx: RequestContext, group_id: str) -> set[tuple[str, int]]:
    txn = ctx.broker.plugins.get("txn")
    pending = getattr(txn, "pending_offsets", None)
    return pending(group_id) if callable(pending) else set()


async def offset_fetch(ctx: RequestContext, req: Message) -> Message:
    require_stable = bool(req.get("require_stable", False))
    if ctx.api_version >= 8:
        groups = []
        for g in req["groups"]:
            err, topics = _fetch_group(ctx, g["group_id"], g.get("topics"), require_stable)
            groups.append({"group_id": g["group_id"], "topics": topics, "error_code": err})
        return {"throttle_time_ms": 0, "groups": groups}
    topics_req = req.get("topics")
    err, topics = _fetch_group(ctx, req["group_id"], topics_req, require_stable)
    if err and ctx.api_version < 2:
        # v0-1 have no top-level error: report it on every requested partition.
        topics = [
            {
                "name": t["name"],
                "partitions": [
                    {"partition_index": i, "committed_offset": -1, "metadata": "", "error_code": err}
                    for i in t["partition_indexes"]
                ],
            }
            for t in topics_req or []
        ]
    return {"throttle_time_ms": 0, "topics": topics, "error_code": err}


async def offset_delete(ctx: RequestContext, req: Message) -> Message:
    group_id = req["group_id"]
    if not ctx.authorize("DELETE", "GROUP", group_id):
        return {"error_code": Err.GROUP_AUTHORIZATION_FAILED, "throttle_time_ms": 0, "topics": []}
    coord = coordinator(ctx)
    group = coord.describe(group_id)
    if group is None or (group.state is GroupState.EMPTY and not coord.offsets.has_group(group_id)):
        return {"error_code": Err.GROUP_ID_NOT_FOUND, "throttle_time_ms": 0, "topics": []}
    subscribed = coord.subscribed_topics(group) if group.state is not GroupState.EMPTY else set()
    if group.state is not GroupState.EMPTY and subscribed is None:
        return {"error_code": Err.NON_EMPTY_GROUP, "throttle_time_ms": 0, "topics": []}
    topics_out, gone = [], []
    for t in req["topics"]:
        name = t["name"]
        allowed = ctx.authorize("READ", "TOPIC", name)
        parts = []
        for p in t["partitions"]:
            idx = p["partition_index"]
            if not allowed:
                err: Err = Err.TOPIC_AUTHORIZATION_FAILED
            elif subscribed and name in subscribed:
                err = Err.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                err = Err.NONE
                gone.append((name, idx))
            parts.append({"partition_index": idx, "error_code": err})
        topics_out.append({"name": name, "partitions": parts})
    coord.offsets.delete(group_id, gone)
    return {"error_code": 0, "throttle_time_ms": 0, "topics": topics_out}


# ------------------------------------------------------------------ listing and admin
async def list_groups(ctx: RequestContext, req: Message) -> Message:
    coord = coordinator(ctx)
    see_all = ctx.authorize("DESCRIBE", "CLUSTER", "kafka-cluster")
    groups = []
    for g in coord.list_groups(req.get("states_filter") or (), req.get("types_filter") or ()):
        if see_all or ctx.authorize("DESCRIBE", "GROUP", g.group_id):
            groups.append(
                {
                    "group_id": g.group_id,
                    "protocol_type": g.protocol_type or "",
                    "group_state": g.state.value,
                    "group_type": "classic",
                }
            )
    return {"throttle_time_ms": 0, "error_code": 0, "groups": groups}


def _describe_one(ctx: RequestContext, group_id: str) -> dict[str, Any]:
    empty: dict[str, Any] = {"group_id": group_id, "protocol_type": "", "protocol_data": "", "members": []}
    if not ctx.authorize("DESCRIBE", "GROUP", group_id):
        return {**empty, "error_code": Err.GROUP_AUTHORIZATION_FAILED, "group_state": ""}
    group = coordinator(ctx).describe(group_id)
    if group is None:
        return {**empty, "error_code": 0, "group_state": "Dead"}
    stable = group.state is GroupState.STABLE
    proto = group.protocol_name or ""
    members = [
        {
            "member_id": m.member_id,
            "group_instance_id": m.group_instance_id,
            "client_id": m.client_id,
            "client_host": m.client_host,
            "member_metadata": m.metadata_for(proto) if stable else b"",
            "member_assignment": m.assignment if stable else b"",
        }
        for m in group.members.values()
    ]
    return {
        "error_code": 0,
        "group_id": group_id,
        "group_state": group.state.value,
        "protocol_type": group.protocol_type or "",
        "protocol_data": proto if stable else "",
        "members": members,
    }


async def describe_groups(ctx: RequestContext, req: Message) -> Message:
    groups = [_describe_one(ctx, g) for g in req["groups"]]
    if req.get("include_authorized_operations"):
        for g in groups:
            if g["error_code"] == 0:
                g["authorized_operations"] = _group_operations(ctx, g["group_id"])
    return {"throttle_time_ms": 0, "groups": groups}


_GROUP_OPERATIONS = {"READ": 3, "DELETE": 6, "DESCRIBE": 8}  # Kafka AclOperation codes


def _group_operations(ctx: RequestContext, group_id: str) -> int:
    """Bit field of the operations the caller may perform on the group (KIP-430), asked without
    auditing: these are not requests to act."""
    security = ctx.broker.plugins.get("security")
    acls = getattr(security, "acls", None)
    bits = 0
    for name, code in _GROUP_OPERATIONS.items():
        if acls is None:
            allowed = True
        else:
            from evtctl.broker.auth.acl import Operation, ResourceType

            allowed = acls.authorize(
                ctx.principal, ctx.client_address[0], Operation[name], ResourceType.GROUP, group_id
            )
        if allowed:
            bits |= 1 << code
    return bits


async def delete_groups(ctx: RequestContext, req: Message) -> Message:
    coord = coordinator(ctx)
    results = []
    for group_id in req["groups_names"]:
        if not ctx.authorize("DELETE", "GROUP", group_id):
            err: Err = Err.GROUP_AUTHORIZATION_FAILED
        else:
            err = coord.delete_group(group_id)
        results.append({"group_id": group_id, "error_code": err})
    return {"throttle_time_ms": 0, "results": results}


def register(registry: HandlerRegistry) -> None:
    registry.register(10, "FindCoordinator", (0, 6), find_coordinator)
    registry.register(11, "JoinGroup", (0, 9), join_group)
    registry.register(14, "SyncGroup", (0, 5), sync_group)
    registry.register(12, "Heartbeat", (0, 4), heartbeat)
    registry.register(13, "LeaveGroup", (0, 5), leave_group)
    registry.register(8, "OffsetCommit", (2, 9), offset_commit)
    registry.register(9, "OffsetFetch", (1, 9), offset_fetch)
    registry.register(16, "ListGroups", (0, 5), list_groups)
    registry.register(15, "DescribeGroups", (0, 5), describe_groups)
    registry.register(42, "DeleteGroups", (0, 2), delete_groups)
    registry.register(47, "OffsetDelete", (0, 0), offset_delete)
    registry.on_start(coordinator_of)
    registry.on_start(_forget_offsets_of_deleted_topics)


def _forget_offsets_of_deleted_topics(broker: Any) -> None:
    """Like Kafka, deleting a topic deletes the committed offsets for it (a re-created topic of the
    same name must not resume from stale positions)."""
    api = broker.registry.get(20)  # DeleteTopics
    if api is None:
        return
    inner = api.handle

    async def delete_topics(ctx: RequestContext, req: Message) -> Message | None:
        response: Message | None = await inner(ctx, req)
        for r in (response or {}).get("responses", ()):
            if r.get("error_code") == 0 and r.get("name"):
                coordinator_of(ctx.broker).offsets.delete_topic(r["name"])
                hook = ctx.broker.plugins.get("on_topic_deleted")
                if callable(hook):
                    hook(r["name"])
        return response

    broker.registry.replace(20, delete_topics)
