"""Avro verdicts cross-checked against Apache Avro's own Python checker.

Differences we keep on purpose (docs/compat.md, "Differences from other checkers"):
- decimal precision/scale changes are incompatible here (the specification's rule), compatible for
  Apache Avro's checkers;
- a reader alias written without a namespace ("Order") is resolved against the reader's
  namespace, as Avro Java (and so Confluent) does; the Python checker compares it unresolved;
- the Python checker cannot check ``error`` types at all.
"""

from __future__ import annotations

import json
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtctl.compat import check_compatibility, parse_schema, parse_schema_file
from tests.compat.corpus_support import load_cases

DELIBERATE = {
    "decimal_precision_change",
    "decimal_scale_change",
    "decimal_fixed_precision_change",
    "record_rename_with_short_alias",
    "error_type_record",
}


def apache_verdicts(old: str, new: str) -> tuple[bool, bool]:
    o, n = avro.schema.parse(old), avro.schema.parse(new)
    backward = ReaderWriterCompatibilityChecker().get_compatibility(n, o).compatibility
    forward = ReaderWriterCompatibilityChecker().get_compatibility(o, n).compatibility
    return backward is SchemaCompatibilityType.compatible, forward is SchemaCompatibilityType.compatible


def our_verdicts(old: str, new: str) -> tuple[bool, bool]:
    o, n = parse_schema("AVRO", old), parse_schema("AVRO", new)
    return (
        check_compatibility(n, [o], "BACKWARD").compatible,
        check_compatibility(n, [o], "FORWARD").compatible,
    )


AVRO_CASES = [c for c in load_cases("avro") if not c.references]


AGREEING = [c for c in AVRO_CASES if c.name not in DELIBERATE]


@pytest.mark.parametrize("case", AGREEING, ids=[c.name for c in AGREEING])
def test_corpus_agrees_with_apache_avro(case: Any) -> None:
    old, new = (p.read_text() for p in case.versions[-2:])
    assert our_verdicts(old, new) == apache_verdicts(old, new)
    parse_schema_file(case.versions[-1], "AVRO")


def test_deliberate_differences_still_differ() -> None:
    """If Apache Avro changes its mind, the documentation must change too."""
    for case in AVRO_CASES:
        if case.name in DELIBERATE - {"error_type_record"}:
            old, new = (p.read_text() for p in case.versions[-2:])
            assert our_verdicts(old, new) != apache_verdicts(old, new), case.name


# ----------------------------------------------------------------------------- random evolutions

PRIMS = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
SYMBOLS = ["A", "B", "C", "D"]


def default_for(t: Any) -> Any:
    if isinstance(t, list):
        return default_for(t[0])
    if isinstance(t, str):
        return {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0}.get(t, "")
    kind = t["type"]
    if kind == "enum":
        return t["symbols"][0]
    if kind == "fixed":
        return "\u0000" * t["size"]
    if kind == "array":
        return []
    if kind == "map":
        return {}
    if kind == "record":
        return {f["name"]: default_for(f["type"]) for f in t["fields"]}
    return default_for(kind)


@st.composite
def field_type(draw: st.DrawFn, depth: int = 0) -> Any:
    choice = draw(st.integers(0, 7 if depth < 2 else 2))
    if choice <= 2:
        return draw(st.sampled_from(PRIMS[1:]))
    if choice == 3:
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
        enum: dict[str, Any] = {"type": "enum", "name": "E", "symbols": symbols}
        if draw(st.booleans()):
            enum["default"] = symbols[0]
        return enum
    if choice == 4:
        return {"type": "fixed", "name": "F", "size": draw(st.sampled_from([2, 4]))}
    if choice == 5:
        if draw(st.booleans()):
            return {"type": "array", "items": draw(st.sampled_from(PRIMS[2:]))}
        return {"type": "map", "values": draw(st.sampled_from(PRIMS[2:]))}
    if choice == 6:
        branches = draw(st.lists(st.sampled_from(PRIMS), min_size=1, max_size=3, unique=True))
        return branches
    return {"type": "record", "name": f"R{depth}", "fields": draw(fields(depth + 1))}


@st.composite
def fields(draw: st.DrawFn, depth: int = 0) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    out = []
    for name in names:
        t = draw(field_type(depth))
        f: dict[str, Any] = {"name": name, "type": t}
        if draw(st.booleans()):
            f["default"] = default_for(t)
        out.append(f)
    return out


@st.composite
def evolution(draw: st.DrawFn) -> tuple[str, str]:
    old_fields = draw(fields())
    new_fields = [dict(f) for f in old_fields]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        if op == 0 and new_fields:
            new_fields.pop(draw(st.integers(0, len(new_fields) - 1)))
        elif op == 1:
            name = draw(st.sampled_from(["e", "f", "g"]))
            if all(f["name"] != name for f in new_fields):
                t = draw(field_type(1))
                f = {"name": name, "type": t}
                if draw(st.booleans()):
                    f["default"] = default_for(t)
                new_fields.append(f)
        elif op == 2 and new_fields:
            i = draw(st.integers(0, len(new_fields) - 1))
            t = draw(field_type(1))
            new_fields[i] = {"name": new_fields[i]["name"], "type": t}
            if draw(st.booleans()):
                new_fields[i]["default"] = default_for(t)
        elif op == 3 and new_fields:
            i = draw(st.integers(0, len(new_fields) - 1))
            f = dict(new_fields[i])
            f.pop("default", None) if "default" in f else f.__setitem__("default", default_for(f["type"]))
            new_fields[i] = f
        elif op == 4 and new_fields:
            i = draw(st.integers(0, len(new_fields) - 1))
            t = new_fields[i]["type"]
            if isinstance(t, list):
                extra = draw(st.sampled_from(PRIMS))
                new_fields[i] = {
                    "name": new_fields[i]["name"],
                    "type": [*t, extra] if extra not in t else t[:-1] or t,
                }
        elif op == 5 and new_fields:
            i = draw(st.integers(0, len(new_fields) - 1))
            t = new_fields[i]["type"]
            if isinstance(t, dict) and t["type"] == "enum":
                symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
                enum = {"type": "enum", "name": "E", "symbols": symbols}
                if draw(st.booleans()):
                    enum["default"] = symbols[0]
                new_fields[i] = {"name": new_fields[i]["name"], "type": enum}
    old = {"type": "record", "name": "Rec", "namespace": "gen", "fields": old_fields}
    new: dict[str, Any] = {"type": "record", "name": "Rec", "namespace": "gen", "fields": new_fields}
    rename = draw(st.integers(0, 4))
    if rename == 1:  # renamed without an alias
        new["name"] = "Renamed"
    elif rename == 2:  # renamed with a fully qualified alias
        new.update(name="Renamed", aliases=["gen.Rec"])
    elif rename == 3:  # moved to another namespace (unqualified names still match)
        new["namespace"] = "moved"
    return _uniquify(old), _uniquify(new)


def _uniquify(schema: dict[str, Any]) -> str:
    """Give every named type a unique name (fields may reuse the generator's E/F/R names)."""
    counter = [0]

    def walk(t: Any) -> Any:
        if isinstance(t, list):
            return [walk(b) for b in t]
        if isinstance(t, dict):
            t = dict(t)
            if t["type"] in ("enum", "fixed", "record") and t is not schema:
                counter[0] += 1
                t["name"] = f"{t['name']}{counter[0]}"
            if t["type"] == "record":
                t["fields"] = [{**f, "type": walk(f["type"])} for f in t["fields"]]
            if t["type"] == "array":
                t["items"] = walk(t["items"])
            if t["type"] == "map":
                t["values"] = walk(t["values"])
        return t

    out = dict(schema)
    out["fields"] = [{**f, "type": walk(f["type"])} for f in schema["fields"]]
    return json.dumps(out)


def _valid(text: str) -> bool:
    try:
        avro.schema.parse(text)
    except Exception:
        return False
    return True


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(evolution())
def test_random_evolutions_agree_with_apache_avro(pair: tuple[str, str]) -> None:
    old, new = pair
    if not (_valid(old) and _valid(new)):
        return  # e.g. a union default that does not match its first branch after a mutation
    assert our_verdicts(old, new) == apache_verdicts(old, new), (old, new)
