"""`evtctl validate`, `manifest-schema` (foundation) and `lint`, `explain`, `graph` (lint area).

Each command lives in its own function; heavy imports stay inside them so start-up stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evtctl.errors import UsageError

if TYPE_CHECKING:
    from evtctl.manifest.problems import Problem


def _validate_target(path: Path | None) -> tuple[Path | None, list[Path] | None, bool, Path | None]:
    """(start, files, allow_adhoc, scope) for `validate [PATH]`.

    A file or directory inside a workspace is checked in the context of the whole workspace (so
    references to other files resolve), and only problems in manifests under it are reported.
    """
    from evtctl.workspace import CONFIG_NAME, find_root

    if path is None:
        return None, None, False, None
    if not path.exists():
        raise UsageError(f"{path} does not exist", help="give a workspace directory or a manifest file")
    if path.is_file() and path.name == CONFIG_NAME:
        return path.parent, None, False, None
    if path.is_dir() and (path / CONFIG_NAME).is_file():
        return path, None, False, None
    if find_root(path) is None:  # not in a workspace: check just this
        return path, [path.resolve()] if path.is_file() else None, True, None
    return path, None, False, path.resolve()


def _in_scope(problem: Problem, scope: Path, manifests: set[Path]) -> bool:
    """Problems in manifests outside ``scope`` are dropped; those in other files (schema files,
    evtctl.yaml) are kept, since a manifest under ``scope`` may have caused them."""
    if problem.location.file is None:
        return True
    where = Path(problem.location.file).resolve()
    return where == scope or scope in where.parents or where not in manifests


def validate_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Workspace directory or manifest file (default: the workspace around the cwd)."),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option("--environment", "-e", help="Apply this environment's overlays and variables."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text, json, sarif or github.")] = "text",
) -> None:
    """Check manifests offline: syntax, schema, references, schema files. Exit 0 clean, 2 on errors."""
    from evtctl.workspace import check_workspace

    if output not in ("text", "json", "sarif", "github"):
        raise UsageError(f"unknown output format {output!r}", help="choose one of: text, json, sarif, github")
    start, files, adhoc, scope = _validate_target(path)
    workspace, problems = check_workspace(start, environment=environment, files=files, allow_adhoc=adhoc)
    if scope is not None and workspace is not None:
        manifests = {f.resolve() for f in workspace.files}
        problems = [p for p in problems if _in_scope(p, scope, manifests)]
    if output == "text":
        for problem in problems:
            typer.echo(problem.render())
        if problems:
            nfiles = len({p.location.file for p in problems})
            count = len(problems)
            typer.echo(
                f"{count} error{'s' if count != 1 else ''} in {nfiles} file{'s' if nfiles != 1 else ''}"
            )
        elif workspace is not None:
            typer.echo(
                f"ok: {len(workspace.files)} files, {len(workspace.topics)} topics, "
                f"{len(workspace.subjects)} subjects, {len(workspace.services)} services, "
                f"{len(workspace.acls)} ACLs"
            )
    else:
        from evtctl.lint.command import problems_to_diagnostics
        from evtctl.lint.output import emit

        emit(problems_to_diagnostics(problems), output, base=Path.cwd())
    if problems:
        sys.exit(2)


def manifest_schema_command(
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", "-k", help="One kind (Topic, Subject, Service, ..., Workspace); default: all."
        ),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the manifest format, for editors and CI."""
    import difflib
    import json

    from evtctl.manifest.schemas import ALL_KINDS, combined_schema, kind_schema

    if kind is None:
        schema = combined_schema()
    else:
        match = next((k for k in ALL_KINDS if k.lower() == kind.lower()), None)
        if match is None:
            close = difflib.get_close_matches(kind, list(ALL_KINDS), n=1)
            raise UsageError(
                f"unknown kind {kind!r}",
                help=f"did you mean {close[0]!r}?" if close else f"known kinds: {', '.join(ALL_KINDS)}",
            )
        schema = kind_schema(match)
    typer.echo(json.dumps(schema, indent=2, sort_keys=False))


def _register_foundation(app: typer.Typer) -> None:
    app.command("validate")(validate_command)
    app.command("manifest-schema")(manifest_schema_command)


# --- lint area: lint, explain, graph ----------------------------------------------------------------


def lint_cmd(
    path: Annotated[
        Path | None, typer.Argument(metavar="PATH", help="Workspace directory or file (default: cwd's).")
    ] = None,
    environment: Annotated[
        str | None, typer.Option("--environment", "-e", metavar="ENV", help="Environment overlay to apply.")
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FORMAT", help="text, json, sarif or github.")
    ] = "text",
    select: Annotated[
        list[str] | None,
        typer.Option("--select", metavar="RULES", help="Only these rules: codes, slugs or families."),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", metavar="RULES", help="Skip these rules.")
    ] = None,
) -> None:
    """Validate, then lint the workspace. Exit 0 clean, 1 on error findings, 2 on invalid input."""
    from evtctl.lint.command import lint_command

    raise typer.Exit(lint_command(path, environment=environment, output=output, select=select, ignore=ignore))


def explain_cmd(
    rule: Annotated[str | None, typer.Argument(metavar="RULE", help="Rule code (EVT101) or slug.")] = None,
    list_rules: Annotated[bool, typer.Option("--list", help="List every rule.")] = False,
) -> None:
    """Print a lint rule's rationale and examples."""
    from evtctl.lint.command import explain_command

    raise typer.Exit(explain_command(rule, list_rules=list_rules))


def graph_cmd(
    path: Annotated[
        Path | None, typer.Argument(metavar="PATH", help="Workspace directory (default: the cwd's).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="mermaid, plantuml or dot.")
    ] = "mermaid",
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write to this file instead of stdout.")
    ] = None,
    environment: Annotated[
        str | None, typer.Option("--environment", "-e", metavar="ENV", help="Environment overlay to apply.")
    ] = None,
) -> None:
    """Draw the event flow: services, topics, consumer groups, dead-letter and retry paths."""
    from evtctl.graph.command import graph_command

    raise typer.Exit(graph_command(path, fmt=fmt, out=out, environment=environment))


def _register_lint_area(app: typer.Typer) -> None:
    app.command("lint")(lint_cmd)
    app.command("explain")(explain_cmd)
    app.command("graph")(graph_cmd)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root app."""
    _register_foundation(app)
    _register_lint_area(app)
