"""Golden output of every report format for one workspace with findings of each severity.

Update after an intended change with:  EVTCTL_UPDATE_GOLDEN=1 python -m pytest tests/lint
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evtctl.lint.output import FORMATS, OutputContext, render
from evtctl.lint.registry import RULES
from tests.lint.helpers import FIXTURES, lint, materialize

GOLDEN = Path(__file__).parent / "golden"
UPDATE_COMMAND = "EVTCTL_UPDATE_GOLDEN=1 python -m pytest tests/lint"
SUFFIX = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github.txt"}


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[object], Path]:
    root = materialize(tmp_path_factory.mktemp("golden"), FIXTURES / "_golden")
    cwd = Path.cwd()
    os.chdir(root)  # locations are shown relative to the cwd, as when run at a workspace root
    try:
        return list(lint(root)), root
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_matches_golden(fmt: str, golden_run: tuple[list[object], Path]) -> None:
    diagnostics, _ = golden_run
    ctx = OutputContext(rules={r.code: r.info for r in RULES}, tool_version="0.0.0-golden")
    actual = render(diagnostics, fmt, ctx)  # type: ignore[arg-type]
    path = GOLDEN / f"lint.{SUFFIX[fmt]}"
    if os.environ.get("EVTCTL_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    assert actual == expected, f"{path} is out of date; if the change is intended run:\n    {UPDATE_COMMAND}"
