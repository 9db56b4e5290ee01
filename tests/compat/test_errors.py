"""Bad schemas give a located InputError (and exit 2 from the CLI), never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evtctl.compat import MAX_SCHEMA_BYTES, parse_schema
from evtctl.errors import InputError
from tests.support.cli import run_evtctl

REPO = Path(__file__).resolve().parents[2]

# (type, text, line, col, fragment of the message)
BAD = [
    (
        "AVRO",
        '{"type": "record",\n "name": "X",\n "fields": [\n  {"name": "a", "type": "int",}]}',
        4,
        31,
        "invalid JSON",
    ),
    (
        "AVRO",
        '{"type": "record", "name": "X",\n "fields": [\n  {"name": "a", "type": "Money"}]}',
        3,
        25,
        "unknown type 'Money'",
    ),
    (
        "AVRO",
        '{"type": "record", "name": "X",\n "fields": [\n  {"name": "a", "type": "strng"}]}',
        3,
        25,
        "unknown type",
    ),
    (
        "AVRO",
        '{"type": "record", "name": "X", "fields": [\n {"name": "a", "type": "int", "default": "x"}]}',
        2,
        42,
        "not a valid int",
    ),
    (
        "AVRO",
        '{"type": "enum", "name": "E",\n "symbols": ["A", "B"],\n "default": "C"}',
        3,
        13,
        "enum default",
    ),
    (
        "AVRO",
        '{"type": "record", "name": "X",\n "fields": [{"name": "a", "type": "int"},\n {"name": "a", "type": "int"}]}',  # noqa: E501
        3,
        11,
        "defined twice",
    ),
    (
        "AVRO",
        '{"type": "record", "name": "X", "fields": [\n {"name": "u", "type": ["int", ["null"]]}]}',
        2,
        32,
        "union",
    ),
    ("AVRO", '{"type": "fixed", "name": "F"}', 1, 1, "size"),
    (
        "AVRO",
        '{"type": "record", "name": "X", "fields": [\n {"name": "u", "type": ["null", "int"], "default": 1}]}',  # noqa: E501
        2,
        52,
        "not a valid null",
    ),
    ("PROTOBUF", 'syntax = "proto3";\nmessage A {\n  Foo x = 1;\n}\n', 3, 3, '"Foo" is not defined'),
    ("PROTOBUF", 'syntax = "proto3";\nmessage A {\n  int32 x = 1\n}\n', 4, 1, "Expected"),
    (
        "PROTOBUF",
        'syntax = "proto3";\nimport "missing/thing.proto";\nmessage A { int32 x = 1; }\n',
        2,
        1,
        "missing/thing.proto",
    ),
    (
        "PROTOBUF",
        'syntax = "proto3";\nmessage A {\n  int32 x = 1;\n  string y = 1;\n}\n',
        4,
        14,
        "already been used",
    ),
    (
        "JSON",
        '{\n  "type": "object",\n  "properties": {"a": {"type": "strin"}}\n}',
        3,
        32,
        "invalid JSON Schema",
    ),
    ("JSON", '{\n  "properties": {\n    "a": {"$ref": "#/definitions/Nope"}}\n}', 3, 19, "points to nothing"),
    ("JSON", '{\n  "properties": {\n    "a": {"$ref": "other.json"}}\n}', 3, 19, "unresolved $ref"),
    (
        "JSON",
        '{\n "definitions": {"A": {"$ref": "#/definitions/B"},\n  "B": {"$ref": "#/definitions/A"}},\n "$ref": "#/definitions/A"}',  # noqa: E501
        2,
        32,
        "$ref loop",
    ),
    ("JSON", '{"type": "object",, }', 1, 19, "invalid JSON"),
]


@pytest.mark.parametrize(("schema_type", "text", "line", "col", "fragment"), BAD)
def test_bad_schema_is_located(schema_type: str, text: str, line: int, col: int, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_schema(schema_type, text, origin="bad.schema")
    err = info.value
    assert fragment in err.message
    assert err.location is not None
    assert (err.location.line, err.location.col) == (line, col), err.render()


def test_recursive_ref_structure_is_fine() -> None:
    """A schema that refers to itself through structure is legal and compares as a cycle."""
    text = '{"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}}'
    parsed = parse_schema("JSON", text)
    assert parsed.schema_type == "JSON"


@pytest.mark.parametrize("schema_type", ["AVRO", "PROTOBUF", "JSON"])
def test_ten_megabyte_input_is_refused(schema_type: str) -> None:
    text = '{"type": "string", "doc": "' + "x" * (10 * 1024 * 1024) + '"}'
    with pytest.raises(InputError) as info:
        parse_schema(schema_type, text, origin="big.schema")
    assert "limit" in info.value.message
    assert info.value.location is not None and info.value.location.line == 1
    assert len(text) > MAX_SCHEMA_BYTES


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run_evtctl("schema", "check", *args, cwd=cwd, timeout=60, clean_env=True)


def test_cli_bad_schema_exits_2_with_location(tmp_path: Path) -> None:
    good = tmp_path / "v1.avsc"
    good.write_text('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}]}')
    bad = tmp_path / "v2.avsc"
    bad.write_text('{"type": "record", "name": "X",\n "fields": [{"name": "a", "type": "nope"}]}')
    result = _cli(str(good), str(bad))
    assert result.returncode == 2
    assert f"{bad}:2:" in result.stderr and "unknown type 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_big_file_exits_2(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"description": "' + "x" * (10 * 1024 * 1024) + '"}')
    result = _cli("--type", "json", str(big), str(big))
    assert result.returncode == 2
    assert f"{big}:1:1: error:" in result.stderr


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "a.avsc"
    f.write_text('"string"')
    assert _cli("--level", "SIDEWAYS", str(f), str(f)).returncode == 2
    assert _cli("--type", "xml", str(f), str(f)).returncode == 2
    assert _cli(str(tmp_path / "missing.avsc"), str(f)).returncode == 2
    assert _cli("--output", "yaml", str(f), str(f)).returncode == 2
    weird = tmp_path / "a.txt"
    weird.write_text("{}")
    assert _cli(str(weird), str(weird)).returncode == 2
