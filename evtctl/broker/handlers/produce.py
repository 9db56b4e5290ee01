"""Produce (key 0), versions 3-10: record batches are validated by header and CRC only, stored as-is.

All appends of a request happen before its first ``await``, so a connection's pipelined requests are
appended in order; acks=1 then waits for the write, acks=all for the shared group-commit fsync.
"""

from __future__ import annotations

import asyncio

from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.log.partition import PartitionLog, ProduceError
from evtctl.broker.log.writer import WriteJob
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.protocol.records import CorruptBatch, decode_records, validate_produce_records


def _partition_error(index: int, code: ErrorCode, message: str | None = None, log_start: int = -1) -> Message:
    return {
        "index": index,
        "error_code": code,
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": log_start,
        "record_errors": [],
        "error_message": message,
    }


def _check_keys(plog: PartitionLog, data: bytes | bytearray, batches: list) -> str | None:  # type: ignore[type-arg]
    """Compacted topics need a key on every record (Kafka decodes the batch for this check, too)."""
    for pos, hdr in batches:
        if hdr.is_control:
            continue
        for i, rec in enumerate(decode_records(memoryview(data)[pos : pos + hdr.size])):
            if rec.key is None:
                return f"record {i} has no key; compacted topic {plog.topic!r} requires keys"
    return None


def produce_partition(
    ctx: RequestContext, plog: PartitionLog, acks: int, index: int, records: bytes | None
) -> tuple[Message, WriteJob | None]:
    """Validate and append one partition's records. Returns (response, the queued write or None)."""
    if records is None or len(records) == 0:
        return _partition_error(index, ErrorCode.CORRUPT_MESSAGE, "no records"), None
    data = bytearray(records)
    try:
        batches = validate_produce_records(data)
    except CorruptBatch as err:
        code = (
            ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT if err.unsupported_format else ErrorCode.CORRUPT_MESSAGE
        )
        return _partition_error(index, code, str(err), plog.log_start_offset), None
    max_bytes = plog.cfg_int("max.message.bytes")
    for _, hdr in batches:
        if hdr.size > max_bytes:
            return (
                _partition_error(
                    index,
                    ErrorCode.MESSAGE_TOO_LARGE,
                    f"record batch of {hdr.size} bytes exceeds max.message.bytes={max_bytes}",
                    plog.log_start_offset,
                ),
                None,
            )
        if hdr.is_control:
            return _partition_error(
                index, ErrorCode.INVALID_RECORD, "clients may not write control batches"
            ), None
    if "compact" in plog.configs.get("cleanup.policy", ""):
        try:
            problem = _check_keys(plog, data, batches)
        except CorruptBatch as err:
            return _partition_error(index, ErrorCode.CORRUPT_MESSAGE, str(err), plog.log_start_offset), None
        if problem:
            resp = _partition_error(index, ErrorCode.INVALID_RECORD, problem, plog.log_start_offset)
            resp["record_errors"] = [{"batch_index": 0, "batch_index_error_message": problem}]
            return resp, None
    if acks == -1 and plog.cfg_int("min.insync.replicas") > 1:
        return (
            _partition_error(
                index,
                ErrorCode.NOT_ENOUGH_REPLICAS,
                f"min.insync.replicas={plog.configs['min.insync.replicas']} but the partition has 1 replica",
                plog.log_start_offset,
            ),
            None,
        )
    hook = ctx.broker.plugins.get("before_append")  # transactions check producer/txn state here
    if callable(hook):
        problem_code = hook(ctx, plog, batches)
        if problem_code:
            return _partition_error(index, ErrorCode(problem_code), None, plog.log_start_offset), None
    try:
        sync = acks == -1 and ctx.broker.cfg.flush_policy == "fsync"
        result = plog.append(data, batches, sync=sync)
    except ProduceError as err:
        return _partition_error(index, err.code, err.message, plog.log_start_offset), None
    except OSError as err:
        return _partition_error(index, ErrorCode.KAFKA_STORAGE_ERROR, str(err), plog.log_start_offset), None
    after = ctx.broker.plugins.get("after_append")
    if callable(after) and not result.duplicate:
        after(ctx, plog, batches, data, result.base_offset)
    return (
        {
            "index": index,
            "error_code": 0,
            "base_offset": result.base_offset,
            "log_append_time_ms": result.log_append_time,
            "log_start_offset": plog.log_start_offset,
            "record_errors": [],
            "error_message": None,
        },
        result.job,
    )


async def handle(ctx: RequestContext, request: Message) -> Message | None:
    broker = ctx.broker
    acks = request["acks"]
    responses: list[Message] = []
    pending: list[tuple[Message, asyncio.Future[None]]] = []
    for topic in request["topic_data"]:
        name = topic["name"]
        parts: list[Message] = []
        allowed = ctx.authorize("WRITE", "TOPIC", name)
        if allowed and name not in broker.store.topics and ctx.authorize("CREATE", "TOPIC", name):
            broker.maybe_auto_create(name)
        for p in topic["partition_data"]:
            index = p["index"]
            if not allowed:
                parts.append(_partition_error(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            if acks not in (0, 1, -1):
                parts.append(_partition_error(index, ErrorCode.INVALID_REQUIRED_ACKS))
                continue
            plog = broker.partition_log(name, index)
            if plog is None:
                parts.append(_partition_error(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                continue
            resp, job = produce_partition(ctx, plog, acks, index, p["records"])
            parts.append(resp)
            if job is not None:
                fut = job.synced if job.synced is not None else job.written
                if fut is not None:
                    pending.append((resp, fut))
        responses.append({"name": name, "partition_responses": parts})
    # acks=1: written; acks=all: fsynced (group commit in the writer thread). acks=0 also waits for the
    # write, without answering: the connection's in-flight limit then bounds the queued bytes.
    for resp, fut in pending:
        try:
            await fut
        except OSError as err:
            resp.update(error_code=ErrorCode.KAFKA_STORAGE_ERROR, base_offset=-1, error_message=str(err))
    if acks == 0:
        return None
    return {"responses": responses, "throttle_time_ms": 0}


def register(registry: HandlerRegistry) -> None:
    registry.register(0, "Produce", (3, 10), handle)
