"""Pair/history mode of ``evtctl schema check``: files oldest first, the last is the candidate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evtctl.compat import check_compatibility, guess_schema_type, normalize_schema_type, parse_schema_file
from evtctl.compat.levels import normalize_level
from evtctl.compat.report import CheckResult
from evtctl.errors import UsageError


def check_files(
    files: Sequence[Path], schema_type: str | None, level: str, references: Sequence[Path] = ()
) -> CheckResult:
    level = normalize_level(level)
    if schema_type:
        st = normalize_schema_type(schema_type)
    else:
        kinds = {guess_schema_type(f) for f in files}
        if len(kinds) != 1:
            raise UsageError("the files have different schema types", help="pass --type avro|protobuf|json")
        st = kinds.pop()
    parsed = [parse_schema_file(f, st, reference_paths=list(references)) for f in files]
    report = check_compatibility(parsed[-1], parsed[:-1], level)
    return CheckResult(
        name=str(files[-1]),
        file=str(files[-1]),
        schema_type=st,
        report=report,
        versions=tuple(str(f) for f in files[:-1]),
    )
