"""Protobuf verdicts cross-checked against ``buf breaking`` (WIRE rules) on the whole corpus.

buf runs once for all cases (it costs about a second). Our FULL verdict for the last pair of
versions must match buf's, except for the cases below, where Confluent's rules (which we follow)
and buf's WIRE category deliberately differ; docs/compat.md explains each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evtctl.compat import check_compatibility, parse_schema_file
from tests.compat.buf_support import buf_verdicts, find_buf
from tests.compat.corpus_support import load_cases

# case -> why Confluent and buf disagree
DIFFERENCES = {
    "add_message": "Confluent: a message the old schema lacks fails FORWARD; buf WIRE ignores messages",
    "remove_message": "Confluent: MESSAGE_REMOVED is incompatible; buf WIRE ignores message deletion",
    "rename_message": "Confluent: a rename is a removal (MESSAGE_REMOVED); buf WIRE ignores it",
    "nested_message_removed": "Confluent: MESSAGE_REMOVED for nested messages too; buf WIRE ignores it",
    "add_oneof_member": "Confluent: ONEOF_FIELD_REMOVED in the FORWARD direction; buf does not check it",
    "remove_field": "buf: FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED; Confluent allows deleting fields",
    "remove_whole_oneof": "buf: FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED; Confluent: ONEOF_REMOVED is fine",
    "renumber_field": "buf: the old number was deleted without reserving it; Confluent allows it",
    "enum_remove_value": "buf: ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED; Confluent ignores enums",
    "enum_rename_type": "buf: FIELD_WIRE_COMPATIBLE_TYPE for a different enum; Confluent: enums are varints",
    "int32_to_enum": "buf: FIELD_WIRE_COMPATIBLE_TYPE (enum semantics); Confluent: one varint group",
    "move_field_into_new_oneof": "buf: FIELD_SAME_ONEOF; Confluent allows one field into a new oneof",
    "singular_string_to_repeated": "buf: FIELD_WIRE_COMPATIBLE_CARDINALITY; Confluent: string/bytes label "
    "changes are compatible",
}


def test_buf_breaking_agrees_except_documented_differences(tmp_path: Path) -> None:
    buf = find_buf()
    if buf is None:
        pytest.skip(
            "buf not found: install it with `npm install @bufbuild/buf` at the repo root (or put buf on PATH)"
        )
    cases = load_cases("protobuf")
    found = buf_verdicts(buf, cases, tmp_path)
    disagreements: dict[str, str] = {}
    for case in cases:
        parsed = [parse_schema_file(v, "PROTOBUF") for v in case.versions[-2:]]
        ours = check_compatibility(parsed[1], [parsed[0]], "FULL").compatible
        theirs = not found[case.name]
        if ours != theirs:
            disagreements[case.name] = f"ours={ours} buf={sorted(found[case.name])}"
    assert set(disagreements) == set(DIFFERENCES), disagreements
    agreed = len(cases) - len(disagreements)
    assert agreed >= 50
