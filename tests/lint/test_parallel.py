"""Schema-file rules run in a forked child on large workspaces: same findings, same suppressions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evtctl import forking
from evtctl.lint import engine
from evtctl.lint.registry import RULES
from tests.lint.helpers import lint, materialize, rule_fixture

SCHEMA_RULES = [r.code for r in RULES if r.reads_schema_files]


def test_work_runs_in_a_child_and_comes_back() -> None:
    assert forking.can_fork(), "the test process must be able to fork (Linux, 2 cores, one thread)"
    wait = forking.start(lambda: (os.getpid(), {"a": [1, 2.5, None, True]}))
    pid, payload = wait()
    assert pid != os.getpid()
    assert payload == {"a": [1, 2.5, None, True]}


def test_a_failing_child_falls_back_to_this_process() -> None:
    parent = os.getpid()

    def work() -> int:
        if os.getpid() != parent:
            raise RuntimeError("only the child fails")
        return parent

    assert forking.start(work)() == parent


def test_no_fork_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVTCTL_NO_FORK", "1")
    assert forking.start(os.getpid)() == os.getpid()


def _both_ways(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], list[object]]:
    monkeypatch.setattr(engine, "PARALLEL_MIN_SUBJECTS", 0)
    forked = lint(root)
    monkeypatch.setenv("EVTCTL_NO_FORK", "1")
    here = lint(root)
    monkeypatch.delenv("EVTCTL_NO_FORK")
    return list(forked), list(here)


@pytest.mark.parametrize("code", SCHEMA_RULES)
def test_forked_schema_rules_find_the_same(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = rule_fixture(code)
    assert fixture is not None
    forked, here = _both_ways(materialize(tmp_path, fixture / "bad"), monkeypatch)
    assert forked == here
    assert any(d.code == code for d in forked)  # type: ignore[attr-defined]


def test_a_suppression_used_in_the_child_is_not_reported_unused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = rule_fixture("EVT601")
    assert fixture is not None
    root = materialize(tmp_path, fixture / "bad")
    manifest = root / "topology" / "fixture.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "metadata: {name: shop.orders.coupons}\nspec:\n  topic:",
            "metadata:\n  name: shop.orders.coupons\n  annotations:\n"
            "    lint.evtctl.io/disable: 'EVT601 reason=\"legacy producer\"'\nspec:\n  topic:",
        )
    )
    forked, here = _both_ways(root, monkeypatch)
    assert forked == here
    codes = {d.code for d in forked}  # type: ignore[attr-defined]
    assert "EVT601" not in codes  # suppressed (in the child)
    assert "EVT901" not in codes  # and the parent knows the suppression was used
