"""Transaction coordinator and per-partition transaction index (single node).

Kafka's design, minus replication: a transactional id maps to a producer id and an epoch; every
InitProducerId bumps the epoch (fencing the previous incarnation, whose open transaction is aborted);
AddPartitionsToTxn / AddOffsetsToTxn make the transaction Ongoing; EndTxn writes a COMMIT or ABORT
control batch to every partition in it, then applies (or drops) its offsets. Because the coordinator
and every partition live in this process, the two-phase commit collapses to: persist PrepareCommit /
PrepareAbort, write and fsync the markers, persist Complete. A restart finishes any Prepare* state it
finds and keeps Ongoing transactions (they abort on timeout, as in Kafka).

Per partition we track the first offset of each open transaction (the last stable offset is the
smallest) and the aborted transactions (producer id, first offset, marker offset) for Fetch's
``aborted_transactions``; both are durable in the internal journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.offsets import OffsetStore
from evtctl.broker.groups.store import KeyedJournal
from evtctl.broker.log.partition import PartitionLog
from evtctl.broker.protocol.records import (
    CONTROL_BIT,
    TRANSACTIONAL_BIT,
    BatchHeader,
    Record,
    encode_batch,
    parse_header,
)

MAX_TIMEOUT_MS = 900_000  # transaction.max.timeout.ms
MAX_EPOCH = 32767
ABORT, COMMIT = 0, 1

TopicPartition = tuple[str, int]


@dataclass
class TxnState:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: str = "Empty"  # Empty | Ongoing | PrepareCommit | PrepareAbort | CompleteCommit | CompleteAbort
    partitions: set[TopicPartition] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    started_ms: int = 0
    # (group, topic, partition) -> (offset, leader epoch, metadata)
    offsets: dict[tuple[str, str, int], tuple[int, int, str]] = field(default_factory=dict)
    # Log end offset of each partition when it joined the transaction: none of the transaction's data
    # can be below it, so it stands in for the first offset if the index lost it in a crash.
    starts: dict[TopicPartition, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.producer_id,
            "epoch": self.producer_epoch,
            "timeout": self.timeout_ms,
            "state": self.state,
            "partitions": sorted(self.partitions),
            "groups": sorted(self.groups),
            "started": self.started_ms,
            "offsets": [[*k, *v] for k, v in self.offsets.items()],
            "starts": [[t, p, o] for (t, p), o in self.starts.items()],
        }

    @classmethod
    def from_json(cls, tid: str, d: dict[str, Any]) -> TxnState:
        return cls(
            tid,
            d["pid"],
            d["epoch"],
            d["timeout"],
            d["state"],
            {(t, p) for t, p in d["partitions"]},
            set(d["groups"]),
            d["started"],
            {(g, t, p): (o, e, m) for g, t, p, o, e, m in d["offsets"]},
            {(t, p): o for t, p, o in d.get("starts", [])},
        )


def control_batch(producer_id: int, producer_epoch: int, kind: int) -> bytearray:
    """A v2 control batch with one COMMIT (1) or ABORT (0) marker record."""
    now = int(time.time() * 1000)
    key = (0).to_bytes(2, "big") + kind.to_bytes(2, "big")
    value = (0).to_bytes(2, "big") + (0).to_bytes(4, "big")  # version, coordinator epoch
    return bytearray(
        encode_batch(
            base_offset=0,
            records=[Record(0, 0, key, value, ())],
            attributes=CONTROL_BIT | TRANSACTIONAL_BIT,
            last_offset_delta=0,
            base_timestamp=now,
            max_timestamp=now,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
        )
    )


class TxnIndex:
    """Open and aborted transactions per partition (what Fetch's read_committed needs)."""

    def __init__(self, journal: KeyedJournal) -> None:
        self._journal = journal
        self.open: dict[TopicPartition, dict[int, int]] = {}  # pid -> first offset
        self.aborted: dict[TopicPartition, list[tuple[int, int, int]]] = {}  # (pid, first, last)
        for key, value in journal.items("x"):
            topic, part = json.loads(key[1:])
            self.open[(topic, part)] = {int(pid): off for pid, off in value["open"].items()}
            self.aborted[(topic, part)] = [(a[0], a[1], a[2]) for a in value["aborted"]]

    def _save(self, tp: TopicPartition) -> None:
        """Written at once, fsynced by :meth:`sync` (EndTxn) or never needed: a lost "open" entry is
        rebuilt from the transaction's start offsets on recovery."""
        value = {
            "open": {str(k): v for k, v in self.open.get(tp, {}).items()},
            "aborted": self.aborted.get(tp, []),
        }
        self._journal.put_many([("x" + json.dumps(list(tp)), value)], sync=False)

    async def sync(self) -> None:
        await self._journal.sync()

    def ensure_open(self, tp: TopicPartition, producer_id: int, first_offset: int) -> None:
        opened = self.open.setdefault(tp, {})
        if producer_id not in opened:
            opened[producer_id] = first_offset
            self._save(tp)

    def forget_producer(self, producer_id: int) -> None:
        for tp, opened in self.open.items():
            if opened.pop(producer_id, None) is not None:
                self._save(tp)

    def note_append(self, tp: TopicPartition, hdr: BatchHeader) -> None:
        self.ensure_open(tp, hdr.producer_id, hdr.base_offset)

    def note_marker(self, tp: TopicPartition, producer_id: int, kind: int, marker_offset: int) -> None:
        first = self.open.get(tp, {}).pop(producer_id, None)
        if first is not None and kind == ABORT:
            self.aborted.setdefault(tp, []).append((producer_id, first, marker_offset))
        self._save(tp)

    def stable_info(self, plog: PartitionLog) -> tuple[int, list[dict[str, int]]]:
        tp = (plog.topic, plog.partition)
        opened = self.open.get(tp)
        lso = min(opened.values()) if opened else plog.high_watermark
        start = plog.log_start_offset
        aborted = [
            {"producer_id": pid, "first_offset": first}
            for pid, first, last in self.aborted.get(tp, ())
            if last >= start
        ]
        return min(lso, plog.high_watermark), aborted

    def drop_topic(self, topic: str) -> None:
        for tp in [tp for tp in {*self.open, *self.aborted} if tp[0] == topic]:
            self.open.pop(tp, None)
            self.aborted.pop(tp, None)
            self._journal.delete("x" + json.dumps(list(tp)))


class TxnError(Exception):
    def __init__(self, code: Err) -> None:
        super().__init__(code.name)
        self.code = code


class TransactionCoordinator:
    def __init__(self, broker: Any, offsets: OffsetStore, data_dir: Path) -> None:
        self.broker = broker
        self.offsets = offsets
        self._journal = KeyedJournal(data_dir / "__transaction_state" / "state.journal")
        self.index = TxnIndex(KeyedJournal(data_dir / "__transaction_state" / "index.journal"))
        self.txns: dict[str, TxnState] = {
            key[1:]: TxnState.from_json(key[1:], value) for key, value in self._journal.items("t")
        }
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def recover_index(self) -> None:
        """Make the index agree with the transaction states before any Fetch is served (its open
        entries are not fsynced on the produce path; the start offsets stand in for lost ones)."""
        for txn in self.txns.values():
            if txn.state in ("Ongoing", "PrepareCommit", "PrepareAbort"):
                for tp, start in txn.starts.items():
                    self.index.ensure_open(tp, txn.producer_id, start)
            else:
                self.index.forget_producer(txn.producer_id)

    async def recover(self) -> None:
        """Finish transactions that were being completed when the broker stopped."""
        for txn in list(self.txns.values()):
            if txn.state in ("PrepareCommit", "PrepareAbort"):
                await self._complete(txn, COMMIT if txn.state == "PrepareCommit" else ABORT)

    def start(self) -> None:
        self.recover_index()
        self._task = asyncio.get_running_loop().create_task(self._expire_loop())

    async def _expire_loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self.recover()
            while True:
                await asyncio.sleep(0.5)
                now = int(time.time() * 1000)
                for txn in list(self.txns.values()):
                    if txn.state == "Ongoing" and now - txn.started_ms > txn.timeout_ms:
                        # Kafka bumps the epoch when it aborts a timed-out transaction (fences the producer).
                        txn.producer_epoch = min(txn.producer_epoch + 1, MAX_EPOCH)
                        await self._end(txn, ABORT)

    def _persist(self, txn: TxnState) -> None:
        self._journal.put("t" + txn.transactional_id, txn.to_json())

    # ------------------------------------------------------------------ API operations
    async def init_producer(self, tid: str, timeout_ms: int, pid: int, epoch: int) -> tuple[int, int]:
        if not 0 < timeout_ms <= MAX_TIMEOUT_MS:
            raise TxnError(Err.INVALID_TRANSACTION_TIMEOUT)
        txn = self.txns.get(tid)
        if txn is None:
            txn = TxnState(tid, self.broker.store.allocate_producer_id(), 0, timeout_ms)
            self.txns[tid] = txn
            self._persist(txn)
            return txn.producer_id, txn.producer_epoch
        if pid >= 0 and (pid != txn.producer_id or epoch != txn.producer_epoch):
            # KIP-360 re-initialization from a producer that is not the current incarnation.
            raise TxnError(Err.PRODUCER_FENCED)
        if txn.producer_epoch >= MAX_EPOCH - 1:
            txn.producer_id, txn.producer_epoch = self.broker.store.allocate_producer_id(), -1
        txn.producer_epoch += 1
        txn.timeout_ms = timeout_ms
        if txn.state == "Ongoing":
            await self._end(txn, ABORT)  # the previous incarnation's transaction dies with it
        else:
            self._persist(txn)
        return txn.producer_id, txn.producer_epoch

    def _current(self, tid: str, pid: int, epoch: int) -> TxnState:
        txn = self.txns.get(tid)
        if txn is None or txn.producer_id != pid:
            raise TxnError(Err.INVALID_PRODUCER_ID_MAPPING)
        if epoch != txn.producer_epoch:
            raise TxnError(Err.INVALID_PRODUCER_EPOCH)  # clients treat it as "fenced"
        if txn.state in ("PrepareCommit", "PrepareAbort"):
            raise TxnError(Err.CONCURRENT_TRANSACTIONS)
        return txn

    def _begin(self, txn: TxnState) -> None:
        if txn.state != "Ongoing":
            txn.state = "Ongoing"
            txn.started_ms = int(time.time() * 1000)
            txn.partitions.clear()
            txn.groups.clear()
            txn.offsets.clear()
            txn.starts.clear()

    def add_partitions(self, tid: str, pid: int, epoch: int, partitions: list[TopicPartition]) -> None:
        txn = self._current(tid, pid, epoch)
        self._begin(txn)
        for tp in partitions:
            if tp not in txn.starts:
                plog = self.broker.partition_log(*tp)
                txn.starts[tp] = plog.log_end_offset if plog is not None else 0
        txn.partitions.update(partitions)
        self._persist(txn)

    def add_offsets(self, tid: str, pid: int, epoch: int, group: str) -> None:
        txn = self._current(tid, pid, epoch)
        self._begin(txn)
        txn.groups.add(group)
        self._persist(txn)

    def txn_offset_commit(
        self, tid: str, pid: int, epoch: int, group: str, offsets: list[tuple[str, int, int, int, str]]
    ) -> None:
        txn = self._current(tid, pid, epoch)
        if txn.state != "Ongoing" or group not in txn.groups:
            raise TxnError(Err.INVALID_TXN_STATE)
        for topic, part, off, leader_epoch, meta in offsets:
            txn.offsets[(group, topic, part)] = (off, leader_epoch, meta)
        self._persist(txn)

    def check_produce(self, tp: TopicPartition, producer_id: int, producer_epoch: int) -> Err:
        """Whether a transactional batch may be appended (KIP-890 style verification)."""
        for txn in self.txns.values():
            if txn.producer_id == producer_id:
                if producer_epoch < txn.producer_epoch:
                    return Err.INVALID_PRODUCER_EPOCH
                if txn.state != "Ongoing" or tp not in txn.partitions:
                    return Err.INVALID_TXN_STATE
                return Err.NONE
        return Err.INVALID_TXN_STATE

    def pending_offsets(self, group: str) -> set[TopicPartition]:
        return {
            (t, p)
            for txn in self.txns.values()
            if txn.state == "Ongoing"
            for (g, t, p) in txn.offsets
            if g == group
        }

    async def end_txn(self, tid: str, pid: int, epoch: int, commit: bool) -> None:
        txn = self.txns.get(tid)
        if txn is None or txn.producer_id != pid:
            raise TxnError(Err.INVALID_PRODUCER_ID_MAPPING)
        if epoch != txn.producer_epoch:
            raise TxnError(Err.INVALID_PRODUCER_EPOCH)
        wanted = "CompleteCommit" if commit else "CompleteAbort"
        if txn.state == wanted:
            return  # a retried EndTxn
        if txn.state != "Ongoing":
            raise TxnError(Err.INVALID_TXN_STATE)
        await self._end(txn, COMMIT if commit else ABORT)

    async def _end(self, txn: TxnState, kind: int) -> None:
        txn.state = "PrepareCommit" if kind == COMMIT else "PrepareAbort"
        self._persist(txn)
        await self._complete(txn, kind)

    async def _complete(self, txn: TxnState, kind: int) -> None:
        touched = []
        for topic, part in sorted(txn.partitions):
            plog = self.broker.partition_log(topic, part)
            if plog is None:
                continue  # the topic was deleted meanwhile
            self.write_marker(plog, txn.producer_id, txn.producer_epoch, kind)
            touched.append(plog)
        if touched and getattr(self.broker.cfg, "flush_policy", "fsync") == "fsync":
            await self.broker.wait_durable(touched)
        await self.index.sync()
        if kind == COMMIT:
            by_group: dict[str, list[tuple[str, int, int, int, str]]] = {}
            for (group, topic, part), (off, leader_epoch, meta) in txn.offsets.items():
                by_group.setdefault(group, []).append((topic, part, off, leader_epoch, meta))
            for group, entries in by_group.items():
                self.offsets.commit(group, entries)
        txn.state = "CompleteCommit" if kind == COMMIT else "CompleteAbort"
        txn.partitions.clear()
        txn.groups.clear()
        txn.offsets.clear()
        txn.starts.clear()
        self._persist(txn)

    def write_marker(self, plog: PartitionLog, pid: int, epoch: int, kind: int) -> None:
        data = control_batch(pid, epoch, kind)
        result = plog.append(data, [(0, parse_header(data, 0))])
        self.index.note_marker((plog.topic, plog.partition), pid, kind, result.base_offset)
        # Fence the producer's older epochs on this partition too (markers carry no sequence).
        entry = plog.producers.get(pid)
        if entry is not None and entry.epoch < epoch:
            entry.epoch, entry.last_seq = epoch, -1
            entry.recent.clear()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._journal.close()
