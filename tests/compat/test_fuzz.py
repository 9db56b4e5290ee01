"""Arbitrary input never crashes the parsers: it parses or raises a located InputError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtctl.compat import check_compatibility, parse_schema
from evtctl.errors import InputError

KEYS = [
    "type",
    "name",
    "namespace",
    "fields",
    "items",
    "values",
    "symbols",
    "size",
    "default",
    "aliases",
    "logicalType",
    "precision",
    "scale",
    "properties",
    "required",
    "additionalProperties",
    "$ref",
    "enum",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "prefixItems",
    "$defs",
    "definitions",
    "minimum",
    "maxLength",
]
WORDS = [
    "record",
    "enum",
    "fixed",
    "array",
    "map",
    "int",
    "long",
    "string",
    "null",
    "object",
    "integer",
    "number",
    "decimal",
    "A",
    "B",
    "#",
    "#/definitions/A",
    "#/$defs/A",
    "x.json",
    "bytes",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.sampled_from(WORDS),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


def _try(schema_type: str, text: str) -> Any:
    try:
        return parse_schema(schema_type, text, origin="fuzz")
    except InputError as err:
        assert err.location is not None and err.location.file == "fuzz"
        return None


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, json_values)
def test_json_shaped_input(a: Any, b: Any) -> None:
    for schema_type in ("AVRO", "JSON"):
        old, new = _try(schema_type, json.dumps(a)), _try(schema_type, json.dumps(b))
        if old is not None and new is not None:
            report = check_compatibility(new, [old], "FULL")
            assert report.compatible == (not report.violations)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    for schema_type in ("AVRO", "JSON", "PROTOBUF"):
        _try(schema_type, text)
