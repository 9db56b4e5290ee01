"""What a lint rule is: frozen metadata plus a pure check over the workspace model.

Rules never print, never read files on their own and never depend on each other; they read the
:class:`LintContext` (the typed workspace, the shared index and the lint configuration) and yield
:class:`Finding` values. The engine turns findings into diagnostics (code, effective severity,
suppression), so a rule is only "what is wrong and where".
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evtctl.errors import Location
from evtctl.lint.diagnostics import RuleInfo, Severity
from evtctl.manifest.yamlpos import locate

if TYPE_CHECKING:
    from evtctl.lint.config import LintConfig
    from evtctl.lint.index import WorkspaceIndex
    from evtctl.manifest.model import Resource, Workspace

CODE_RE = re.compile(r"^EVT\d{3}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

FAMILIES: dict[str, str] = {
    "naming": "Naming and metadata",
    "topic": "Topic configuration: partitions, replication, retention, compaction",
    "delivery": "Delivery guarantees, retries and dead letters",
    "flow": "Event flow and partitioning",
    "security": "Access control and tenant isolation",
    "contracts": "Event contracts",
    "meta": "Suppressions",
}


@dataclass(slots=True)  # not frozen: tens of thousands are made per run and frozen init is 4x slower
class Finding:
    """A rule's raw result; the engine adds code and severity."""

    message: str
    location: Location
    help: str | None = None
    # The resource the finding is about: a suppression at its head (or in its annotations) covers it.
    resource: Resource | None = field(default=None, compare=False, repr=False)


def finding(
    resource: Resource,
    message: str,
    *,
    at: tuple[str | int, ...] = (),
    location: Location | None = None,
    help: str | None = None,
) -> Finding:
    """A finding about ``resource``, pointing at the field ``at`` (or ``location``) when given."""
    if location is None:
        # ``locate`` directly rather than ``resource.at``: same answer, half the cost per call,
        # which shows at tens of thousands of findings.
        location = locate(resource.source.file, resource.source.node, at) if at else resource.location
    return Finding(message, location, help, resource)


@dataclass(frozen=True, slots=True)
class LintContext:
    workspace: Workspace
    index: WorkspaceIndex
    config: LintConfig
    # What several rules derive from the workspace (parsed schema files...), computed once a run.
    memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def option(self, rule: Rule, name: str) -> Any:
        """A per-rule option from ``lint.rules.<code>`` in evtctl.yaml, else the rule's default."""
        return self.config.option(rule, name)


CheckFn = Callable[[LintContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str  # EVT###, stable forever
    slug: str
    family: str
    severity: Severity  # default; evtctl.yaml may override
    summary: str  # one line: what the rule flags
    rationale: str  # why it matters
    bad: str  # manifest YAML that triggers it
    good: str  # the fixed version
    check: CheckFn = field(compare=False, repr=False)
    aliases: tuple[str, ...] = ()  # earlier slugs; kept forever so old config keeps working
    options: Mapping[str, Any] = field(default_factory=dict)  # option name -> default
    enabled_by_default: bool = True
    # Parses every bound schema file: among the costliest rules, run in a second process on
    # large workspaces (evtctl.lint.engine).
    reads_schema_files: bool = False

    def __post_init__(self) -> None:
        # Metadata mistakes are bugs in evtctl, caught by importing the registry in any test.
        assert CODE_RE.match(self.code), self.code
        assert SLUG_RE.match(self.slug), self.slug
        assert self.family in FAMILIES, self.family

    def run(self, ctx: LintContext) -> Iterator[Finding]:
        yield from self.check(ctx)

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(
            code=self.code,
            slug=self.slug,
            summary=self.summary,
            severity=self.severity,
            rationale=self.rationale,
            help_uri=f"https://github.com/evtctl/evtctl/blob/main/docs/rules/{self.code}.md",
            tags=(self.family,),
        )


def rule(
    code: str,
    slug: str,
    *,
    family: str,
    severity: Severity,
    summary: str,
    rationale: str,
    bad: str,
    good: str,
    aliases: tuple[str, ...] = (),
    options: Mapping[str, Any] | None = None,
    enabled_by_default: bool = True,
    reads_schema_files: bool = False,
) -> Callable[[CheckFn], Rule]:
    """Decorator turning a check function into a module-level :class:`Rule` object."""

    def wrap(check: CheckFn) -> Rule:
        return Rule(
            code=code,
            slug=slug,
            family=family,
            severity=severity,
            summary=summary,
            rationale=" ".join(textwrap.dedent(rationale).split()),
            bad=textwrap.dedent(bad).strip("\n") + "\n",
            good=textwrap.dedent(good).strip("\n") + "\n",
            check=check,
            aliases=aliases,
            options=dict(options or {}),
            enabled_by_default=enabled_by_default,
            reads_schema_files=reads_schema_files,
        )

    return wrap
