"""Fetch (key 1), versions 4-16: file-slice reads, long poll woken by appends, byte limits, topic ids.

Fetch sessions (KIP-227) are not kept: every response carries session id 0, which tells clients to send
full fetch requests.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.log.partition import PartitionLog
from evtctl.broker.protocol.codec import ZERO_UUID, Message
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.protocol.records import LOG_OVERHEAD

READ_COMMITTED = 1


def _trim_to_offset(data: bytes | memoryview, limit_offset: int) -> bytes | memoryview:
    """Drop batches starting at or after ``limit_offset`` (read_committed stops at the LSO)."""
    pos = 0
    while pos + LOG_OVERHEAD <= len(data):
        base = int.from_bytes(data[pos : pos + 8], "big", signed=True)
        if base >= limit_offset:
            break
        pos += int.from_bytes(data[pos + 8 : pos + 12], "big", signed=True) + LOG_OVERHEAD
    return data if pos >= len(data) else memoryview(data)[:pos]


def _stable_info(ctx: RequestContext, plog: PartitionLog) -> tuple[int, list[Message] | None]:
    """(last stable offset, aborted transactions); the transactions area supplies a hook."""
    hook = ctx.broker.plugins.get("fetch_stable_info")
    if callable(hook):
        lso, aborted = hook(plog)
        return int(lso), aborted
    return plog.high_watermark, None


class _Plan:
    __slots__ = ("partitions", "response")

    def __init__(self) -> None:
        self.response: list[Message] = []
        # (partition response dict, log, fetch offset, partition max bytes)
        self.partitions: list[tuple[Message, PartitionLog | None, int, int]] = []


def _plan(ctx: RequestContext, request: Message) -> _Plan:
    broker = ctx.broker
    plan = _Plan()
    by_id = ctx.api_version >= 13
    for t in request["topics"]:
        tid: uuid.UUID = t.get("topic_id") or ZERO_UUID
        name: str | None = t.get("topic")
        unknown_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if by_id:
            meta = broker.store.by_id.get(tid)
            name = meta.name if meta else None
            unknown_code = ErrorCode.UNKNOWN_TOPIC_ID
        allowed = name is not None and ctx.authorize("READ", "TOPIC", name)
        parts: list[Message] = []
        for p in t["partitions"]:
            resp: Message = {
                "partition_index": p["partition"],
                "error_code": 0,
                "high_watermark": -1,
                "last_stable_offset": -1,
                "log_start_offset": -1,
                "aborted_transactions": None,
                "preferred_read_replica": -1,
                "records": None,
            }
            plog = broker.partition_log(name, p["partition"]) if name is not None else None
            if name is not None and not allowed:
                resp["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                plog = None
            elif plog is None:
                resp["error_code"] = unknown_code
            parts.append(resp)
            plan.partitions.append((resp, plog, p["fetch_offset"], p["partition_max_bytes"]))
        plan.response.append({"topic": name or "", "topic_id": tid, "partitions": parts})
    return plan


def _fill(ctx: RequestContext, plan: _Plan, max_bytes: int, isolation: int) -> tuple[int, bool]:
    """Read data into the planned responses. Returns (bytes gathered, whether an error must be sent now)."""
    remaining = max_bytes
    total = 0
    urgent = False
    for resp, plog, offset, part_max in plan.partitions:
        if plog is None:
            urgent = True
            continue
        if plog.deleted:
            resp["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            urgent = True
            continue
        hw = plog.high_watermark
        lso, aborted = _stable_info(ctx, plog)
        resp.update(high_watermark=hw, last_stable_offset=lso, log_start_offset=plog.log_start_offset)
        if offset < plog.log_start_offset or offset > plog.log_end_offset:
            resp["error_code"] = ErrorCode.OFFSET_OUT_OF_RANGE
            resp["records"] = None
            urgent = True
            continue
        resp["error_code"] = 0
        limit = hw if isolation != READ_COMMITTED else lso
        if offset >= limit or (remaining <= 0 and total > 0):
            resp["records"] = b""
            continue
        # KIP-74: the first non-empty partition returns at least one whole batch even if it is too big.
        data = plog.read(offset, min(part_max, remaining), oversize_first=total == 0)
        if isolation == READ_COMMITTED:
            data = _trim_to_offset(data, limit)
            resp["aborted_transactions"] = aborted if aborted is not None else []
        resp["records"] = data
        total += len(data)
        remaining -= len(data)
    return total, urgent


async def handle(ctx: RequestContext, request: Message) -> Message:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(request["max_wait_ms"], 0) / 1000
    min_bytes = max(request.get("min_bytes", 1), 1) if request["max_wait_ms"] > 0 else 0
    max_bytes = request.get("max_bytes", 0x7FFFFFFF)
    isolation = request.get("isolation_level", 0)
    plan = _plan(ctx, request)
    while True:
        total, urgent = _fill(ctx, plan, max_bytes, isolation)
        timeout = deadline - loop.time()
        if urgent or total >= min_bytes or timeout <= 0 or ctx.broker.closing:
            break
        waiters: list[asyncio.Future[Any]] = [plog.waiter() for _, plog, _, _ in plan.partitions if plog]
        if not waiters:
            break
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for fut in pending:
            fut.cancel()
    return {"throttle_time_ms": 0, "error_code": 0, "session_id": 0, "responses": plan.response}


def register(registry: HandlerRegistry) -> None:
    registry.register(1, "Fetch", (4, 16), handle)
