"""The background broker: ``evtctl broker up|down|status|logs`` and ``ensure_local_broker``.

State lives under ``<workspace>/.evtctl/`` (workspace = nearest directory upward with ``evtctl.yaml``,
else the current directory): ``broker.pid``, ``broker.json`` (endpoints), ``broker.log`` and
``broker-data/``.
"""

from __future__ import annotations

from pathlib import Path


def workspace_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "evtctl.yaml").is_file():
            return d
    return here


def state_dir(start: Path | None = None) -> Path:
    return workspace_root(start) / ".evtctl"
