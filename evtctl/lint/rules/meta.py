"""Suppressions that are themselves wrong.

These two rules have no check of their own: the engine reports them from the suppression scan
after every other rule ran (only then is "matched no finding" known). They live in the registry
so they have codes, docs, severity overrides and can be disabled like any rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, rule


def _reported_by_engine(ctx: LintContext) -> Iterator[Finding]:
    return iter(())


unused_suppression = rule(
    "EVT901",
    "unused-suppression",
    family="meta",
    severity=Severity.WARNING,
    summary="Suppressions match a finding and name known rules.",
    rationale="""
        A suppression that no longer matches anything hides the next real finding at that place.
        Remove it once the underlying problem is fixed.
    """,
    bad="""
        kind: Topic   # evtctl: disable=EVT106 reason="legacy"   (but retention.ms is set)
        metadata: {name: shop.orders.created}
        spec: {partitions: 6, configs: {retention.ms: 7d}}
    """,
    good="""
        kind: Topic
        metadata: {name: shop.orders.created}
        spec: {partitions: 6, configs: {retention.ms: 7d}}
    """,
)(_reported_by_engine)

suppression_without_reason = rule(
    "EVT902",
    "suppression-without-reason",
    family="meta",
    severity=Severity.ERROR,
    summary="Every suppression states a reason.",
    rationale="""
        A suppression is a decision someone will have to revisit; the reason is what lets them.
        A suppression without reason="..." suppresses nothing.
    """,
    bad="""
        kind: Topic   # evtctl: disable=EVT307
        metadata: {name: shop.orders.audit}
    """,
    good="""
        kind: Topic   # evtctl: disable=EVT307 reason="read by the external auditor's connector"
        metadata: {name: shop.orders.audit}
    """,
)(_reported_by_engine)
