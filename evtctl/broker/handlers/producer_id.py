"""InitProducerId (key 22), versions 0-4, for idempotent producers.

Transactional producers (``transactional_id`` set) are delegated to ``broker.plugins["init_transactional_
producer"]`` when the transactions area installs it; without it they get an error.
"""

from __future__ import annotations

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.errors import ErrorCode

MAX_EPOCH = 32767


async def handle(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    if request.get("transactional_id") is not None:
        hook = broker.plugins.get("init_transactional_producer")
        if callable(hook):
            result: Message = await hook(ctx, request)
            return result
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.INVALID_REQUEST,
            "producer_id": -1,
            "producer_epoch": -1,
        }
    if not (ctx.authorize("IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster")):
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            "producer_id": -1,
            "producer_epoch": -1,
        }
    pid, epoch = request.get("producer_id", -1), request.get("producer_epoch", -1)
    if pid >= 0 and 0 <= epoch < MAX_EPOCH:
        # KIP-360: an idempotent producer may bump its own epoch to reset sequences after an error.
        return {"throttle_time_ms": 0, "error_code": 0, "producer_id": pid, "producer_epoch": epoch + 1}
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "producer_id": broker.store.allocate_producer_id(),
        "producer_epoch": 0,
    }


def register(registry: HandlerRegistry) -> None:
    registry.register(22, "InitProducerId", (0, 4), handle)
