"""DescribeCluster (key 60), versions 0-1."""

from __future__ import annotations

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.handlers.metadata import broker_list
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.errors import ErrorCode

BROKERS_ENDPOINT = 1


async def handle(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    if request.get("endpoint_type", BROKERS_ENDPOINT) != BROKERS_ENDPOINT:
        return {
            "error_code": ErrorCode.UNSUPPORTED_VERSION,
            "error_message": "only broker endpoints exist",
            "endpoint_type": request.get("endpoint_type"),
            "cluster_id": broker.cluster_id,
            "controller_id": -1,
            "brokers": [],
        }
    if not ctx.authorize("DESCRIBE", "CLUSTER", "kafka-cluster"):
        return {
            "error_code": ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            "cluster_id": broker.cluster_id,
            "controller_id": -1,
            "brokers": [],
        }
    brokers = [
        {"broker_id": b["node_id"], "host": b["host"], "port": b["port"], "rack": None}
        for b in broker_list(ctx)
    ]
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": BROKERS_ENDPOINT,
        "cluster_id": broker.cluster_id,
        "controller_id": broker.node_id,
        "brokers": brokers,
        "cluster_authorized_operations": -2147483648,
    }


def register(registry: HandlerRegistry) -> None:
    registry.register(60, "DescribeCluster", (0, 1), handle)
