"""`evtctl lint` and `evtctl explain` behind the thin typer layer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from evtctl.errors import UsageError
from evtctl.lint.diagnostics import Diagnostic, Severity, exit_code
from evtctl.manifest.problems import SLUGS, Problem


def problems_to_diagnostics(problems: Iterable[Problem]) -> list[Diagnostic]:
    """Validate's problems in the shared diagnostic shape (all at error severity)."""
    return [
        Diagnostic(p.code.value, Severity.ERROR, p.message, p.location, p.help, SLUGS.get(p.code))
        for p in problems
    ]


def split_names(values: Sequence[str] | None) -> list[str]:
    """``--select A,B --select C`` -> ``[A, B, C]``."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def lint_command(
    path: Path | None,
    *,
    environment: str | None = None,
    output: str = "text",
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    stream: IO[str] | None = None,
) -> int:
    """Validate, then lint; print in ``output`` format; return the exit code (0, 1 or 2)."""
    from evtctl.lint.engine import run_lint
    from evtctl.lint.output import FORMATS, emit
    from evtctl.lint.registry import RULES
    from evtctl.workspace import check_workspace

    if output not in FORMATS:
        raise UsageError(f"unknown output format {output!r}", help=f"choose one of: {', '.join(FORMATS)}")
    workspace, problems = check_workspace(path, environment=environment, allow_adhoc=True)
    rules = {r.code: r.info for r in RULES}
    if problems or workspace is None:
        # Lint rules assume a valid model; report what validate found instead (exit 2: bad input).
        emit(problems_to_diagnostics(problems), output, rules=rules, stream=stream)
        return 2
    result = run_lint(workspace, select=split_names(select), ignore=split_names(ignore))
    emit(result.diagnostics, output, rules=rules, stream=stream)
    return exit_code(result.diagnostics)


def explain_command(name: str | None, *, list_rules: bool = False, stream: IO[str] | None = None) -> int:
    import sys

    from evtctl.lint.docs import explain_text
    from evtctl.lint.registry import RULES, find

    out = stream or sys.stdout
    if list_rules or name is None:
        width = max(len(r.slug) for r in RULES)
        for r in RULES:
            out.write(f"{r.code}  {r.slug:<{width}}  {r.severity.value:<7}  {r.family:<9}  {r.summary}\n")
        return 0
    found = find(name)
    if found is None:
        import difflib

        keys = [k for r in RULES for k in (r.code, r.slug, *r.aliases)]
        close = difflib.get_close_matches(name, keys, n=1)
        raise UsageError(
            f"no lint rule {name!r}",
            help=(f"did you mean {close[0]}? " if close else "") + "`evtctl explain --list` lists every rule",
        )
    out.write(explain_text(found))
    return 0
