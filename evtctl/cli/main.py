"""The ``evtctl`` entry point.

Each command group lives in its own module under ``evtctl.cli`` and exposes
``register(app)``; this module only assembles them and owns the error edge.
"""

from __future__ import annotations

import gc
import importlib
import sys

# CLI commands are short runs over large acyclic models (a 10,000-topic plan frees 135 cyclic objects
# in all), and the cyclic GC's passes over them are pure cost: 0.2 s of a one-topic plan even at a
# 100x higher gen-0 threshold. So the CLI runs without it; the broker, which serves for days, turns it
# back on (evtctl.broker.launch.run) with this higher threshold.
gc.set_threshold(70_000, 20, 100)
gc.disable()

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

