"""The ``evtctl`` entry point.

Each command group lives in its own module under ``evtctl.cli`` and exposes
``register(app)``; this module only assembles them and owns the error edge.
"""

from __future__ import annotations

import gc
import importlib
import sys

# The cyclic GC's default gen-0 threshold (700 allocations) makes it scan young objects thousands of
# times while the CLI imports and builds a large workspace model; collecting 100x less often costs
# nothing in memory for these short runs (and long-running `broker start` still collects).
gc.set_threshold(70_000, 20, 100)

import typer  # noqa: E402

from evtctl import __version__  # noqa: E402
from evtctl.errors import EvtctlError  # noqa: E402

# One module per command group; each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "workspace_cmds",  # validate, lint, explain, graph, manifest-schema
    "schema",  # schema check / lock
    "broker",  # broker start / up / down / status / logs
    "plan",  # plan / apply / drift / import
    "codegen",  # codegen python
    "contract",  # contract verify / matrix / pact
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evtctl {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="evtctl",
        help="Declarative topology and schema governance for event buses.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """Declarative topology and schema governance for event buses."""

    for name in COMMAND_MODULES:
        module = importlib.import_module(f"evtctl.cli.{name}")
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    from evtctl import lifetime

    # Imports the CLI never uses, made to fail (both libraries tolerate that): httpcore imports trio
    # when it is installed, only for trio-based async clients (a quarter of a second here), and httpx
    # imports its own command-line client (rich, click, pygments: 0.15 s). Forked children inherit it.
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    lifetime.arm()
    app = build_app()
    try:
        app(args=argv, standalone_mode=True)
    except EvtctlError as err:  # raised outside a command's own handling
        typer.echo(err.render(), err=True)
        lifetime.end(err.exit_code)
    except SystemExit as done:  # standalone mode always ends here
        lifetime.end(done.code)

