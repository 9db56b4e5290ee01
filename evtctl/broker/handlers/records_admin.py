"""DeleteRecords (key 21), versions 0-2: advance the log start offset."""

from __future__ import annotations

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.errors import ErrorCode


async def handle(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    topics: list[Message] = []
    for t in request["topics"]:
        name = t["name"]
        allowed = ctx.authorize("DELETE", "TOPIC", name)
        parts: list[Message] = []
        for p in t["partitions"]:
            out: Message = {"partition_index": p["partition_index"], "low_watermark": -1, "error_code": 0}
            parts.append(out)
            plog = broker.partition_log(name, p["partition_index"]) if allowed else None
            if not allowed:
                out["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif plog is None:
                out["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif "delete" not in plog.configs.get("cleanup.policy", "delete"):
                out["error_code"] = ErrorCode.POLICY_VIOLATION  # as Kafka: compact-only topics refuse it
            else:
                offset = plog.high_watermark if p["offset"] == -1 else p["offset"]
                if offset < 0 or offset > plog.high_watermark:
                    out["error_code"] = ErrorCode.OFFSET_OUT_OF_RANGE
                else:
                    plog.advance_log_start(offset)
                    out["low_watermark"] = plog.log_start_offset
        topics.append({"name": name, "partitions": parts})
    return {"throttle_time_ms": 0, "topics": topics}


def register(registry: HandlerRegistry) -> None:
    registry.register(21, "DeleteRecords", (0, 2), handle)
