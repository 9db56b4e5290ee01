"""`evtctl graph` behind the thin typer layer."""

from __future__ import annotations

import sys
from pathlib import Path

from evtctl.errors import InputError


def graph_command(
    path: Path | None, *, fmt: str = "mermaid", out: Path | None = None, environment: str | None = None
) -> int:
    from evtctl.graph import render
    from evtctl.workspace import load_workspace

    workspace = load_workspace(path, environment=environment)  # an invalid workspace raises: exit 2
    text = render(workspace, fmt)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write {out}: {err.strerror}", help="choose a writable --out path") from None
    return 0
