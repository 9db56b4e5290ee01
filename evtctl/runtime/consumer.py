"""Typed consumer base class used by generated per-topic consumers.

Per record: idempotency guard (event id) -> resolve the writer schema by id and decode onto the
generated model -> handler, retried with backoff -> on exhaustion the original record goes to the
dead-letter topic with the failure in headers -> the offset is committed (manual commit, only after
the record was handled, skipped or dead-lettered: at-least-once).

Concurrency and back-pressure: records are queued per partition and handled by a small thread pool,
one worker per partition at a time (order within a partition is kept). When ``max_in_flight``
records are queued the consumer pauses its partitions and keeps polling (so the group does not
consider it dead), and resumes once half of them are done.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from evtctl.runtime import retry as dlq
from evtctl.runtime.binding import TopicBinding, make_serde
from evtctl.runtime.context import EventContext, handling
from evtctl.runtime.idempotency import IdempotencyStore, SqliteIdempotencyStore
from evtctl.runtime.producer import TypedProducer
from evtctl.runtime.registry import SchemaCache
from evtctl.runtime.retry import DeadLetterPolicy, RetryPolicy
from evtctl.runtime.serde import Codec, DeserializationError, Serde
from evtctl.runtime.settings import ClientSettings

V = TypeVar("V")
V_contra = TypeVar("V_contra", contravariant=True)
Headers = list[tuple[str, bytes]]


def _message_headers(msg: Message) -> Headers:
    raw: Any = msg.headers() or []
    items = raw.items() if isinstance(raw, Mapping) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v or "").encode()) for k, v in items]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a handled event came from and how often it has been tried."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: Headers
    context: EventContext
    attempt: int


class EventHandler(Protocol[V_contra]):
    """A handler typed on the topic's event; raising means failure (retried, then dead-lettered)."""

    def __call__(self, event: V_contra, delivery: Delivery, /) -> None: ...


class _Abandoned(Exception):
    """A record given up because the consumer is shutting down (left uncommitted)."""


class HandlerFailedError(RuntimeError):
    """A handler kept failing and the topic declares no dead-letter topic: the consumer stops."""


@dataclass(slots=True)
class ConsumerMetrics:
    handled: int = 0
    skipped_duplicates: int = 0
    retries: int = 0
    dead_lettered: int = 0
    paused: int = 0  # how many times back-pressure paused the partitions
    lag: dict[int, int] = field(default_factory=dict)  # partition -> records behind the high watermark

    @property
    def done(self) -> int:
        return self.handled + self.skipped_duplicates + self.dead_lettered


@dataclass(slots=True)
class _PartitionQueue:
    pending: deque[Message] = field(default_factory=deque)
    active: bool = False


class TypedConsumer(Generic[V]):
    """Consumes typed events of one topic. Subclasses (generated) set ``binding``/codec/group."""

    binding: TopicBinding
    value_codec: Codec[V]
    message_type: Any = None
    default_group: str = ""
    offset_reset: str = "earliest"  # auto.offset.reset for a group without committed offsets

    def __init__(
        self,
        settings: ClientSettings,
        handler: EventHandler[V],
        *,
        group_id: str | None = None,
        registry: SchemaCache | None = None,
        idempotency: IdempotencyStore | None = None,
        retry: RetryPolicy | None = None,
        dead_letter: DeadLetterPolicy | None = None,
        max_in_flight: int = 100,
        concurrency: int = 1,
        partitions: list[int] | None = None,
        config: Mapping[str, Any] | None = None,
        transactional: TypedProducer[Any] | None = None,
    ) -> None:
        from evtctl.runtime.registry import connect_registry

        # Effectively-once (consume-transform-produce): the handler's sends and this record's offset
        # commit in one transaction of ``transactional``; records are handled one at a time on the
        # polling thread.
        self.transactional = transactional
        if transactional is not None and transactional.binding.guarantee != "effectively-once":
            raise ValueError("the transactional producer must belong to an effectively-once topic")
        self.settings = settings
        self.handler = handler
        self.group_id = group_id or self.default_group
        if not self.group_id:
            raise ValueError("a consumer group id is required (none is declared in the manifest)")
        self.cache = registry or connect_registry(settings.registry_url)
        self.value_serde: Serde[V] = make_serde(
            self.binding.value, self.value_codec, self.cache, message_type=self.message_type
        )
        self.idempotency: IdempotencyStore = idempotency or SqliteIdempotencyStore(
            Path(f"evtctl-idempotency-{self.group_id}.sqlite3")
        )
        self.retry = retry or self.binding.retry
        self.dead_letter = dead_letter or self.binding.dead_letter
        self.max_in_flight = max(1, max_in_flight)
        self.metrics = ConsumerMetrics()
        self._partitions = partitions
        conf = settings.kafka_config()
        conf.update(
            {
                "group.id": self.group_id,
                "enable.auto.commit": False,  # we commit after handling
                "enable.auto.offset.store": False,
                "auto.offset.reset": self.offset_reset,
            }
        )
        if transactional is not None:
            conf["isolation.level"] = "read_committed"
        conf.update(config or {})
        self.consumer = Consumer(conf)
        self._dlq_producer: Producer | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="evtctl-handler")
        self._lock = threading.Condition()
        self._queues: dict[int, _PartitionQueue] = {}
        self._in_flight = 0
        self._completed: dict[int, int] = {}  # partition -> highest finished offset, not yet committed
        self._committed: dict[int, int] = {}
        self._failure: BaseException | None = None
        self._stop = threading.Event()  # asked to stop (stop(), signal handler)
        self._draining = threading.Event()  # workers finish their current record and take no more
        self._paused = False
        self._subscribed = False

    # -- lifecycle ---------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._subscribed:
            return
        if self._partitions is not None:
            self.consumer.assign([TopicPartition(self.binding.topic, p) for p in self._partitions])
        else:
            self.consumer.subscribe([self.binding.topic], on_revoke=self._on_revoke)
        self._subscribed = True

    def stop(self) -> None:
        """Ask ``run`` to finish: in-flight records complete and are committed, queued ones are not."""
        self._stop.set()
        self._draining.set()

    def run(
        self,
        *,
        max_events: int | None = None,
        timeout: float | None = None,
        poll_timeout: float = 0.1,
        until: Callable[[], bool] | None = None,
    ) -> ConsumerMetrics:
        """Consume until ``stop()``, ``max_events`` records are done, ``until()`` or ``timeout``."""
        self._start()
        self._draining.clear()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._stop.is_set():
                self._commit_completed()
                if self._failure is not None:
                    raise self._failure
                if max_events is not None and self.metrics.done >= max_events:
                    break
                if until is not None and until():
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._apply_back_pressure()
                room = max(1, self.max_in_flight - self._in_flight)
                for msg in self.consumer.consume(num_messages=min(room, 500), timeout=poll_timeout):
                    self._dispatch(msg)
        finally:
            self._drain()
            self._update_lag()
            self._stop.clear()  # run() may be called again
        return self.metrics

    def run_forever(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> ConsumerMetrics:
        """Run until one of ``signals`` arrives, then shut down gracefully (main thread only)."""
        previous = {sig: signal.signal(sig, lambda _sig, _frame: self.stop()) for sig in signals}
        try:
            return self.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def close(self) -> None:
        self.stop()
        self._drain()
        self._pool.shutdown(wait=True)
        self.consumer.close()
        if self._dlq_producer is not None:
            self._dlq_producer.flush(10)

    def __enter__(self) -> TypedConsumer[V]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- dispatch and back-pressure ---------------------------------------------------------------
    def _dispatch(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return
            if err.fatal():
                raise KafkaException(err)
            return  # transient errors are retried by librdkafka itself
        partition = msg.partition() or 0
        with self._lock:
            queue = self._queues.setdefault(partition, _PartitionQueue())
            queue.pending.append(msg)
            self._in_flight += 1
            start = not queue.active
            queue.active = True
        if start and self.transactional is not None:
            # Transactions run on the polling thread: librdkafka's send_offsets_to_transaction
            # stalls while another thread is inside consume() on the same consumer.
            self._work(partition)
        elif start:
            self._pool.submit(self._work, partition)

    def _apply_back_pressure(self) -> None:
        assignment = self.consumer.assignment()
        if not self._paused and self._in_flight >= self.max_in_flight and assignment:
            self.consumer.pause(assignment)
            self._paused = True
            self.metrics.paused += 1
        elif self._paused and self._in_flight <= self.max_in_flight // 2:
            if assignment:
                self.consumer.resume(assignment)
            self._paused = False

    def _work(self, partition: int) -> None:
        while True:
            with self._lock:
                queue = self._queues[partition]
                if not queue.pending or self._draining.is_set() or self._failure is not None:
                    queue.active = False
                    self._lock.notify_all()
                    return
                msg = queue.pending.popleft()
            try:
                self._process(msg)
            except _Abandoned:
                # Shutting down mid-retry: not committed, so it is redelivered after restart.
                with self._lock:
                    self._in_flight -= 1
                continue
            except BaseException as exc:  # surfaced by run() on the consumer thread
                with self._lock:
                    self._failure = exc
                    self._in_flight -= 1
                    queue.active = False
                    self._lock.notify_all()
                return
            with self._lock:
                self._in_flight -= 1
                offset = msg.offset() or 0
                if self.transactional is None:
                    self._completed[partition] = max(offset, self._completed.get(partition, -1))
                else:  # committed inside the record's transaction already
                    self._committed[partition] = offset + 1

    def _commit_completed(self) -> None:
        with self._lock:
            done, self._completed = self._completed, {}
        if not done:
            return
        offsets = [TopicPartition(self.binding.topic, p, off + 1) for p, off in sorted(done.items())]
        self.consumer.commit(offsets=offsets, asynchronous=False)
        self._committed.update({p: off + 1 for p, off in done.items()})

    def _drain(self, timeout: float = 30.0) -> None:
        """Wait for running handlers (queued records stay uncommitted), then commit what finished."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._draining.set()
            while any(q.active for q in self._queues.values()) and time.monotonic() < deadline:
                self._lock.wait(0.05)
            dropped = sum(len(q.pending) for q in self._queues.values())
            for q in self._queues.values():
                q.pending.clear()
            self._in_flight -= dropped
        self._commit_completed()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {tp.partition for tp in partitions}
        deadline = time.monotonic() + 30.0
        with self._lock:
            for p in revoked:
                queue = self._queues.get(p)
                if queue is not None:
                    self._in_flight -= len(queue.pending)
                    queue.pending.clear()
            while any(self._queues[p].active for p in revoked if p in self._queues):
                if time.monotonic() >= deadline:
                    break
                self._lock.wait(0.05)
        self._commit_completed()

    # -- one record --------------------------------------------------------------------------------
    def _process(self, msg: Message) -> None:
        headers = _message_headers(msg)
        partition, offset = msg.partition() or 0, msg.offset() or 0
        ctx = EventContext.from_headers(headers, fallback_id=f"{msg.topic()}/{partition}/{offset}")
        try:
            value = self.value_serde.deserialize(msg.value() or b"", headers)
        except DeserializationError as exc:
            if not self._duplicate(ctx.event_id):
                self._give_up(msg, headers, exc, attempts=0, guard_key=ctx.event_id)
            return
        guard_key = self.idempotency_key(value, ctx)
        if self._duplicate(guard_key):
            return
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(1, attempts + 1):
            delivery = Delivery(msg.topic() or "", partition, offset, msg.key(), headers, ctx, attempt)
            try:
                with handling(ctx):
                    if self.transactional is None:
                        self.handler(value, delivery)
                    else:
                        self._handle_in_transaction(value, delivery, msg)
            except Exception as exc:
                if attempt == attempts:
                    self._give_up(msg, headers, exc, attempts=attempt, guard_key=guard_key)
                    return
                with self._lock:
                    self.metrics.retries += 1
                if self._draining.wait(self.retry.delay(attempt)):
                    raise _Abandoned from exc
            else:
                self.idempotency.mark(self.group_id, guard_key)
                with self._lock:
                    self.metrics.handled += 1
                return

    def _handle_in_transaction(self, value: V, delivery: Delivery, msg: Message) -> None:
        assert self.transactional is not None
        offsets = [TopicPartition(msg.topic() or "", delivery.partition, delivery.offset + 1)]
        with self.transactional.transaction():  # aborted if the handler raises
            self.handler(value, delivery)
            self.transactional.producer.send_offsets_to_transaction(
                offsets, self.consumer.consumer_group_metadata(), 30
            )

    def idempotency_key(self, event: V, context: EventContext) -> str:
        """What the idempotency guard remembers: the event id, or the manifest's idempotency key field."""
        return context.event_id

    def _duplicate(self, key: str) -> bool:
        if not self.idempotency.seen(self.group_id, key):
            return False
        with self._lock:
            self.metrics.skipped_duplicates += 1
        return True

    def _give_up(
        self, msg: Message, headers: Headers, exc: BaseException, *, attempts: int, guard_key: str
    ) -> None:
        topic = self.dead_letter.topic
        if topic is None:
            raise HandlerFailedError(
                f"{self.binding.topic}[{msg.partition()}]@{msg.offset()} failed after {attempts} attempt(s) "
                f"and no dead-letter topic is declared: {exc!r}"
            ) from exc
        reason = f"{type(exc).__name__}: {exc}"
        if self.dead_letter.include_stack:
            reason += "\n" + "".join(traceback.format_exception(exc))
        extra = [
            (self.dead_letter.reason_header, reason.encode()),
            (dlq.DLQ_ERROR_TYPE, type(exc).__name__.encode()),
            (dlq.DLQ_ATTEMPTS, str(attempts).encode()),
            (dlq.DLQ_ORIGINAL_TOPIC, (msg.topic() or "").encode()),
            (dlq.DLQ_ORIGINAL_PARTITION, str(msg.partition()).encode()),
            (dlq.DLQ_ORIGINAL_OFFSET, str(msg.offset()).encode()),
            (dlq.DLQ_CONSUMER_GROUP, self.group_id.encode()),
        ]
        if self._dlq_producer is None:
            conf = self.settings.kafka_config()
            conf.update({"acks": "all", "enable.idempotence": True})
            self._dlq_producer = Producer(conf)
        errors: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        all_headers: list[tuple[str, str | bytes | None]] = [*headers, *extra]
        self._dlq_producer.produce(
            topic, value=msg.value(), key=msg.key(), headers=all_headers, on_delivery=delivered
        )
        # The dead-letter record must be durable before the original's offset is committed.
        if self._dlq_producer.flush(30) or errors:
            raise KafkaException(errors[0] if errors else KafkaError(KafkaError._TIMED_OUT))
        self.idempotency.mark(self.group_id, guard_key)
        with self._lock:
            self.metrics.dead_lettered += 1

    # -- lag ---------------------------------------------------------------------------------------
    def _update_lag(self) -> None:
        try:
            assignment = self.consumer.assignment()
        except KafkaException:
            return
        for tp in assignment:
            try:
                _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            committed = self._committed.get(tp.partition, 0)
            if high >= 0:
                self.metrics.lag[tp.partition] = max(0, high - committed)

    def lag(self) -> dict[int, int]:
        """Records between the committed offset and the high watermark, per assigned partition."""
        self._update_lag()
        return dict(self.metrics.lag)
