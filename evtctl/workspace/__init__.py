"""The workspace: ``evtctl.yaml`` plus every manifest under it, loaded into the typed model.

Public API::

    load_workspace(start=None, *, environment=None) -> Workspace   # raises WorkspaceInvalid
    check_workspace(start=None, *, environment=None, files=None, allow_adhoc=False)
        -> (Workspace | None, list[Problem])                     # for `evtctl validate`
    find_root(start=None) -> Path | None
"""

from __future__ import annotations

from evtctl.manifest.model import Workspace
from evtctl.manifest.problems import Code, Problem
from evtctl.workspace.config import CONFIG_NAME, find_root
from evtctl.workspace.loader import WorkspaceInvalid, check_workspace, discover, load_workspace

__all__ = [
    "CONFIG_NAME",
    "Code",
    "Problem",
    "Workspace",
    "WorkspaceInvalid",
    "check_workspace",
    "discover",
    "find_root",
    "load_workspace",
]
