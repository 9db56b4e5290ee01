"""Inline suppressions, each with a mandatory reason.

Two spellings, same grammar::

    kind: Topic   # evtctl: disable=EVT106,topic-without-consumer reason="filled by the nightly export"

    metadata:
      annotations:
        lint.evtctl.io/disable: 'EVT106 reason="filled by the nightly export"'

A comment applies to findings on its own line, and a comment alone on a line applies to the line
below; a comment on a resource's first line, ``kind:`` line or ``metadata.name`` line (or alone
on the line above one of them) covers the whole resource. An annotation covers its resource.
A directive without a reason suppresses nothing and is reported (EVT902); a directive that
suppressed nothing is reported too (EVT901), so stale ones get removed.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evtctl.errors import Location
from evtctl.lint.rule import Finding, Rule
from evtctl.manifest.model import Workspace
from evtctl.workspace.config import display

ANNOTATION = "lint.evtctl.io/disable"
_BODY = (
    r"(?P<codes>[A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)"
    r"(?:\s+reason=(?:\"(?P<r1>[^\"]*)\"|'(?P<r2>[^']*)'))?"
)
_COMMENT_RE = re.compile(r"#\s*evtctl:\s*disable=" + _BODY)
_ANNOTATION_RE = re.compile(r"^\s*" + _BODY + r"\s*$")


@dataclass(slots=True)
class Directive:
    names: tuple[str, ...]  # as written
    codes: frozenset[str]  # resolved rule codes
    unknown: tuple[str, ...]
    reason: str | None
    location: Location
    own_line: bool = False  # the comment is alone on its line: it also covers the next line
    used: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Suppressions:
    by_line: dict[tuple[str, int], list[Directive]] = field(default_factory=dict)
    by_resource: dict[tuple[str, str], list[Directive]] = field(default_factory=dict)  # (kind, name)
    directives: list[Directive] = field(default_factory=list)
    files: set[str] = field(default_factory=set)  # files holding comment directives

    @classmethod
    def scan(cls, workspace: Workspace, rules: Sequence[Rule]) -> Suppressions:
        names = _names(rules)
        sup = cls()
        for path in workspace.files:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "evtctl:" not in text:
                continue
            for lineno, line in enumerate(text.splitlines(), start=1):
                if "evtctl:" not in line:
                    continue
                match = _COMMENT_RE.search(line)
                if match is None:
                    continue
                shown = display(Path(path))
                directive = _directive(match, names, Location(shown, lineno, match.start() + 1))
                directive.own_line = not line[: match.start()].strip()
                sup._add_line(shown, lineno, directive)
                if directive.own_line:
                    sup._add_line(shown, lineno + 1, directive)
                sup.directives.append(directive)
        for resource in workspace.resources():
            value = resource.metadata.annotations.get(ANNOTATION)
            if value is None:
                continue
            loc = resource.at("metadata", "annotations", ANNOTATION)
            match = _ANNOTATION_RE.match(value)
            anchor = (type(resource).__name__, resource.name)
            if match is None:
                directive = Directive((value,), frozenset(), (value,), None, loc)
            else:
                directive = _directive(match, names, loc)
            sup.by_resource.setdefault(anchor, []).append(directive)
            sup.directives.append(directive)
        return sup

    def _add_line(self, file: str, line: int, directive: Directive) -> None:
        self.files.add(_key(file))
        self.by_line.setdefault((_key(file), line), []).append(directive)

    def suppresses(self, rule: Rule, found: Finding) -> bool:
        """Whether a reasoned directive covers this finding; marks the directive used."""
        if not self.directives:
            return False  # the common case: nothing to match, no path work per finding
        candidates: list[Directive] = []
        loc = found.location
        here = (_key(loc.file), loc.line or 0)
        if here[0] in self.files:
            candidates += self.by_line.get(here, [])
        resource = found.resource
        if resource is not None:
            candidates += self.by_resource.get((type(resource).__name__, resource.name), [])
            file = _key(resource.location.file)
            if file in self.files:
                # The head of the resource's document: its first line, `kind:` and `name:` lines.
                heads = {
                    resource.location.line,
                    resource.at("kind").line,
                    resource.at("metadata", "name").line,
                }
                for line in sorted(h for h in heads if h and (file, h) != here):
                    candidates += self.by_line.get((file, line), [])
        hit = False
        for directive in candidates:
            if rule.code in directive.codes and directive.reason:
                directive.used.add(rule.code)
                hit = True
        return hit

    def problems(self, active: Iterable[str]) -> Iterable[tuple[str, str, Location, str]]:
        """``(code, message, location, help)`` for reasonless, unknown and unused directives."""
        active_codes = set(active)
        for d in self.directives:
            if d.unknown:
                yield (
                    "EVT901",
                    f"Suppression names unknown rule(s): {', '.join(d.unknown)}.",
                    d.location,
                    "use a rule code such as EVT106 or its slug; `evtctl explain --list` lists them",
                )
            if not d.reason:
                yield (
                    "EVT902",
                    f"Suppression of {', '.join(d.names)} has no reason.",
                    d.location,
                    'add reason="why this is acceptable here"; a suppression without one suppresses nothing',
                )
                continue
            unused = sorted(c for c in d.codes & active_codes if c not in d.used)
            if unused:
                yield (
                    "EVT901",
                    f"Suppression of {', '.join(unused)} matched no finding.",
                    d.location,
                    "remove the stale suppression",
                )


@functools.lru_cache(maxsize=4096)
def _key(file: str | None) -> str:
    """Locations show paths relative to the cwd; compare them as absolute paths."""
    return os.path.abspath(file) if file else ""


def _names(rules: Sequence[Rule]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in rules:
        for key in (r.code, r.slug, *r.aliases):
            out[key.lower()] = r.code
    return out


def _directive(match: re.Match[str], names: dict[str, str], location: Location) -> Directive:
    written = tuple(n.strip() for n in match.group("codes").split(",") if n.strip())
    codes = frozenset(names[n.lower()] for n in written if n.lower() in names)
    unknown = tuple(n for n in written if n.lower() not in names)
    reason = match.group("r1") if match.group("r1") is not None else match.group("r2")
    return Directive(written, codes, unknown, reason.strip() if reason and reason.strip() else None, location)
