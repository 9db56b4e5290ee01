"""ListOffsets (key 2), versions 1-9: earliest, latest, by timestamp (exact record), max timestamp."""

from __future__ import annotations

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.protocol.records import CorruptBatch

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5


async def handle(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    read_committed = request.get("isolation_level", 0) == 1
    topics: list[Message] = []
    for t in request["topics"]:
        name = t["name"]
        allowed = ctx.authorize("DESCRIBE", "TOPIC", name)
        parts: list[Message] = []
        for p in t["partitions"]:
            out: Message = {
                "partition_index": p["partition_index"],
                "error_code": 0,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
            }
            parts.append(out)
            plog = broker.partition_log(name, p["partition_index"]) if allowed else None
            if not allowed:
                out["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            if plog is None:
                out["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            ts = p["timestamp"]
            if ts in (EARLIEST, EARLIEST_LOCAL):
                out.update(offset=plog.log_start_offset, leader_epoch=0)
            elif ts == LATEST:
                end = plog.high_watermark
                if read_committed:
                    hook = broker.plugins.get("fetch_stable_info")
                    if callable(hook):
                        end = int(hook(plog)[0])
                out.update(offset=end, leader_epoch=0)
            elif ts == LATEST_TIERED:
                out.update(offset=-1)
            elif ts == MAX_TIMESTAMP or ts >= 0:
                try:
                    found = (
                        plog.max_timestamp_offset() if ts == MAX_TIMESTAMP else plog.offset_for_timestamp(ts)
                    )
                except CorruptBatch as err:
                    out["error_code"] = ErrorCode.CORRUPT_MESSAGE
                    out["error_message"] = str(err)
                    continue
                if found is not None:
                    out.update(offset=found[0], timestamp=found[1], leader_epoch=0)
            else:
                out["error_code"] = ErrorCode.INVALID_REQUEST
        topics.append({"name": name, "partitions": parts})
    return {"throttle_time_ms": 0, "topics": topics}


def register(registry: HandlerRegistry) -> None:
    registry.register(2, "ListOffsets", (1, 9), handle)
