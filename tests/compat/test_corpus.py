"""Every corpus case: each version parses, and the last one gets the expected verdict per level."""

from __future__ import annotations

import pytest

from evtctl.compat import LEVELS, check_compatibility, parse_schema_file
from tests.compat.corpus_support import Case, load_cases

CASES = load_cases()
TYPES = {"avro": "AVRO", "protobuf": "PROTOBUF", "json": "JSON"}


def test_corpus_is_large_enough() -> None:
    counts = {fmt: sum(1 for c in CASES if c.fmt == fmt) for fmt in TYPES}
    assert sum(counts.values()) >= 150, counts
    assert all(n >= 30 for n in counts.values()), counts


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    refs = case.references if case.fmt == "avro" else ()
    parsed = [parse_schema_file(v, TYPES[case.fmt], reference_paths=refs) for v in case.versions]
    assert len(parsed) >= 2
    expected = case.expected["levels"]
    assert set(expected) == set(LEVELS)
    got: dict[str, str] = {}
    rules: set[str] = set()
    for level in LEVELS:
        report = check_compatibility(parsed[-1], parsed[:-1], level)
        got[level] = "compatible" if report.compatible else "incompatible"
        assert report.compatible == (not report.violations)
        rules |= {v.rule_id for v in report.violations}
        for v in report.violations:
            assert v.message.endswith("."), v.message
            assert v.path and v.hint
    assert got == expected
    for rule in case.expected.get("rules", []):
        assert rule in rules, (rule, sorted(rules))
