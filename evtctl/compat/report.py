"""Rendering compatibility results: text, JSON, SARIF and GitHub annotations.

SARIF and GitHub output reuse the lint formatters (``evtctl.lint.output``) through
:class:`~evtctl.lint.diagnostics.Diagnostic`; text and JSON are our own because they carry what
a compatibility finding has beyond a lint finding (old/new values, version, direction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.compat.model import CompatReport, Violation
from evtctl.errors import Location

OUTPUTS: tuple[str, ...] = ("text", "json", "sarif", "github")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One candidate checked against its history (a file list in pair mode, a subject otherwise)."""

    name: str  # subject name or candidate file
    file: str  # candidate file, for locations
    schema_type: str
    report: CompatReport
    versions: tuple[str, ...] = ()  # label per history entry, oldest first ("v1.avsc", "version 3")
    notes: tuple[str, ...] = field(default=())

    def version_label(self, v: Violation) -> str:
        if v.version_index is None:
            return "?"
        if v.version_index < len(self.versions):
            return self.versions[v.version_index]
        return f"version {v.version_index + 1}"


def render(results: Sequence[CheckResult], output: str, base: Path | None = None) -> str:
    if output == "json":
        return render_json(results)
    if output == "text":
        return render_text(results)
    from evtctl.lint.output import OutputContext
    from evtctl.lint.output import render as render_diagnostics

    return render_diagnostics(to_diagnostics(results), output, OutputContext(base=base))


def render_text(results: Sequence[CheckResult]) -> str:
    if not results:
        return "No schemas to check: the workspace binds no subjects.\n"
    lines: list[str] = []
    bad = 0
    for res in results:
        rep = res.report
        n = len(res.versions)
        against = f"{n} earlier version{'s' if n != 1 else ''}"
        if rep.compatible:
            lines.append(f"{res.name}: compatible ({rep.level}, {res.schema_type}, against {against})")
        else:
            bad += 1
            lines.append(f"{res.name}: INCOMPATIBLE ({rep.level}, {res.schema_type}, against {against})")
        for note in res.notes:
            lines.append(f"  note: {note}")
        for v in rep.violations:
            lines.append(f"  {v.rule_id} at {v.path} (against {res.version_label(v)}, {v.direction})")
            lines.append(f"    {v.message}")
            if v.old is not None or v.new is not None:
                old = v.old if v.old is not None else "-"
                new = v.new if v.new is not None else "-"
                lines.append(f"    old: {old}   new: {new}")
            if v.hint:
                lines.append(f"    hint: {v.hint}")
    if len(results) > 1:
        lines.append(
            f"{bad} of {len(results)} schemas incompatible."
            if bad
            else f"All {len(results)} schemas compatible."
        )
    return "\n".join(lines) + "\n"


def result_to_dict(res: CheckResult) -> dict[str, Any]:
    doc = res.report.to_dict()
    for v in doc["violations"]:
        idx = v["version_index"]
        v["version"] = res.versions[idx] if idx is not None and idx < len(res.versions) else None
    return {
        "name": res.name,
        "file": res.file,
        "schema_type": res.schema_type,
        "versions": list(res.versions),
        "notes": list(res.notes),
        **doc,
    }


def render_json(results: Sequence[CheckResult]) -> str:
    doc = {
        "version": 1,
        "compatible": all(r.report.compatible for r in results),
        "results": [result_to_dict(r) for r in results],
    }
    return json.dumps(doc, indent=2) + "\n"


def locate_violation(text: str, schema_type: str, path: str) -> tuple[int, int]:
    """Best-effort line/column in the candidate's text for a violation path (1:1 if not found).

    Paths are logical (``Order.items[].price``, ``pkg.Order.total (field 3)``, ``#/properties/x``);
    the last name in them is searched where that format declares names.
    """
    import re

    from evtctl.compat.jsonpos import line_col

    name = None
    if schema_type == "JSON":
        parts = [p for p in path.lstrip("#").split("/") if p]
        for i in range(len(parts) - 1, 0, -1):
            if parts[i - 1] in ("properties", "patternProperties", "$defs", "definitions", "dependencies"):
                name = parts[i].replace("~1", "/").replace("~0", "~")
                break
        pattern = rf'"{re.escape(name)}"\s*:' if name else None
    elif schema_type == "PROTOBUF":
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*) \(field (\d+)\)$", path)
        if m:
            pattern = rf"\b{re.escape(m[1])}\s*=\s*{m[2]}\b"
        else:
            name = path.rsplit(".", 1)[-1]
            pattern = rf"\b(message|enum|oneof)\s+{re.escape(name)}\b"
    else:
        name = re.split(r"[.\[\]{}]+", path.strip(".[]{}"))[-1]
        pattern = rf'"name"\s*:\s*"{re.escape(name)}"' if name else None
    if pattern:
        found = re.search(pattern, text)
        if found:
            return line_col(text, found.start())
    return 1, 1


def to_diagnostics(results: Sequence[CheckResult]) -> list[Any]:
    from evtctl.lint.diagnostics import Diagnostic, Severity

    out: list[Any] = []
    for res in results:
        text = _read(res.file) if res.report.violations else ""
        for v in res.report.violations:
            line, col = locate_violation(text, res.schema_type, v.path)
            message = f"{v.message} (against {res.version_label(v)}, {res.report.level})"
            out.append(
                Diagnostic(
                    code=v.rule_id,
                    severity=Severity.ERROR,
                    message=message,
                    location=Location(res.file, line, col, context=v.path),
                    help=v.hint,
                    rule_slug=v.rule_id.lower().replace("_", "-"),
                )
            )
    return out


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
