"""Wire handlers for transactions and the hooks that connect the coordinator to Produce and Fetch.

InitProducerId with a transactional id (through the ``init_transactional_producer`` hook of the core's
handler), AddPartitionsToTxn 0-5, AddOffsetsToTxn 0-4, TxnOffsetCommit 0-5, EndTxn 0-5.
"""

from __future__ import annotations

from typing import Any

from evtctl.broker.context import RequestContext
from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.handlers import coordinator_of
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.log.partition import PartitionLog
from evtctl.broker.protocol.codec import Message
from evtctl.broker.protocol.records import TRANSACTIONAL_BIT, BatchHeader
from evtctl.broker.txn.coordinator import TransactionCoordinator, TxnError

PLUGIN_KEY = "txn"
OPERATION_NOT_ATTEMPTED = 55


def txn_of(broker: Any) -> TransactionCoordinator:
    coord = broker.plugins.get(PLUGIN_KEY)
    assert isinstance(coord, TransactionCoordinator)
    return coord


def install(broker: Any) -> None:
    if PLUGIN_KEY in broker.plugins:
        return
    coord = TransactionCoordinator(broker, coordinator_of(broker).offsets, broker.data_dir)
    broker.plugins[PLUGIN_KEY] = coord
    broker.plugins["init_transactional_producer"] = init_transactional_producer
    broker.plugins["fetch_stable_info"] = coord.index.stable_info

    def after_append(
        ctx: RequestContext,
        plog: PartitionLog,
        batches: list[tuple[int, BatchHeader]],
        data: bytearray,
        base_offset: int,
    ) -> None:
        offset = base_offset
        for _, hdr in batches:
            if hdr.attributes & TRANSACTIONAL_BIT and not hdr.is_control:
                coord.index.note_append((plog.topic, plog.partition), _at(hdr, offset))
            offset += hdr.last_offset_delta + 1

    def before_append(ctx: RequestContext, plog: PartitionLog, batches: list[tuple[int, BatchHeader]]) -> int:
        """Transactional data only for a partition of the producer's ongoing transaction, current epoch."""
        for _, hdr in batches:
            if hdr.attributes & TRANSACTIONAL_BIT and not hdr.is_control:
                err = coord.check_produce((plog.topic, plog.partition), hdr.producer_id, hdr.producer_epoch)
                if err:
                    return int(err)
        return 0

    broker.plugins["after_append"] = after_append
    broker.plugins["on_topic_deleted"] = coord.index.drop_topic
    broker.plugins["before_append"] = before_append
    coord.start()


def _at(hdr: BatchHeader, base_offset: int) -> BatchHeader:
    """The header as appended (the produce path assigns offsets after validation)."""
    if hdr.base_offset == base_offset:
        return hdr
    from dataclasses import replace

    return replace(hdr, base_offset=base_offset)


def _fail(code: Err) -> Message:
    return {"throttle_time_ms": 0, "error_code": code, "producer_id": -1, "producer_epoch": -1}


async def init_transactional_producer(ctx: RequestContext, req: Message) -> Message:
    tid = req["transactional_id"]
    if not ctx.authorize("WRITE", "TRANSACTIONAL_ID", tid):
        return _fail(Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    try:
        pid, epoch = await txn_of(ctx.broker).init_producer(
            tid, req["transaction_timeout_ms"], req.get("producer_id", -1), req.get("producer_epoch", -1)
        )
    except TxnError as err:
        return _fail(err.code)
    return {"throttle_time_ms": 0, "error_code": 0, "producer_id": pid, "producer_epoch": epoch}


def _add_one(ctx: RequestContext, tid: str, pid: int, epoch: int, topics: list[Message]) -> list[Message]:
    """AddPartitionsToTxn for one transaction: per-partition results (all or nothing, like Kafka)."""
    errors: dict[tuple[str, int], int] = {}
    wanted: list[tuple[str, int]] = []
    for t in topics:
        allowed = ctx.authorize("WRITE", "TOPIC", t["name"])
        meta = ctx.broker.store.topics.get(t["name"])
        for p in t["partitions"]:
            tp = (t["name"], p)
            wanted.append(tp)
            if not allowed:
                errors[tp] = Err.TOPIC_AUTHORIZATION_FAILED
            elif meta is None or not 0 <= p < meta.partitions:
                errors[tp] = Err.UNKNOWN_TOPIC_OR_PARTITION
    if not ctx.authorize("WRITE", "TRANSACTIONAL_ID", tid):
        errors = dict.fromkeys(wanted, Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    elif not errors:
        try:
            txn_of(ctx.broker).add_partitions(tid, pid, epoch, wanted)
        except TxnError as err:
            errors = dict.fromkeys(wanted, err.code)
    else:
        errors = {tp: errors.get(tp, OPERATION_NOT_ATTEMPTED) for tp in wanted}
    out: dict[str, list[Message]] = {}
    for name, part in wanted:
        out.setdefault(name, []).append(
            {"partition_index": part, "partition_error_code": errors.get((name, part), 0)}
        )
    return [{"name": n, "results_by_partition": ps} for n, ps in out.items()]


async def add_partitions_to_txn(ctx: RequestContext, req: Message) -> Message:
    if ctx.api_version <= 3:
        results = _add_one(
            ctx,
            req["v3_and_below_transactional_id"],
            req["v3_and_below_producer_id"],
            req["v3_and_below_producer_epoch"],
            req["v3_and_below_topics"],
        )
        return {"throttle_time_ms": 0, "results_by_topic_v3_and_below": results}
    out = []
    for txn in req["transactions"]:
        results = _add_one(
            ctx, txn["transactional_id"], txn["producer_id"], txn["producer_epoch"], txn["topics"]
        )
        out.append({"transactional_id": txn["transactional_id"], "topic_results": results})
    return {"throttle_time_ms": 0, "error_code": 0, "results_by_transaction": out}


async def add_offsets_to_txn(ctx: RequestContext, req: Message) -> Message:
    tid, group = req["transactional_id"], req["group_id"]
    if not ctx.authorize("WRITE", "TRANSACTIONAL_ID", tid):
        return {"throttle_time_ms": 0, "error_code": Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}
    if not ctx.authorize("READ", "GROUP", group):
        return {"throttle_time_ms": 0, "error_code": Err.GROUP_AUTHORIZATION_FAILED}
    try:
        txn_of(ctx.broker).add_offsets(tid, req["producer_id"], req["producer_epoch"], group)
    except TxnError as err:
        return {"throttle_time_ms": 0, "error_code": err.code}
    return {"throttle_time_ms": 0, "error_code": 0}


async def txn_offset_commit(ctx: RequestContext, req: Message) -> Message:
    tid, group = req["transactional_id"], req["group_id"]
    group_err: Err = Err.NONE
    if not ctx.authorize("WRITE", "TRANSACTIONAL_ID", tid):
        group_err = Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    elif not ctx.authorize("READ", "GROUP", group):
        group_err = Err.GROUP_AUTHORIZATION_FAILED
    elif req.get("member_id"):
        # KIP-447: a member of a live group must still be in the current generation.
        group_err = coordinator_of(ctx.broker).validate_commit(
            group, req.get("generation_id", -1), req["member_id"], req.get("group_instance_id")
        )
    entries: list[tuple[str, int, int, int, str]] = []
    results: dict[tuple[str, int], int] = {}
    for t in req["topics"]:
        allowed = ctx.authorize("READ", "TOPIC", t["name"])
        for p in t["partitions"]:
            tp = (t["name"], p["partition_index"])
            if group_err:
                results[tp] = group_err
            elif not allowed:
                results[tp] = Err.TOPIC_AUTHORIZATION_FAILED
            else:
                results[tp] = 0
                entries.append(
                    (
                        *tp,
                        p["committed_offset"],
                        p.get("committed_leader_epoch", -1),
                        p.get("committed_metadata") or "",
                    )
                )
    if entries:
        try:
            txn_of(ctx.broker).txn_offset_commit(
                tid, req["producer_id"], req["producer_epoch"], group, entries
            )
        except TxnError as err:
            results = dict.fromkeys(results, err.code)
    by_topic: dict[str, list[Message]] = {}
    for (name, part), code in results.items():
        by_topic.setdefault(name, []).append({"partition_index": part, "error_code": code})
    return {"throttle_time_ms": 0, "topics": [{"name": n, "partitions": ps} for n, ps in by_topic.items()]}


async def end_txn(ctx: RequestContext, req: Message) -> Message:
    tid = req["transactional_id"]
    if not ctx.authorize("WRITE", "TRANSACTIONAL_ID", tid):
        return {"throttle_time_ms": 0, "error_code": Err.TRANSACTIONAL_ID_AUTHORIZATION_FAILED}
    try:
        await txn_of(ctx.broker).end_txn(
            tid, req["producer_id"], req["producer_epoch"], bool(req["committed"])
        )
    except TxnError as err:
        return {"throttle_time_ms": 0, "error_code": err.code}
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "producer_id": req["producer_id"],
        "producer_epoch": req["producer_epoch"],
    }


def register(registry: HandlerRegistry) -> None:
    registry.register(24, "AddPartitionsToTxn", (0, 5), add_partitions_to_txn)
    registry.register(25, "AddOffsetsToTxn", (0, 4), add_offsets_to_txn)
    registry.register(28, "TxnOffsetCommit", (0, 5), txn_offset_commit)
    registry.register(26, "EndTxn", (0, 5), end_txn)
    registry.on_start(install)
