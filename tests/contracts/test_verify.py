"""Static and example checks of consumer contracts against producer schemas, in all three formats."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evtctl.compat import parse_schema
from evtctl.contracts.model import Contract, Example, Rule
from evtctl.contracts.verify import Producer, verify_pair

ORDER_AVRO: dict[str, Any] = {
    "type": "record",
    "name": "OrderCreated",
    "namespace": "retail.orders",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "order_id", "type": "string"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["CREATED", "PAID"]}},
        {"name": "total", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {
            "name": "customer",
            "type": {"type": "record", "name": "Customer", "fields": [{"name": "email", "type": "string"}]},
        },
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {"type": "record", "name": "Item", "fields": [{"name": "sku", "type": "string"}]},
            },
        },
    ],
}

EMAIL = Contract(
    name="email-reads-orders",
    consumer="email-service",
    topic="retail.orders.created",
    fields=(
        Rule("customer.email", type="string", regex="@"),
        Rule("items[].sku", type="string"),
        Rule("status", enum=("CREATED", "PAID"), requires_values=("PAID",)),
        Rule("total", type="number", minimum=0),
    ),
    headers=(Rule("correlation-id"),),
)


def avro(schema: dict[str, Any]) -> Producer:
    parsed = parse_schema("AVRO", json.dumps(schema))
    return Producer("order-service", "retail.orders.created", parsed)


def evolve(**changes: Any) -> dict[str, Any]:
    schema = json.loads(json.dumps(ORDER_AVRO))
    fields = {f["name"]: f for f in schema["fields"]}
    for name, new in changes.items():
        if new is None:
            schema["fields"].remove(fields[name])
        else:
            fields[name]["type"] = new
    return schema


def rules_of(producer: Producer, contract: Contract = EMAIL) -> list[tuple[str, str]]:
    return [(f.target, f.rule) for f in verify_pair(contract, producer).findings]


def test_current_schema_satisfies_the_contract() -> None:
    pairing = verify_pair(EMAIL, avro(ORDER_AVRO))
    assert pairing.ok, pairing.findings
    assert pairing.checked == 5


def test_removed_field_names_consumer_field_and_reason() -> None:
    schema = evolve()
    schema["fields"][5]["type"]["fields"] = [{"name": "mail", "type": "string"}]
    [finding] = verify_pair(EMAIL, avro(schema)).findings
    assert (finding.consumer, finding.target, finding.rule) == (
        "email-service",
        "customer.email",
        "field-missing",
    )
    assert "has no field 'customer.email'" in finding.reason


def test_type_change_is_reported() -> None:
    assert rules_of(avro(evolve(total="string"))) == [("total", "field-type")]


def test_int_to_long_still_satisfies_a_number_reader() -> None:
    assert rules_of(avro(evolve(total="long"))) == []


def test_tightened_enum_breaks_consumer_that_relies_on_a_value() -> None:
    tightened = {"type": "enum", "name": "Status", "symbols": ["CREATED"]}
    assert rules_of(avro(evolve(status=tightened))) == [("status", "enum-value-removed")]


def test_widened_enum_breaks_consumer_that_accepts_only_known_values() -> None:
    widened = {"type": "enum", "name": "Status", "symbols": ["CREATED", "PAID", "REFUNDED"]}
    [finding] = verify_pair(EMAIL, avro(evolve(status=widened))).findings
    assert finding.rule == "enum-widened" and "REFUNDED" in finding.reason


def test_field_made_nullable_is_no_longer_guaranteed() -> None:
    assert rules_of(avro(evolve(total=["null", "double"]))) == [("total", "field-optional")]


def test_field_moved_into_union_branch() -> None:
    schema = evolve()
    customer = schema["fields"][5]
    customer["type"] = [
        customer["type"],
        {"type": "record", "name": "Guest", "fields": [{"name": "phone", "type": "string"}]},
    ]
    [finding] = verify_pair(EMAIL, avro(schema)).findings
    assert finding.rule == "field-optional" and "union" in finding.reason


def test_changes_that_touch_no_consumer_field_pass() -> None:
    schema = evolve(note=None)  # a field nobody reads is removed
    schema["fields"].append({"name": "channel", "type": "string", "default": "web"})
    assert rules_of(avro(schema)) == []


def test_renamed_header_is_reported_with_the_near_name() -> None:
    producer = Producer(
        "order-service", "retail.orders.created", avro(ORDER_AVRO).value_schema, headers=("correlation_id",)
    )
    [finding] = verify_pair(EMAIL, producer).findings
    assert finding.rule == "header-missing" and "correlation_id" in finding.reason


PROTO_V1 = """
syntax = "proto3";
package shipping.v1;
message ShipmentRequested {
  string event_id = 1;
  string order_id = 2;
  string carrier = 3;
  Address address = 4;
}
message Address { string city = 1; }
"""

SHIPPING = Contract(
    name="shipping-reads-requests",
    consumer="shipping-service",
    topic="logistics.shipments.requested",
    fields=(Rule("carrier", type="string"), Rule("order_id", type="string")),
)


def proto(text: str) -> Producer:
    return Producer("payment-service", "logistics.shipments.requested", parse_schema("PROTOBUF", text))


def test_protobuf_current_is_fine() -> None:
    assert rules_of(proto(PROTO_V1), SHIPPING) == []


def test_protobuf_field_moved_into_oneof() -> None:
    moved = PROTO_V1.replace(
        "  string carrier = 3;\n",
        "  oneof routing {\n    string carrier = 3;\n    string pickup_point = 5;\n  }\n",
    )
    [finding] = verify_pair(SHIPPING, proto(moved)).findings
    assert finding.rule == "field-optional" and "oneof 'routing'" in finding.reason


def test_protobuf_type_change() -> None:
    changed = PROTO_V1.replace("string carrier = 3;", "int32 carrier = 3;")
    assert rules_of(proto(changed), SHIPPING) == [("carrier", "field-type")]


def test_protobuf_removed_field() -> None:
    removed = PROTO_V1.replace("  string carrier = 3;\n", "  reserved 3;\n")
    assert rules_of(proto(removed), SHIPPING) == [("carrier", "field-missing")]


JSON_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["customer_id", "email", "tier"],
    "properties": {
        "customer_id": {"type": "string"},
        "email": {"type": "string"},
        "tier": {"enum": ["GOLD", "SILVER"]},
        "age": {"type": "integer", "minimum": 0},
    },
}

CRM = Contract(
    name="crm-reads-customers",
    consumer="crm",
    topic="retail.customers",
    fields=(
        Rule("email", type="string"),
        Rule("tier", requires_values=("GOLD",)),
        Rule("age", required=False, minimum=0),
    ),
)


def jsonp(schema: dict[str, Any]) -> Producer:
    return Producer("customer-service", "retail.customers", parse_schema("JSON", json.dumps(schema)))


def test_json_schema_current_is_fine() -> None:
    assert rules_of(jsonp(JSON_V1), CRM) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s["required"].remove("email"), [("email", "field-optional")]),
        (lambda s: s["properties"].pop("email"), [("email", "field-missing")]),
        (lambda s: s["properties"].update(email={"type": "integer"}), [("email", "field-type")]),
        (lambda s: s["properties"].update(tier={"enum": ["SILVER"]}), [("tier", "enum-value-removed")]),
        (lambda s: s["properties"]["age"].update(minimum=-5), [("age", "range")]),
        (lambda s: s["properties"].update(nickname={"type": "string"}), []),
    ],
)
def test_json_schema_changes(mutate: Any, expected: list[tuple[str, str]]) -> None:
    schema = json.loads(json.dumps(JSON_V1))
    mutate(schema)
    assert rules_of(jsonp(schema), CRM) == expected


def example(value: Any, **headers: str) -> Example:
    return Example(value=value, headers=headers, name="sample")


GOOD_ORDER = {
    "event_id": "e-1",
    "order_id": "o-1",
    "status": "PAID",
    "total": 10.5,
    "note": None,
    "customer": {"email": "a@example.com"},
    "items": [{"sku": "A-1"}, {"sku": "B-2"}],
}


def test_examples_must_satisfy_schema_and_rules() -> None:
    base = avro(ORDER_AVRO)
    good = Producer(
        base.name, base.topic, base.value_schema, examples=(example(GOOD_ORDER, **{"correlation-id": "c"}),)
    )
    assert verify_pair(EMAIL, good).ok

    bad_value = dict(GOOD_ORDER, customer={"email": "no-at-sign"}, total=-1.0)
    bad = Producer(base.name, base.topic, base.value_schema, examples=(example(bad_value),))
    found = {(f.target, f.rule) for f in verify_pair(EMAIL, bad).findings}
    assert found == {
        ("customer.email", "value-regex"),
        ("total", "value-range"),
        ("header correlation-id", "header-missing"),
    }


def test_example_not_matching_the_schema() -> None:
    base = avro(ORDER_AVRO)
    broken = dict(GOOD_ORDER)
    del broken["order_id"]
    producer = Producer(
        base.name, base.topic, base.value_schema, examples=(example(broken, **{"correlation-id": "c"}),)
    )
    [finding] = verify_pair(EMAIL, producer).findings
    assert finding.rule == "example-invalid"


def test_array_paths_fan_out_in_examples() -> None:
    base = avro(ORDER_AVRO)
    value = dict(GOOD_ORDER, items=[{"sku": "A"}, {"sku": None}])
    producer = Producer(
        base.name, base.topic, base.value_schema, examples=(example(value, **{"correlation-id": "c"}),)
    )
    rules = {(f.target, f.rule) for f in verify_pair(EMAIL, producer).findings}
    assert ("items[].sku", "value-missing") in rules
