"""Schema-file rules run in a forked child on large workspaces: same findings, same suppressions."""

from __future__ import annotations

import json
from pathlib import Path

from evtctl.lint.registry import RULES
from tests.lint.helpers import materialize, rule_fixture
from tests.support.cli import fresh_python

SCHEMA_RULES = [r.code for r in RULES if r.reads_schema_files]


# In a fresh interpreter: this test process may have threads left by other tests, and then
# forking is (rightly) skipped. The script lints each root both ways and reports both.
_SCRIPT = """
import json, os, sys
from pathlib import Path
from evtctl import forking
from evtctl.lint import engine
from evtctl.workspace import check_workspace

engine.PARALLEL_MIN_SUBJECTS = 0
out = {"can_fork": forking.can_fork(), "runs": []}
for root in sys.argv[1:]:
    both = []
    for no_fork in ("", "1"):
        os.environ["EVTCTL_NO_FORK"] = no_fork
        workspace, problems = check_workspace(Path(root))
        assert not problems, problems
        both.append([[d.code, d.message, str(d.location)] for d in engine.run_lint(workspace).diagnostics])
    out["runs"].append(both)
print(json.dumps(out))
"""


def _lint_both_ways(*roots: Path) -> list[tuple[list[list[str]], list[list[str]]]]:
    out = json.loads(fresh_python(_SCRIPT, *roots))
    assert out["can_fork"], "a fresh evtctl process on this machine must be able to fork"
    return [(forked, here) for forked, here in out["runs"]]


def test_forked_schema_rules_find_the_same(tmp_path: Path) -> None:
    roots = []
    for n, code in enumerate(SCHEMA_RULES):
        fixture = rule_fixture(code)
        assert fixture is not None
        roots.append(materialize(tmp_path / str(n), fixture / "bad"))
    # A suppressed schema-rule finding: suppressed in the child, and the parent must know the
    # suppression was used (else EVT901 "matched no finding").
    fixture = rule_fixture("EVT601")
    assert fixture is not None
    suppressed = materialize(tmp_path / "suppressed", fixture / "bad")
    manifest = suppressed / "topology" / "fixture.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "metadata: {name: shop.orders.coupons}\nspec:\n  topic:",
            "metadata:\n  name: shop.orders.coupons\n  annotations:\n"
            "    lint.evtctl.io/disable: 'EVT601 reason=\"legacy producer\"'\nspec:\n  topic:",
        )
    )
    runs = _lint_both_ways(*roots, suppressed)
    for code, (forked, here) in zip([*SCHEMA_RULES, "suppressed"], runs, strict=True):
        assert forked == here, code
    for code, (forked, _) in zip(SCHEMA_RULES, runs, strict=False):
        assert any(d[0] == code for d in forked), code
    codes = {d[0] for d in runs[-1][0]}
    assert "EVT601" not in codes
    assert "EVT901" not in codes
