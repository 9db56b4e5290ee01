"""``evtctl contract``: consumer-driven contract tests for events.

    evtctl contract verify [PATH] [--consumer C] [--producer P] [--output text|json|junit] [--live]
    evtctl contract matrix [PATH] [--output text|json]
    evtctl contract import-pact PACT.json... --out DIR
    evtctl contract export-pact --consumer C [--provider P] --out DIR

Exit codes: 0 every contract holds, 1 a contract is broken, 2 usage or input error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from evtctl.manifest.model import Workspace

OUTPUTS = ("text", "json", "junit")


def register(app: typer.Typer) -> None:
    contract_app = typer.Typer(
        name="contract",
        help="Consumer-driven contract tests for events.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )

    @contract_app.command("verify")
    def verify(
        path: Annotated[
            Path | None, typer.Argument(help="Workspace directory (default: found from cwd).")
        ] = None,
        consumer: Annotated[
            str | None, typer.Option("--consumer", help="Only this consumer's contracts.")
        ] = None,
        producer: Annotated[str | None, typer.Option("--producer", help="Only this producer.")] = None,
        output: Annotated[str, typer.Option("--output", "-o", help="text, json or junit.")] = "text",
        out: Annotated[Path | None, typer.Option("--out", help="Write the report to this file.")] = None,
        live: Annotated[
            bool, typer.Option("--live", help="Also send the examples through the broker and registry.")
        ] = False,
        context: Annotated[
            str | None, typer.Option("--context", help="Workspace context for --live.")
        ] = None,
        environment: Annotated[str | None, typer.Option("--env", "-e", help="Environment overlay.")] = None,
    ) -> None:
        """Check every producer against every consumer contract of its topics."""
        from evtctl.contracts.report import render_json, render_junit, render_text
        from evtctl.contracts.workspace import contract_set, verify_workspace
        from evtctl.errors import UsageError
        from evtctl.workspace import load_workspace

        if output not in OUTPUTS:
            raise UsageError(f"unknown output format '{output}'", help="use one of " + ", ".join(OUTPUTS))
        workspace = load_workspace(path, environment=environment)
        contracts = contract_set(workspace)
        _check_names(workspace, consumer, producer)
        pairings = verify_workspace(workspace, contracts, consumer=consumer, producer=producer)
        if live:
            from evtctl.contracts.live import verify_live

            pairings = verify_live(workspace, contracts, pairings, context=context)
        if output == "json":
            text = render_json(pairings)
        elif output == "junit":
            text = render_junit(pairings)
        else:
            text = render_text(pairings, color=out is None and sys.stdout.isatty())
        if out is not None:
            out.write_text(text + "\n", encoding="utf-8")
        else:
            typer.echo(text)
        raise typer.Exit(0 if all(p.ok for p in pairings) else 1)

    @contract_app.command("matrix")
    def matrix(
        path: Annotated[Path | None, typer.Argument(help="Workspace directory.")] = None,
        output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
        max_versions: Annotated[int, typer.Option("--max-versions", help="Newest N schema versions.")] = 10,
        environment: Annotated[str | None, typer.Option("--env", "-e", help="Environment overlay.")] = None,
    ) -> None:
        """Which consumer contract versions each producer schema version satisfies (from git history)."""
        from evtctl.contracts.matrix import build_matrix, render_matrix_json, render_matrix_text
        from evtctl.errors import UsageError
        from evtctl.workspace import load_workspace

        if output not in ("text", "json"):
            raise UsageError(f"unknown output format '{output}'", help="use text or json")
        workspace = load_workspace(path, environment=environment)
        rows = build_matrix(workspace, max_versions=max_versions)
        typer.echo(render_matrix_json(rows) if output == "json" else render_matrix_text(rows))

    @contract_app.command("import-pact")
    def import_pact_cmd(
        pacts: Annotated[
            list[Path], typer.Argument(help="Pact V4 files with Asynchronous/Messages interactions.")
        ],
        out: Annotated[Path, typer.Option("--out", help="Directory for the Contract manifests.")],
    ) -> None:
        """Turn Pact V4 message pacts into evtctl Contract manifests."""
        from evtctl.contracts.manifests import write_contract_manifests
        from evtctl.contracts.pact import read_pact

        for pact_path in pacts:
            imported = read_pact(pact_path)
            for written in write_contract_manifests(imported.contracts, out):
                typer.echo(f"wrote {written}")

    @contract_app.command("export-pact")
    def export_pact_cmd(
        consumer: Annotated[str, typer.Option("--consumer", help="The consuming service.")],
        out: Annotated[Path, typer.Option("--out", help="Directory for the pact files.")],
        path: Annotated[Path | None, typer.Option("--workspace", help="Workspace directory.")] = None,
    ) -> None:
        """Write one Pact V4 file per producer this consumer has contracts with."""
        from evtctl.contracts.pact import export_pact, write_pact
        from evtctl.contracts.workspace import contract_set
        from evtctl.errors import UsageError
        from evtctl.workspace import load_workspace

        workspace = load_workspace(path)
        mine = [c for c in contract_set(workspace).contracts if c.consumer == consumer]
        if not mine:
            raise UsageError(f"consumer '{consumer}' has no contracts in this workspace")
        providers = sorted({s.metadata.name for c in mine for s in workspace.producers_of(c.topic)})
        for provider in providers:
            own = [
                c for c in mine if any(s.metadata.name == provider for s in workspace.producers_of(c.topic))
            ]
            typer.echo(f"wrote {write_pact(export_pact(own, provider), out)}")

    app.add_typer(contract_app, name="contract")


def _check_names(workspace: Workspace, consumer: str | None, producer: str | None) -> None:
    from evtctl.errors import UsageError

    if consumer is not None and workspace.service(consumer) is None:
        raise UsageError(f"no service named '{consumer}'", help="--consumer takes a Service name")
    if producer is not None and workspace.service(producer) is None:
        raise UsageError(f"no service named '{producer}'", help="--producer takes a Service name")
