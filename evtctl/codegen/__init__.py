"""``evtctl codegen python``: typed client packages from the workspace model and its contracts."""

from __future__ import annotations

from pathlib import Path

from evtctl.codegen.naming import identifier, snake
from evtctl.errors import UsageError
from evtctl.manifest.model import Workspace


def default_package(ws: Workspace, service: str | None) -> str:
    return snake(f"{service or ws.config.name}_events")


def generate_python(
    ws: Workspace,
    out: Path,
    *,
    service: str | None = None,
    templates: Path | None = None,
    package: str | None = None,
) -> Path:
    """Render the package into ``out/<package>`` and return its directory."""
    from evtctl.codegen.context import build_context
    from evtctl.codegen.render import render, write_package

    name = package or default_package(ws, service)
    if any(identifier(part) != part for part in name.split(".")) or "." in name:
        raise UsageError(f"--package {name!r} is not a valid top-level Python package name")
    ctx = build_context(ws, package=name, service=service)
    files = render(ctx, templates=templates)
    return write_package(files, ctx, out)
