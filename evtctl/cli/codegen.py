"""``evtctl codegen python``: a typed producer/consumer package generated from the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    codegen_app = typer.Typer(
        name="codegen",
        help="Generate typed clients from the manifests and contracts.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )

    @codegen_app.command("python")
    def python(
        out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the package into.")],
        service: Annotated[
            str | None, typer.Option("--service", help="Only what this service produces and consumes.")
        ] = None,
        templates: Annotated[
            Path | None,
            typer.Option("--templates", help="Directory of templates overriding the built-in ones."),
        ] = None,
        package: Annotated[
            str | None,
            typer.Option("--package", help="Package name (default: <workspace or service>_events)."),
        ] = None,
        workspace: Annotated[
            Path | None,
            typer.Option("--workspace", "-w", help="Workspace directory (default: search from cwd)."),
        ] = None,
        environment: Annotated[
            str | None, typer.Option("--env", "-e", help="Environment overlay to apply first.")
        ] = None,
    ) -> None:
        """Write an importable, typed Python package (models, per-topic producers and consumers)."""
        from evtctl.codegen import generate_python
        from evtctl.errors import EvtctlError
        from evtctl.workspace.loader import load_workspace

        try:
            ws = load_workspace(workspace, environment=environment)
            pkg = generate_python(ws, out, service=service, templates=templates, package=package)
        except EvtctlError as err:
            typer.echo(err.render(), err=True)
            raise typer.Exit(err.exit_code) from None
        files = sorted(p for p in pkg.rglob("*") if p.is_file())
        typer.echo(f"wrote {pkg} ({len(files)} files)")

    app.add_typer(codegen_app)
