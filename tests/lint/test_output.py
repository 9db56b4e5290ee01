"""Report formats on hand-made diagnostics: SARIF structure, escaping, colour, JSON shape."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from evtctl.errors import Location
from evtctl.lint.diagnostics import Diagnostic, Severity
from evtctl.lint.output import FORMATS, FORMATTERS, Formatter, OutputContext, emit, render, use_color
from evtctl.lint.registry import RULES

RULE_INFO = {r.code: r.info for r in RULES}


def _diags(root: Path) -> list[Diagnostic]:
    return [
        Diagnostic(
            "EVT106",
            Severity.WARNING,
            "Topic 'a' has 100% no retention, really",
            Location(str(root / "t.yaml"), 3, 5),
        ),
        Diagnostic(
            "EVT401",
            Severity.ERROR,
            "line one\nline two",
            Location(str(root / "sub/p.yaml"), 9, 1),
            "fix, it",
        ),
        Diagnostic(
            "VAL003", Severity.ERROR, "not UTF-8", Location(str(root / "b.yaml")), None, "unreadable-file"
        ),
        Diagnostic("EVT006", Severity.INFO, "no classification", Location(str(root / "t.yaml"), 1, 1)),
    ]


def test_every_format_is_registered_and_satisfies_the_protocol() -> None:
    assert set(FORMATTERS) == set(FORMATS)
    for fmt in FORMATS:
        formatter: Formatter = FORMATTERS[fmt]
        assert isinstance(formatter([], OutputContext()), str)


def test_sarif_has_the_structure_github_code_scanning_requires(tmp_path: Path) -> None:
    doc = json.loads(render(_diags(tmp_path), "sarif", OutputContext(rules=RULE_INFO, base=tmp_path)))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "evtctl" and driver["version"]
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(set(ids)) == ["EVT006", "EVT106", "EVT401", "VAL003"]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert rules[ids.index("EVT401")]["helpUri"].endswith("docs/rules/EVT401.md")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    assert len(run["results"]) == 4
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        assert result["partialFingerprints"]
        (loc,) = result["locations"]
        artifact = loc["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%" and not artifact["uri"].startswith("/")
        region = loc["physicalLocation"].get("region")
        assert region is None or region["startLine"] >= 1
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["EVT401"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub/p.yaml"
    assert "region" not in by_rule["VAL003"]["locations"][0]["physicalLocation"]  # no line: whole file


def test_github_annotations_escape_data_and_properties(tmp_path: Path) -> None:
    out = render(_diags(tmp_path), "github", OutputContext(base=tmp_path)).splitlines()
    assert out[0].startswith("::error file=b.yaml,title=VAL003 unreadable-file::not UTF-8")
    annotation = next(line for line in out if "EVT401" in line)
    assert (
        annotation == "::error file=sub/p.yaml,line=9,col=1,title=EVT401::line one%0Aline two%0Ahelp: fix, it"
    )
    assert any(line.startswith("::notice ") for line in out)
    assert any("100%25 no retention" in line for line in out)
    for line in out:  # one line per annotation, well-formed command
        assert re.fullmatch(r"::(error|warning|notice) [^:]*::.*", line), line


def test_text_groups_by_file_and_colours_only_when_asked(tmp_path: Path) -> None:
    plain = render(_diags(tmp_path), "text", OutputContext(base=tmp_path))
    assert "\x1b[" not in plain
    lines = plain.splitlines()
    assert lines[0] == "b.yaml" and lines.count("t.yaml") == 1
    assert lines[-1] == "2 errors, 1 warning, 1 info in 3 files."
    coloured = render(_diags(tmp_path), "text", OutputContext(base=tmp_path, color=True))
    assert "\x1b[" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert render([], "text", OutputContext()) == "No problems found.\n"


def test_emit_colours_a_tty_but_not_a_pipe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    tty, pipe = Tty(), io.StringIO()
    assert use_color(tty) and not use_color(pipe)
    emit(_diags(tmp_path), "text", base=tmp_path, stream=tty)
    emit(_diags(tmp_path), "text", base=tmp_path, stream=pipe)
    assert "\x1b[" in tty.getvalue() and "\x1b[" not in pipe.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(tty)


def test_json_is_sorted_and_counts_severities(tmp_path: Path) -> None:
    doc = json.loads(render(_diags(tmp_path), "json", OutputContext(base=tmp_path)))
    assert [d["file"] for d in doc["diagnostics"]] == ["b.yaml", "sub/p.yaml", "t.yaml", "t.yaml"]
    assert doc["summary"] == {"error": 2, "warning": 1, "info": 1}
    assert doc["diagnostics"][2]["code"] == "EVT006" and doc["diagnostics"][2]["line"] == 1


def test_unknown_format_is_a_usage_error() -> None:
    from evtctl.errors import UsageError

    with pytest.raises(UsageError, match="unknown output format"):
        render([], "xml")
