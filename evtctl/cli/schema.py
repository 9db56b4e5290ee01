"""``evtctl schema check`` and ``evtctl schema lock``: schema compatibility from the command line.

Pair/history mode (stable interface, CI scripts rely on it)::

    evtctl schema check --type avro --level BACKWARD v1.avsc v2.avsc v3.avsc

checks the last file against the earlier ones (oldest first). Without files, every subject bound
in the workspace is checked against its history from a git ref, a registry or a lock file.
Exit codes: 0 compatible, 1 incompatible, 2 usage or input error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    schema_app = typer.Typer(
        name="schema",
        help="Schema compatibility checks (Avro, Protobuf, JSON Schema).",
        no_args_is_help=True,
        rich_markup_mode=None,
    )

    @schema_app.command("check")
    def check(
        files: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Versions oldest first; the last one is the candidate. Omit for workspace mode."
            ),
        ] = None,
        schema_type: Annotated[
            str | None,
            typer.Option("--type", "-t", help="avro, protobuf or json (default: from the file extension)."),
        ] = None,
        level: Annotated[
            str | None,
            typer.Option(
                "--level",
                "-l",
                help="NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
                "FULL_TRANSITIVE (default BACKWARD in pair mode; the subject's level in workspace mode).",
            ),
        ] = None,
        output: Annotated[str, typer.Option("--output", "-o", help="text, json, sarif or github.")] = "text",
        references: Annotated[
            list[Path] | None,
            typer.Option(
                "--reference",
                "-r",
                help="Avro: a schema file defining referenced named types. "
                "Protobuf: an import root. Repeatable.",
            ),
        ] = None,
        against: Annotated[
            str | None, typer.Option("--against", help="Workspace mode: history from this git ref.")
        ] = None,
        registry: Annotated[
            str | None,
            typer.Option("--registry", help="Workspace mode: history from this schema registry URL."),
        ] = None,
        lock: Annotated[
            Path | None, typer.Option("--lock", help="Workspace mode: history from this lock file.")
        ] = None,
        environment: Annotated[
            str | None, typer.Option("--env", "-e", help="Workspace environment overlay.")
        ] = None,
    ) -> None:
        """Check schema compatibility; exit 0 compatible, 1 incompatible, 2 usage or input error."""
        from evtctl.compat.report import OUTPUTS, render
        from evtctl.errors import UsageError

        if output not in OUTPUTS:
            raise UsageError(f"unknown output format '{output}'", help="use one of " + ", ".join(OUTPUTS))
        if files:
            if against or registry or lock:
                raise UsageError("--against, --registry and --lock apply to workspace mode (no files)")
            from evtctl.compat.cli_support import check_files

            results = [check_files(files, schema_type, level or "BACKWARD", references or [])]
            base = Path.cwd()
        else:
            from evtctl.compat.workspace_check import check_workspace

            results, base = check_workspace(
                against=against,
                registry=registry,
                lock=lock,
                level=level,
                environment=environment,
                schema_type=schema_type,
            )
        typer.echo(render(results, output, base=base), nl=False)
        if not all(r.report.compatible for r in results):
            raise typer.Exit(1)

    @schema_app.command("lock")
    def lock_cmd(
        output_file: Annotated[
            Path | None,
            typer.Option(
                "--output", "-o", help="Lock file to write (default: evtctl.lock.json at the workspace root)."
            ),
        ] = None,
        registry: Annotated[
            str | None,
            typer.Option(
                "--registry", help="Record the versions registered there instead of the local files."
            ),
        ] = None,
        environment: Annotated[
            str | None, typer.Option("--env", "-e", help="Workspace environment overlay.")
        ] = None,
    ) -> None:
        """Record every subject's schema versions for offline `evtctl schema check --lock`."""
        from evtctl.compat.workspace_check import write_lock

        path, count = write_lock(output_file, registry=registry, environment=environment)
        typer.echo(f"wrote {path} ({count} subject{'s' if count != 1 else ''})")

    app.add_typer(schema_app, name="schema")
