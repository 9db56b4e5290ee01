"""The public API: parsing, identity (canonical forms, fingerprints), levels, reports."""

from __future__ import annotations

import json

import pytest

from evtctl.compat import (
    FormatChecker,
    ParsedSchema,
    check_compatibility,
    checker_for,
    parse_schema,
)
from evtctl.compat.avro import parsing_canonical_form
from evtctl.errors import UsageError


@pytest.mark.parametrize("schema_type", ["AVRO", "PROTOBUF", "JSON"])
def test_every_checker_satisfies_the_protocol(schema_type: str) -> None:
    checker = checker_for(schema_type)
    assert isinstance(checker, FormatChecker)
    assert checker.schema_type == schema_type


ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "total", "type": "long", "default": 0},
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {"type": "record", "name": "Item", "fields": [{"name": "price", "type": "int"}]},
            },
        },
    ],
}


def avro(doc: object, **dumps: object) -> ParsedSchema:
    return parse_schema("AVRO", json.dumps(doc, **dumps))  # type: ignore[arg-type]


def test_avro_whitespace_and_key_order_do_not_change_identity() -> None:
    a = avro(ORDER)
    b = avro(ORDER, indent=4, sort_keys=True)
    assert a.fingerprint == b.fingerprint and a.canonical == b.canonical
    assert a is avro(ORDER)  # parse cache


def test_avro_field_order_defaults_and_docs_change_identity() -> None:
    base = avro(ORDER)
    reordered = avro({**ORDER, "fields": list(reversed(ORDER["fields"]))})  # type: ignore[call-overload]
    with_doc = avro({**ORDER, "doc": "an order"})
    fields = [dict(f) for f in ORDER["fields"]]  # type: ignore[attr-defined]
    fields[1]["default"] = 1
    other_default = avro({**ORDER, "fields": fields})
    assert (
        len({base.fingerprint, reordered.fingerprint, with_doc.fingerprint, other_default.fingerprint}) == 4
    )


def test_avro_parsing_canonical_form_follows_the_specification() -> None:
    pcf = parsing_canonical_form(avro({**ORDER, "doc": "x"}))
    assert pcf == (
        '{"name":"shop.Order","type":"record","fields":[{"name":"id","type":"string"},'
        '{"name":"total","type":"long"},{"name":"items","type":{"type":"array","items":'
        '{"name":"shop.Item","type":"record","fields":[{"name":"price","type":"int"}]}}}]}'
    )


def test_protobuf_comments_and_formatting_do_not_change_identity() -> None:
    a = parse_schema("PROTOBUF", 'syntax = "proto3";\npackage p;\nmessage M { int32 a = 1; }\n')
    b = parse_schema(
        "PROTOBUF", '// c\nsyntax="proto3";  package p;\n\n/* M */ message M {\n int32 a=1; // a\n}\n'
    )
    c = parse_schema("PROTOBUF", 'syntax = "proto3";\npackage p;\nmessage M { int64 a = 1; }\n')
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_json_schema_key_order_does_not_change_identity() -> None:
    a = parse_schema("JSON", '{"type": "object", "properties": {"a": {"type": "string"}}}')
    b = parse_schema("JSON", '{"properties": {"a": {"type": "string"}},\n   "type": "object"}')
    assert a.fingerprint == b.fingerprint


def test_avro_violation_fields() -> None:
    old = avro(ORDER)
    new_doc = json.loads(json.dumps(ORDER))
    new_doc["fields"][2]["type"]["items"]["fields"][0]["type"] = "string"
    new_doc["fields"].append({"name": "currency", "type": "string"})
    new = avro(new_doc)
    report = check_compatibility(new, [old], "BACKWARD")
    assert not report.compatible
    by_path = {v.path: v for v in report.violations}
    price = by_path["Order.items[].price"]
    assert (price.rule_id, price.old, price.new, price.version_index) == (
        "AVRO_TYPE_MISMATCH",
        "int",
        "string",
        0,
    )
    currency = by_path["Order.currency"]
    assert currency.rule_id == "AVRO_READER_FIELD_MISSING_DEFAULT_VALUE"
    assert "was added without a default" in currency.message and "default" in (currency.hint or "")


def test_protobuf_violation_path_names_the_field_number() -> None:
    old = parse_schema(
        "PROTOBUF", 'syntax = "proto3";\npackage orders.v1;\nmessage Order { int64 total = 3; }\n'
    )
    new = parse_schema(
        "PROTOBUF", 'syntax = "proto3";\npackage orders.v1;\nmessage Order { string total = 3; }\n'
    )
    (violation,) = check_compatibility(new, [old], "BACKWARD").violations
    assert violation.path == "orders.v1.Order.total (field 3)"
    assert (violation.old, violation.new) == ("int64", "string")


def test_json_violation_path_is_a_pointer() -> None:
    old = parse_schema("JSON", '{"type": "object", "properties": {"total": {"type": "number"}}}')
    new = parse_schema("JSON", '{"type": "object", "properties": {"total": {"type": "integer"}}}')
    (violation,) = check_compatibility(new, [old], "BACKWARD").violations
    assert violation.path == "#/properties/total/type"
    assert violation.rule_id == "JSON_TYPE_NARROWED"


def test_levels_pick_the_versions_confluent_checks() -> None:
    v1 = avro({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    v2 = avro(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": 0}],
        }
    )
    v3 = avro(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}],
        }
    )
    assert check_compatibility(v3, [v1, v2], "BACKWARD").compatible  # against v2 only
    report = check_compatibility(v3, [v1, v2], "BACKWARD_TRANSITIVE")
    assert not report.compatible
    assert {v.version_index for v in report.violations} == {0}
    assert report.checked_versions == (0, 1)
    assert check_compatibility(v3, [v1, v2], "none").compatible
    assert check_compatibility(v3, [], "FULL_TRANSITIVE").compatible


def test_bad_level_and_mixed_types_are_usage_errors() -> None:
    a = avro({"type": "string"})
    j = parse_schema("JSON", '{"type": "string"}')
    with pytest.raises(UsageError):
        check_compatibility(a, [a], "SIDEWAYS")
    with pytest.raises(UsageError):
        check_compatibility(a, [j], "BACKWARD")


def test_avro_references_supply_named_types() -> None:
    money = json.dumps(
        {
            "type": "record",
            "name": "Money",
            "namespace": "common",
            "fields": [{"name": "units", "type": "long"}],
        }
    )
    text = json.dumps(
        {"type": "record", "name": "Order", "fields": [{"name": "total", "type": "common.Money"}]}
    )
    parsed = parse_schema("AVRO", text, references={"money.avsc": money})
    assert '"common.Money"' in parsed.canonical
