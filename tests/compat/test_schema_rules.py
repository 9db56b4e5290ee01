"""Schema lint rules (EVT601-EVT604) on a small workspace of bad and good schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evtctl.lint.engine import config_for
from evtctl.lint.index import WorkspaceIndex
from evtctl.lint.rule import Finding, LintContext, Rule
from evtctl.lint.rules import schema_rules
from evtctl.workspace.loader import load_workspace

WORKSPACE = """\
apiVersion: evtctl/v1
kind: Workspace
metadata:
  name: rules-test
spec:
  paths:
    manifests: [topology]
    schemas: [schemas]
"""


def subject(name: str, schema: str) -> str:
    return f"""\
apiVersion: evtctl/v1
kind: Topic
metadata:
  name: {name}
spec:
  partitions: 1
---
apiVersion: evtctl/v1
kind: Subject
metadata:
  name: {name}
spec:
  topic: {name}
  value:
    schema: schemas/{schema}
  compatibility: BACKWARD
---
"""


def lint(tmp_path: Path, files: dict[str, str], rule: Rule) -> list[Finding]:
    (tmp_path / "topology").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "evtctl.yaml").write_text(WORKSPACE)
    manifests = "".join(subject(f"t.{Path(name).stem}", name) for name in files)
    (tmp_path / "topology" / "t.yaml").write_text(manifests.rstrip("-\n") + "\n")
    for name, text in files.items():
        (tmp_path / "schemas" / name).write_text(text)
    ws = load_workspace(tmp_path)
    return list(rule.run(LintContext(ws, WorkspaceIndex.build(ws), config_for(ws))))


AVRO_BAD = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "doc": "x",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "coupon", "type": ["null", "string"]},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    },
    indent=2,
)


def test_avro_nullable_field_without_default(tmp_path: Path) -> None:
    (found,) = lint(tmp_path, {"order.avsc": AVRO_BAD}, schema_rules.avro_optional_field_without_default)
    assert found.message == "Avro nullable field Order.coupon has no default."
    assert found.location.file and found.location.file.endswith("order.avsc")
    assert (found.location.line, found.location.col) == (10, 5)  # the "coupon" field object


PROTO = """\
syntax = "proto3";
package t.v1;

// An order.
message Order {
  string id = 1;
  int64 total = 4;
  reserved 2;
}

message Undocumented {
  string id = 1;
}
"""


def test_protobuf_gap_not_reserved(tmp_path: Path) -> None:
    (found,) = lint(tmp_path, {"order.proto": PROTO}, schema_rules.protobuf_field_number_not_reserved)
    assert "t.v1.Order: field number 3 is not reserved" in found.message
    assert found.help == "add `reserved 3;` to Order"
    assert (found.location.line, found.location.col) == (5, 1)


def test_json_content_model_unspecified(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "type": "object",
            "description": "d",
            "additionalProperties": False,
            "properties": {"addr": {"type": "object", "properties": {"city": {"type": "string"}}}},
        },
        indent=2,
    )
    (found,) = lint(tmp_path, {"order.json": text}, schema_rules.json_schema_content_model_unspecified)
    assert "#/properties/addr" in found.message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"order.avsc": json.dumps({"type": "record", "name": "Order", "fields": []})},
            ["Avro record Order"],
        ),
        ({"order.proto": PROTO}, ["Protobuf message t.v1.Undocumented"]),
        ({"order.json": '{"type": "string"}'}, ["JSON Schema has no description"]),
        ({"order.json": '{"type": "string", "description": "An id."}'}, []),
    ],
)
def test_missing_docs(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    found = lint(tmp_path, files, schema_rules.schema_missing_doc)
    assert [any(e in f.message for f in found) for e in expected] == [True] * len(expected)
    assert len(found) == len(expected)
