"""Pact V4 message pacts written by pact-python import, verify and export back losslessly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evtctl.compat import parse_schema
from evtctl.contracts.model import contract_to_spec
from evtctl.contracts.pact import export_pact, import_pact, read_pact, write_pact
from evtctl.contracts.verify import Producer, verify_pair
from evtctl.errors import InputError

from .test_verify import GOOD_ORDER, ORDER_AVRO

pact_mod = pytest.importorskip("pact", reason="pact-python is a test dependency")


def write_with_pact_python(out: Path) -> Path:
    from pact import Pact, match

    pact = pact_mod.Pact("email-service", "order-service").with_specification("V4")
    assert isinstance(pact, Pact)
    body = {
        "order_id": match.regex("o-1", regex=r"^o-\d+$"),
        "customer": {"email": match.like("a@example.com")},
        "total": match.number(12.5),
        "items": match.each_like({"sku": match.str("A-1")}, min=1),
        "status": "PAID",
    }
    (
        pact.upon_receiving("an OrderCreated event", "Async")
        .with_body(body, "application/json")
        .with_metadata({"kafka_topic": "retail.orders.created", "key": 42, "correlation-id": "c-1"})
    )
    received: list[Any] = []
    pact.verify(lambda body, metadata: received.append(metadata), "Async")
    assert received, "pact-python delivered no message to the handler"
    pact.write_file(out, overwrite=True)
    [path] = out.glob("*.json")
    return path


def test_pact_python_pact_imports_with_matchers(tmp_path: Path) -> None:
    imported = read_pact(write_with_pact_python(tmp_path))
    assert (imported.consumer, imported.provider) == ("email-service", "order-service")
    [contract] = imported.contracts
    rules = {r.target: r for r in contract.fields}
    assert rules["order_id"].regex == r"^o-\d+$"
    assert rules["customer.email"].type == "string" and rules["customer.email"].equals is None
    assert rules["total"].type == "number"
    assert rules["items[].sku"].type == "string"
    assert rules["status"].equals == "PAID"  # no matcher: Pact's equality
    assert contract.key is not None and contract.key.type == "integer" and contract.key.equals == 42
    assert [h.target for h in contract.headers] == ["correlation-id"]


def test_imported_pact_verifies_against_the_producer(tmp_path: Path) -> None:
    [contract] = read_pact(write_with_pact_python(tmp_path)).contracts
    schema = parse_schema("AVRO", json.dumps(ORDER_AVRO))
    good = dict(GOOD_ORDER, order_id="o-7", status="PAID")
    from evtctl.contracts.model import Example

    producer = Producer(
        "order-service",
        contract.topic,
        schema,
        partition_key=None,
        examples=(Example(good, key=42, headers={"correlation-id": "c-1"}, name="paid"),),
    )
    pairing = verify_pair(contract, producer)
    # The consumer's key rule wants an integer key; this producer declares none.
    assert {(f.target, f.rule) for f in pairing.findings} == {("key", "key-missing")}


def test_export_round_trip_is_lossless(tmp_path: Path) -> None:
    [contract] = read_pact(write_with_pact_python(tmp_path / "in")).contracts
    path = write_pact(export_pact([contract], "order-service"), tmp_path / "out")
    document = json.loads(path.read_text())
    interaction = document["interactions"][0]
    assert interaction["type"] == "Asynchronous/Messages"
    assert interaction["metadata"]["key"] == 42
    assert interaction["matchingRules"]["body"]["$.order_id"]["matchers"] == [
        {"match": "regex", "regex": r"^o-\d+$"}
    ]
    [again] = read_pact(path).contracts
    assert contract_to_spec(again) == contract_to_spec(contract)
    assert again.name == contract.name


def test_rejects_non_v4_and_topicless_pacts(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"specification 3\.0\.0 is not supported"):
        import_pact({"metadata": {"pactSpecification": {"version": "3.0.0"}}}, "p.json")
    topicless = {
        "consumer": {"name": "c"},
        "provider": {"name": "p"},
        "metadata": {"pactSpecification": {"version": "4.0"}},
        "interactions": [{"type": "Asynchronous/Messages", "description": "x", "contents": {"content": {}}}],
    }
    with pytest.raises(InputError, match="names no Kafka topic"):
        import_pact(topicless, "p.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(InputError) as info:
        read_pact(bad)
    assert info.value.location is not None and info.value.location.line == 1
