"""Helpers: generate a package from a workspace and import it under a unique name."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from evtctl.codegen import generate_python
from evtctl.workspace.loader import load_workspace

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOP = FIXTURES / "shop"
REFS = FIXTURES / "refs"  # Avro contracts referencing shared records registered as their own subjects


def generate(workspace: Path, out: Path, *, package: str, service: str | None = None) -> Path:
    return generate_python(load_workspace(workspace), out, package=package, service=service)


def generate_and_import(workspace: Path, out: Path, *, package: str) -> ModuleType:
    generate(workspace, out, package=package)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    importlib.invalidate_caches()
    return importlib.import_module(package)
