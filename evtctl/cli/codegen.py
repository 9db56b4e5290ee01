"""`evtctl` command group module: codegen."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root app (filled in by the owning feature)."""
