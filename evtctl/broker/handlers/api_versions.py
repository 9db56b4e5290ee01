"""ApiVersions (key 18): advertises exactly the registered handlers' version ranges."""

from __future__ import annotations

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message


def api_keys(registry: HandlerRegistry) -> list[Message]:
    return [
        {"api_key": h.api_key, "min_version": h.min_version, "max_version": h.max_version}
        for h in registry.all()
    ]


async def handle(ctx: RequestContext, request: Message) -> Message:
    # Only defaults in tagged fields (supported/finalized features): they are not written at all, which
    # older librdkafka (2.0.2) requires.
    return {"error_code": 0, "api_keys": api_keys(ctx.broker.registry), "throttle_time_ms": 0}


def register(registry: HandlerRegistry) -> None:
    registry.register(18, "ApiVersions", (0, 4), handle)
