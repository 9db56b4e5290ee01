"""Findings as values: the one shape every checker (validate, lint, schema check) reports in.

A :class:`Diagnostic` is what a check found; :class:`RuleInfo` is what a report needs to know about
the check itself (SARIF rule metadata, ``explain``). Both are plain frozen data so outputs stay
pure functions of them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from evtctl.errors import Location


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; used for sorting and ``--fail-on`` style thresholds."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept the user's spelling (``error``, ``Warning``, ``warn``, ``note``)."""
        key = text.strip().lower()
        key = {"warn": "warning", "note": "info", "notice": "info"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown severity {text!r}; expected error, warning or info") from None


_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code, how bad it is, one sentence, where, and how to fix it."""

    code: str
    severity: Severity
    message: str
    location: Location
    help: str | None = None
    rule_slug: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file or "", loc.line or 0, loc.col or 0, self.code, self.message)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Metadata about a check, as reports (SARIF ``tool.driver.rules``) and ``explain`` show it."""

    code: str
    slug: str
    summary: str  # one line
    severity: Severity  # the default
    rationale: str = ""
    help_uri: str | None = None
    tags: tuple[str, ...] = field(default=())


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Deterministic order: by file, position, then code; outputs and golden files rely on it."""
    return sorted(diagnostics, key=Diagnostic.sort_key)


def count_by_severity(diagnostics: Iterable[Diagnostic]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for diag in diagnostics:
        counts[diag.severity] += 1
    return counts


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """0 when nothing reaches error severity, 1 otherwise (2 is reserved for input errors)."""
    return 1 if any(d.severity is Severity.ERROR for d in diagnostics) else 0
