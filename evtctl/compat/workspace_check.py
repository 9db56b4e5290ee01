"""Workspace mode of ``evtctl schema check`` (in progress)."""

from __future__ import annotations

from pathlib import Path

from evtctl.compat.report import CheckResult
from evtctl.errors import UsageError


def check_workspace(
    *,
    against: str | None,
    registry: str | None,
    lock: Path | None,
    level: str | None,
    environment: str | None,
    schema_type: str | None,
) -> tuple[list[CheckResult], Path]:
    raise UsageError("workspace mode is not available yet", help="pass the schema files to compare")


def write_lock(output: Path, *, registry: str | None, environment: str | None) -> int:
    raise UsageError("schema lock is not available yet")
