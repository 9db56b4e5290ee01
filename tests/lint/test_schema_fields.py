"""Field outlines of Avro, JSON Schema and Protobuf contracts (partition keys, tracing ids)."""

from __future__ import annotations

import json
from pathlib import Path

from evtctl.lint.schema_fields import outline

PROTO = """
syntax = "proto3";
package shop.v1;
option java_package = "com.shop";  // not a field
enum Status { STATUS_UNSPECIFIED = 0; PAID = 1; }
message Header { string event_id = 1; string correlation_id = 2; string causation_id = 3; }
message OrderPlaced {
  Header header = 1;
  string order_id = 2 [deprecated = true];
  bool express = 3;
  Status status = 4;
  map<string, int64> lines = 5;
  oneof payment { string card = 6; string iban = 7; }
  repeated Header history = 9;
  reserved 8;
}
"""


def test_protobuf_outline(tmp_path: Path) -> None:
    path = tmp_path / "order.proto"
    path.write_text(PROTO)
    shape = outline(path, "PROTOBUF", "shop.v1.OrderPlaced")
    assert shape is not None
    types = {name: f.type for name, f in shape.fields.items()}
    assert types == {
        "header": "record",
        "order_id": "string",
        "express": "boolean",
        "status": "enum",
        "lines": "map",
        "card": "string",
        "iban": "string",
        "history": "array",
    }
    assert {"event_id", "correlation_id", "causation_id"} <= shape.names()
    assert shape.lookup("header.event_id") is not None and shape.lookup("header.nope") is None
    first = outline(path, "PROTOBUF", None)  # no record name: the first top-level message
    assert first is not None and set(first.fields) == {"event_id", "correlation_id", "causation_id"}


def test_json_schema_outline_follows_local_refs(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "meta": {"$ref": "#/$defs/Meta"},
            "kind": {"enum": ["a", "b"]},
            "flag": {"type": ["boolean", "null"]},
            "count": {"type": "integer"},
        },
        "$defs": {"Meta": {"type": "object", "properties": {"eventId": {"type": "string"}}}},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    shape = outline(path, "JSON", None)
    assert shape is not None
    assert {n: f.type for n, f in shape.fields.items()} == {
        "meta": "record",
        "kind": "enum",
        "flag": "boolean",
        "count": "long",
    }
    assert shape.lookup("meta.eventId") is not None


def test_avro_outline_resolves_named_types_and_nullable_unions(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "A",
        "namespace": "n",
        "fields": [
            {"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["X"]}},
            {"name": "s2", "type": ["null", "S"]},
            {"name": "b", "type": ["null", "boolean"]},
            {"name": "u", "type": ["int", "string"]},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "self", "type": ["null", "A"]},
        ],
    }
    path = tmp_path / "a.avsc"
    path.write_text(json.dumps(schema))
    shape = outline(path, "AVRO", None)
    assert shape is not None
    assert {n: f.type for n, f in shape.fields.items()} == {
        "s": "enum",
        "s2": "enum",
        "b": "boolean",
        "u": "union",
        "id": "string",
        "self": "record",
    }


def test_unreadable_or_unparsable_files_give_none(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text("{not json")
    assert outline(bad, "AVRO", None) is None
    assert outline(tmp_path / "missing.avsc", "AVRO", None) is None
    bad.write_bytes(b"\xff\xfe")
    assert outline(bad, "JSON", None) is None
