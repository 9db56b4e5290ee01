"""Run the registry's rules over a workspace: select, check, suppress, grade."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evtctl import forking
from evtctl.errors import Location
from evtctl.lint.config import LintConfig, load_config, resolve
from evtctl.lint.diagnostics import Diagnostic, Severity, sort_diagnostics
from evtctl.lint.index import WorkspaceIndex
from evtctl.lint.rule import LintContext, Rule
from evtctl.lint.suppression import Suppressions
from evtctl.manifest.model import Workspace

# Workspaces with fewer subjects lint too fast for a second process to pay off.
PARALLEL_MIN_SUBJECTS = 200


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

    def run(group: Sequence[Rule]) -> list[Diagnostic]:
        found_here: list[Diagnostic] = []
        for rule in group:
            severity = config.severity_of(rule)
            for found in rule.run(ctx):
                if not suppressions.suppresses(rule, found):
                    found_here.append(
                        Diagnostic(rule.code, severity, found.message, found.location, found.help, rule.slug)
                    )
        return found_here

    def run_elsewhere(group: Sequence[Rule]) -> Any:
        found_there = run(group)
        used = [(i, code) for i, d in enumerate(suppressions.directives) for code in sorted(d.used)]
        return [_to_wire(d) for d in found_there], used

    # The rules that parse every bound schema file cost the most on large workspaces: run them
    # on the second core while this process runs the rest (see evtctl.forking).
    elsewhere = (
        tuple(r for r in active if r.reads_schema_files)
        if len(workspace.subjects) >= PARALLEL_MIN_SUBJECTS
        else ()
    )
    wait = forking.start(lambda: run_elsewhere(elsewhere)) if elsewhere else None
    diagnostics = run(tuple(r for r in active if r not in elsewhere))
    if wait is not None:
        wired, used = wait()
        diagnostics.extend(_from_wire(d) for d in wired)
        for i, code in used:
            suppressions.directives[i].used.add(code)
    active_codes = {r.code for r in active}
    # The suppression rules (EVT901/EVT902) report on the directives themselves, after every other
    # rule had the chance to use them.
    for code, message, location, help in suppressions.problems(active_codes):
        if code in active_codes:
            meta = by_code(code)
            diagnostics.append(Diagnostic(code, config.severity_of(meta), message, location, help, meta.slug))
    return LintResult(sort_diagnostics(diagnostics), active)


def _to_wire(d: Diagnostic) -> tuple[Any, ...]:
    loc = d.location
    where = (loc.file, loc.line, loc.col, loc.context)
    return (d.code, d.severity.value, d.message, where, d.help, d.rule_slug)


def _from_wire(wired: tuple[Any, ...]) -> Diagnostic:
    code, severity, message, (file, line, col, context), help, slug = wired
    return Diagnostic(code, Severity(severity), message, Location(file, line, col, context), help, slug)
