"""End to end: Avro contracts that reference records registered as their own subjects.

The `refs` fixture's InvoiceIssued and RefundIssued use `shop.common.Money` (and InvoiceIssued
`shop.common.Address`), each registered under its own subject. Generated producers register/look up
their schema WITH the references; generated consumers resolve the writer schema's references from
the registry (recursively), including for records written by Confluent's own AvroSerializer.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from evtctl.registry.client import RegistryClient, SchemaReference
from evtctl.runtime import wire
from evtctl.runtime.consumer import Delivery
from evtctl.runtime.idempotency import MemoryIdempotencyStore
from evtctl.runtime.registry import SchemaCache
from evtctl.runtime.serde import DeserializationError
from evtctl.runtime.settings import ClientSettings
from tests.codegen.conftest import broker_with_topics
from tests.codegen.gen import REFS, generate_and_import
from tests.support.broker import BrokerProcess, start_broker

pytestmark = pytest.mark.timeout(120)

SCHEMAS = REFS / "schemas"
MONEY = SchemaReference("shop.common.Money", "shop.common.Money", 1)
ADDRESS = SchemaReference("shop.common.Address", "shop.common.Address", 1)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    topics = [("billing.invoices", 2), ("billing.refunds", 1), ("billing.confluent", 1)]
    yield from broker_with_topics(tmp_path_factory.mktemp("broker"), topics)


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory, registry: RegistryClient) -> ModuleType:
    """The billing package, its contracts registered as `evtctl apply` would (references first)."""
    generated = generate_and_import(REFS, tmp_path_factory.mktemp("refs"), package="billing_e2e")
    registry.register("shop.common.Money", (SCHEMAS / "common" / "money.avsc").read_text(), "AVRO")
    registry.register("shop.common.Address", (SCHEMAS / "common" / "address.avsc").read_text(), "AVRO")
    schemas = _mod(generated, "schemas")
    registry.register(
        schemas.BILLING_INVOICES_VALUE.subject,
        schemas.BILLING_INVOICES_VALUE.schema,
        "AVRO",
        [MONEY, ADDRESS],
    )
    registry.register(
        schemas.BILLING_REFUNDS_VALUE.subject, schemas.BILLING_REFUNDS_VALUE.schema, "AVRO", [MONEY]
    )
    return generated


def _mod(pkg: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{pkg.__name__}.{name}")


def _invoice(models: Any, n: int) -> Any:
    usd = models.Currency.USD
    return models.InvoiceIssued(
        invoice_id=f"inv-{n}",
        total=models.Money(amount_cents=1000 + n),
        billing_address=models.Address(street="Damrak 1", city="Amsterdam"),
        lines=[models.InvoiceLine(sku=f"sku-{n}", price=models.Money(amount_cents=1000 + n, currency=usd))],
        currency_hint=models.Currency.GBP,
    )


def _consume(cls: type[Any], settings: ClientSettings, count: int, **kwargs: Any) -> list[Any]:
    got: list[Any] = []

    def handle(event: Any, delivery: Delivery) -> None:
        got.append(event)

    with cls(
        settings,
        handle,
        idempotency=MemoryIdempotencyStore(),
        registry=SchemaCache(RegistryClient(settings.registry_url)),
        **kwargs,
    ) as consumer:
        consumer.run(max_events=count, timeout=60)
    return got


def test_shared_records_round_trip_with_references(
    settings: ClientSettings, registry: RegistryClient, pkg: ModuleType
) -> None:
    models = _mod(pkg, "models")
    services = _mod(pkg, "services.billing_service")
    invoices = services.BillingInvoicesProducer(settings)
    refunds = services.BillingRefundsProducer(settings)
    invoice = _invoice(models, 1)
    refund = models.RefundIssued(refund_id="r-1", invoice_id="inv-1", amount=models.Money(amount_cents=5))
    invoices.send(invoice)
    refunds.send(refund)
    invoices.flush()
    refunds.flush()
    # the producers found their schemas registered WITH the references (Address: `latest` -> 1)
    writer = registry.schema_by_id(invoices.value_serde.writer().schema_id)
    assert set(writer.references) == {MONEY, ADDRESS}
    assert registry.schema_by_id(refunds.value_serde.writer().schema_id).references == (MONEY,)
    # one shared Money class for both contracts
    assert type(refund.amount) is type(invoice.total) is models.Money

    ledger = _mod(pkg, "services.ledger_service")
    assert _consume(ledger.BillingInvoicesConsumer, settings, 1) == [invoice]
    assert _consume(ledger.BillingRefundsConsumer, settings, 1) == [refund]


def test_records_written_by_confluents_serializer_with_nested_references(
    settings: ClientSettings, broker: BrokerProcess, registry: RegistryClient, pkg: ModuleType
) -> None:
    """A newer writer (Confluent's AvroSerializer) whose Address version itself references Money."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry import SchemaReference as ConfluentReference
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    address = json.loads((SCHEMAS / "common" / "address.avsc").read_text())
    address["fields"].append({"name": "delivery_fee", "type": ["null", "shop.common.Money"], "default": None})
    registry.register("billing.shared.Address", json.dumps(address), "AVRO", [MONEY])
    invoice_v2 = json.loads((SCHEMAS / "invoice_issued.avsc").read_text())
    invoice_v2["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    schema = Schema(
        json.dumps(invoice_v2),
        "AVRO",
        [
            ConfluentReference("shop.common.Money", "shop.common.Money", 1),
            ConfluentReference("shop.common.Address", "billing.shared.Address", 1),
        ],
    )
    client = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(client, schema, conf={"auto.register.schemas": True})
    models = _mod(pkg, "models")
    expected = _invoice(models, 2)
    data = expected.to_dict()
    data["billing_address"] = {
        **data["billing_address"],
        "delivery_fee": {"amount_cents": 7, "currency": "EUR"},
    }
    data["note"] = "written by confluent-kafka"
    payload = serializer(data, SerializationContext("billing.invoices", MessageField.VALUE))
    assert payload is not None
    writer_id = wire.unframe(payload).schema_id
    assert registry.schema_by_id(writer_id).references  # a writer schema that carries references
    raw = Producer({"bootstrap.servers": broker.bootstrap})
    raw.produce("billing.confluent", value=payload, key=b"inv-2")
    raw.flush(10)

    base = _mod(pkg, "services.ledger_service").BillingInvoicesConsumer

    class ConfluentTopicConsumer(base):  # type: ignore[misc, valid-type]
        binding = dataclasses.replace(base.binding, topic="billing.confluent")

    # unknown writer fields (note, delivery_fee) are dropped by schema resolution
    assert _consume(ConfluentTopicConsumer, settings, 1) == [expected]


def test_a_writer_reference_that_cannot_be_fetched_is_a_clear_error(tmp_path: Path, pkg: ModuleType) -> None:
    """A registry restored without the referenced subject: decoding names the missing reference."""
    proc = start_broker(tmp_path / "broker")
    try:
        assert proc.registry_url is not None
        with RegistryClient(proc.registry_url) as registry:
            registry.register("shop.common.Money", (SCHEMAS / "common" / "money.avsc").read_text(), "AVRO")
            refunds = _mod(pkg, "schemas").BILLING_REFUNDS_VALUE
            writer_id = registry.register(refunds.subject, refunds.schema, "AVRO", [MONEY])
        models = _mod(pkg, "models")
        refund = models.RefundIssued(refund_id="r-9", invoice_id="inv-9", amount=models.Money(amount_cents=9))
        settings = ClientSettings(bootstrap_servers=proc.bootstrap, registry_url=proc.registry_url)
        producer = _mod(pkg, "topics").BillingRefundsProducer(settings)
        payload = producer.value_serde.serialize(refund)
        assert wire.unframe(payload).schema_id == writer_id
        producer.close()
        proc.stop()
        # drop the referenced subject's records from the registry's log, as an incomplete restore would
        log = next(proc.data_dir.rglob("registry.log"))
        lines = log.read_text().splitlines(keepends=True)
        kept = [line for line in lines if json.loads(line).get("subject") != "shop.common.Money"]
        assert len(kept) < len(lines)
        log.write_text("".join(kept))
        proc.restart()
        assert proc.registry_url is not None
        consumer_settings = ClientSettings(bootstrap_servers=proc.bootstrap, registry_url=proc.registry_url)
        consumer = _mod(pkg, "topics").BillingRefundsConsumer(
            consumer_settings, lambda e, d: None, group_id="check", idempotency=MemoryIdempotencyStore()
        )
        try:
            with pytest.raises(DeserializationError) as caught:
                consumer.value_serde.deserialize(payload)
        finally:
            consumer.close()
        message = str(caught.value)
        assert f"writer schema id {writer_id}" in message
        assert "'shop.common.Money'" in message and "version 1" in message and "cannot be fetched" in message
    finally:
        proc.stop()
