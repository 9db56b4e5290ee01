"""Every registered rule fires on its bad fixture and stays quiet on its good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from evtctl.lint.registry import RULES
from tests.lint.helpers import FIXTURES, lint, materialize, rule_fixture

CODES = [r.code for r in RULES]


def test_base_workspace_is_clean(tmp_path: Path) -> None:
    assert lint(materialize(tmp_path)) == []


@pytest.mark.parametrize("code", CODES)
def test_rule_fires_on_bad_fixture(code: str, tmp_path: Path) -> None:
    fixture = rule_fixture(code)
    assert fixture is not None, f"rule {code} has no fixture directory tests/lint/fixtures/{code}-<slug>/"
    root = materialize(tmp_path, fixture / "bad")
    # The base alone is clean (test above), so the finding comes from what the bad overlay adds.
    assert [d for d in lint(root) if d.code == code], f"{code} did not fire on {fixture / 'bad'}"


@pytest.mark.parametrize("code", CODES)
def test_rule_quiet_on_good_fixture(code: str, tmp_path: Path) -> None:
    fixture = rule_fixture(code)
    assert fixture is not None and (fixture / "good").is_dir(), f"rule {code} has no good fixture"
    root = materialize(tmp_path, fixture / "good")
    assert [d for d in lint(root) if d.code == code] == []


def test_every_fixture_directory_names_a_registered_rule() -> None:
    by_code = {r.code: r.slug for r in RULES}
    for directory in FIXTURES.iterdir():
        if directory.name.startswith("_") or not directory.is_dir():
            continue
        code, _, slug = directory.name.partition("-")
        assert by_code.get(code) == slug, f"{directory.name} does not match a rule code and slug"
