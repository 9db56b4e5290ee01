"""User-facing errors.

Errors are values until the CLI edge: library code raises (or returns) these, and only
``evtctl.cli.main`` turns them into ``file:line:col: error: message`` plus a ``help:`` line and
exit code 2. An exception that is not an :class:`EvtctlError` is a bug in evtctl and keeps its
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from evtctl.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Location:
    """Where something is: a file position, or a non-file context such as an endpoint."""

    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    context: str | None = None  # e.g. "POST /subjects/orders-value/versions" or "Produce v9"

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file)
            if self.line is not None:
                parts.append(str(self.line))
                if self.col is not None:
                    parts.append(str(self.col))
        where = ":".join(parts)
        if self.context:
            where = f"{where} ({self.context})" if where else self.context
        return where


class EvtctlError(Exception):
    """An error caused by input or usage, reported without a traceback (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, *, location: Location | None = None, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.help = help

    def render(self) -> str:
        prefix = f"{self.location}: " if self.location is not None and str(self.location) else ""
        text = f"{prefix}error: {self.message}"
        if self.help:
            text += f"\nhelp: {self.help}"
        return text


class UsageError(EvtctlError):
    """Wrong flags or arguments."""


class InputError(EvtctlError):
    """A file, schema or request that cannot be used as given."""


class BackendError(EvtctlError):
    """A cluster or registry refused or could not be reached; exit code 1 (not the user's input)."""

    exit_code = 1
