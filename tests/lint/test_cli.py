"""`evtctl lint` and `evtctl explain` as a user runs them: a real process, real exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from evtctl.lint.docs import DOCS_DIR, expected_files, explain_text
from evtctl.lint.registry import RULES
from tests.lint.helpers import FIXTURES, materialize
from tests.support.cli import run_evtctl

REPO = Path(__file__).resolve().parents[2]


def evtctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_evtctl(*args, cwd=cwd or REPO, timeout=60, clean_env=True)


def test_lint_clean_workspace_exits_0(tmp_path: Path) -> None:
    root = materialize(tmp_path)
    result = evtctl("lint", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No problems found." in result.stdout


def test_lint_error_findings_exit_1_and_json_lists_them(tmp_path: Path) -> None:
    root = materialize(tmp_path, FIXTURES / "EVT401-acl-wildcard-principal" / "bad")
    result = evtctl("lint", "--output", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    hit = next(d for d in doc["diagnostics"] if d["code"] == "EVT401")
    assert hit["file"] == "topology/fixture.yaml" and hit["severity"] == "error" and hit["line"] > 0


def test_lint_warnings_only_exit_0(tmp_path: Path) -> None:
    root = materialize(tmp_path, FIXTURES / "EVT106-retention-unset" / "bad")
    result = evtctl("lint", str(root), "--output", "github", "--select", "EVT106,topic-without-producer")
    assert result.returncode == 0, result.stdout
    assert "::warning file=" in result.stdout and "title=EVT106 retention-unset" in result.stdout


def test_lint_select_narrows_and_unknown_rule_is_usage_error(tmp_path: Path) -> None:
    root = materialize(tmp_path, FIXTURES / "EVT401-acl-wildcard-principal" / "bad")
    assert evtctl("lint", str(root), "--select", "EVT106").returncode == 0
    bad = evtctl("lint", str(root), "--ignore", "EVT4O1")
    assert (
        bad.returncode == 2 and "unknown lint rule 'EVT4O1'" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_lint_invalid_workspace_reports_validation_and_exits_2(tmp_path: Path) -> None:
    root = materialize(tmp_path)
    (root / "topology" / "broken.yaml").write_text(
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: x}\nspec: {}\n"
    )
    result = evtctl("lint", str(root))
    assert result.returncode == 2
    assert (
        "topology/broken.yaml" in result.stdout
        and "VAL" in result.stdout
        and "Traceback" not in result.stderr
    )


def test_lint_reports_validation_errors_in_the_chosen_format(tmp_path: Path) -> None:
    root = materialize(tmp_path)
    (root / "topology" / "broken.yaml").write_text("apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: x}")
    result = evtctl("lint", "--output", "sarif", cwd=root)
    assert result.returncode == 2
    (run,) = json.loads(result.stdout)["runs"]
    assert run["results"] and all(r["ruleId"].startswith("VAL") for r in run["results"])
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "topology/broken.yaml"


def test_lint_bad_lint_config_exits_2(tmp_path: Path) -> None:
    root = materialize(tmp_path)
    config = (root / "evtctl.yaml").read_text().replace("  lint:\n", "  lint:\n    disable: [no-such-rule]\n")
    (root / "evtctl.yaml").write_text(config)
    result = evtctl("lint", str(root))
    assert result.returncode == 2 and "evtctl.yaml" in result.stderr and "no-such-rule" in result.stderr


def test_lint_unknown_output_format_exits_2(tmp_path: Path) -> None:
    result = evtctl("lint", str(materialize(tmp_path)), "--output", "xml")
    assert result.returncode == 2 and "unknown output format" in result.stderr


def test_explain_prints_registry_metadata_and_unknown_is_usage_error() -> None:
    result = evtctl("explain", "EVT205")
    rule = next(r for r in RULES if r.code == "EVT205")
    assert result.returncode == 0 and result.stdout == explain_text(rule)
    assert rule.slug in result.stdout and rule.bad.splitlines()[0] in result.stdout
    listing = evtctl("explain", "--list")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == len(RULES)
    unknown = evtctl("explain", "EVT2O5")
    assert unknown.returncode == 2 and "did you mean" in unknown.stderr


def test_committed_rule_docs_match_the_registry() -> None:
    expected = expected_files(RULES)
    actual = {p.name: p.read_text(encoding="utf-8") for p in DOCS_DIR.glob("*.md")}
    stale = sorted(n for n in set(expected) | set(actual) if expected.get(n) != actual.get(n))
    assert not stale, (
        f"docs/rules is out of date ({', '.join(stale)}); regenerate: python -m evtctl.lint.docs"
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_examples_in_rule_metadata_parse_as_yaml(rule: object) -> None:
    import yaml

    for text in (rule.bad, rule.good):  # type: ignore[attr-defined]
        assert list(yaml.safe_load_all(text))
