"""Run the registry's rules over a workspace: select, check, suppress, grade."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evtctl.lint.config import LintConfig, load_config, resolve
from evtctl.lint.diagnostics import Diagnostic, sort_diagnostics
from evtctl.lint.index import WorkspaceIndex
from evtctl.lint.rule import LintContext, Rule
from evtctl.lint.suppression import Suppressions
from evtctl.manifest.model import Workspace


@dataclass(frozen=True, slots=True)
class LintResult:
    diagnostics: list[Diagnostic]
    rules: tuple[Rule, ...]  # the rules that ran


def config_for(workspace: Workspace, rules: Sequence[Rule] | None = None) -> LintConfig:
    from evtctl.lint.registry import RULES

    return load_config(workspace.config.lint, rules or RULES, workspace.config.lint_location)


def run_lint(
    workspace: Workspace,
    *,
    config: LintConfig | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    rules: Sequence[Rule] | None = None,
) -> LintResult:
    """All findings of the active rules, suppressions applied, in deterministic order.

    ``select`` (codes, slugs, families) narrows the run to those rules, enabling opt-in ones;
    ``ignore`` drops rules; both come from the command line and win over evtctl.yaml.
    """
    from evtctl.lint.registry import RULES, by_code

    rules = tuple(rules or RULES)
    config = config or config_for(workspace, rules)
    selected = resolve(select, rules, usage=True)
    ignored = resolve(ignore, rules, usage=True)
    if selected:
        active = tuple(r for r in rules if r.code in selected and r.code not in ignored)
    else:
        active = tuple(r for r in rules if config.is_active(r) and r.code not in ignored)
    ctx = LintContext(workspace, WorkspaceIndex.build(workspace), config)
    suppressions = Suppressions.scan(workspace, rules)
    diagnostics: list[Diagnostic] = []
    for rule in active:
        severity = config.severity_of(rule)
        for found in rule.run(ctx):
            if suppressions.suppresses(rule, found):
                continue
            diagnostics.append(
                Diagnostic(rule.code, severity, found.message, found.location, found.help, rule.slug)
            )
    active_codes = {r.code for r in active}
    # The suppression rules (EVT901/EVT902) report on the directives themselves, after every other
    # rule had the chance to use them.
    for code, message, location, help in suppressions.problems(active_codes):
        if code in active_codes:
            meta = by_code(code)
            diagnostics.append(Diagnostic(code, config.severity_of(meta), message, location, help, meta.slug))
    return LintResult(sort_diagnostics(diagnostics), active)
