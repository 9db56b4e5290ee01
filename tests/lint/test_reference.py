"""The reference workspace (repo root) and every example lint without error findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from evtctl.lint.diagnostics import Severity
from evtctl.lint.engine import run_lint
from evtctl.workspace import check_workspace

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/evtctl.yaml"))


def _lint(root: Path, environment: str | None = None) -> list[str]:
    workspace, problems = check_workspace(root, environment=environment)
    assert not problems, "\n".join(p.render() for p in problems)
    assert workspace is not None
    return [f"{d.location}: {d.code} {d.message}" for d in run_lint(workspace).diagnostics]


def test_reference_workspace_lints_clean() -> None:
    assert _lint(REPO) == []


def test_reference_workspace_has_no_error_findings_in_any_environment() -> None:
    workspace, _ = check_workspace(REPO)
    assert workspace is not None
    for env in workspace.config.environments:
        loaded, problems = check_workspace(REPO, environment=env)
        assert not problems and loaded is not None
        errors = [d for d in run_lint(loaded).diagnostics if d.severity is Severity.ERROR]
        assert errors == [], f"environment {env}: {errors}"


@pytest.mark.parametrize("root", EXAMPLES, ids=lambda p: p.name)
def test_example_has_no_error_findings(root: Path) -> None:
    workspace, problems = check_workspace(root)
    assert not problems and workspace is not None
    errors = [
        f"{d.location}: {d.code} {d.message}"
        for d in run_lint(workspace).diagnostics
        if d.severity is Severity.ERROR
    ]
    assert errors == []
