"""Fixture workspaces for lint tests: the clean `_base` workspace plus a per-case overlay."""

from __future__ import annotations

import shutil
from pathlib import Path

from evtctl.lint.diagnostics import Diagnostic
from evtctl.lint.engine import run_lint
from evtctl.manifest.model import Workspace
from evtctl.workspace import check_workspace

FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "_base"


def materialize(tmp_path: Path, *overlays: Path) -> Path:
    """Copy the base workspace to ``tmp_path/ws`` and lay each overlay directory over it."""
    root = tmp_path / "ws"
    shutil.copytree(BASE, root)
    for overlay in overlays:
        shutil.copytree(overlay, root, dirs_exist_ok=True)
    return root


def load(root: Path) -> Workspace:
    workspace, problems = check_workspace(root)
    assert not problems, "fixture does not validate:\n" + "\n".join(p.render() for p in problems)
    assert workspace is not None
    return workspace


def lint(root: Path, **kwargs: object) -> list[Diagnostic]:
    return run_lint(load(root), **kwargs).diagnostics  # type: ignore[arg-type]


def rule_fixture(code: str) -> Path | None:
    found = sorted(FIXTURES.glob(f"{code}-*"))
    return found[0] if found else None
