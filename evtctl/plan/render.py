"""Plan renderers: human text (terraform-like, colour on a TTY), JSON (versioned) and Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from evtctl.plan.model import Action, Change, Plan, Risk

_SIGN = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
_ANSI = {
    "+": "\033[32m",
    "~": "\033[33m",
    "-": "\033[31m",
    "!": "\033[31;1m",
    Risk.SAFE: "\033[32m",
    Risk.NEEDS_APPROVAL: "\033[33m",
    Risk.DATA_LOSS: "\033[31m",
    Risk.IMPOSSIBLE: "\033[31;1m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"


def _fmt(value: Any) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value)
    return json.dumps(value, sort_keys=True)


def _created_lines(after: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, value in after.items():
        if key in ("name",) or value in (None, {}, [], ()):
            continue
        if isinstance(value, Mapping):
            label = "config" if key == "configs" else key
            lines.extend(f"{label}.{k}: {_fmt(v)}" for k, v in sorted(value.items()))
        elif key == "versions" and isinstance(value, list):
            for v in value:
                refs = ", ".join(r["subject"] for r in v.get("references", ()))
                lines.append(f"schema: {v.get('schema_type')}{' (references: ' + refs + ')' if refs else ''}")
        else:
            lines.append(f"{key}: {_fmt(value)}")
    return lines


def change_lines(change: Change) -> list[tuple[str, str]]:
    """(sign, text) rows for one change's body; unchanged attributes are not shown."""
    if change.action is Action.CREATE:
        if change.kind == "acl":
            return []  # the address already says everything about a binding
        return [("+", line) for line in _created_lines(change.after or {})]
    if change.action is Action.DELETE:
        return [("-", r) for r in change.reasons]
    rows = []
    for f in change.fields:
        sign = "+" if f.before is None else "-" if f.after is None else "~"
        text = f"{f.field}: {_fmt(f.before)} -> {_fmt(f.after)}"
        if f.risk is not Risk.SAFE:
            text += f"  [{f.risk}] {f.reason or ''}".rstrip()
        rows.append((sign, text))
    return rows


def render_text(plan: Plan, *, color: bool = False) -> str:
    def paint(key: object, text: str) -> str:
        return f"{_ANSI[key]}{text}{_RESET}" if color and key in _ANSI else text

    out: list[str] = []
    for w in plan.warnings:
        out.append(paint("~", f"warning: {w}"))
    if plan.changes:
        out.append("evtctl will perform these actions:")
        out.append("")
    for c in plan.changes:
        sign = _SIGN[c.action]
        out.append(f"  {paint(sign, sign)} {c.address}  {paint(c.risk, '[' + str(c.risk) + ']')}")
        for row_sign, text in change_lines(c):
            out.append(f"      {paint(row_sign, row_sign)} {text}")
    if plan.errors:
        out.append("")
        out.append(paint("!", "The plan cannot be applied:"))
        for e in plan.errors:
            where = f"{e.location}: " if e.location and str(e.location) else ""
            badge = paint(e.risk, f"[{e.risk}]")
            out.append(f"  {paint('!', '!')} {where}{e.address}: {e.message}  {badge}")
            out.extend(f"      - {d}" for d in e.details)
            if e.recipe:
                out.append(f"      recipe: {e.recipe}")
    if plan.withheld:
        out.append("")
        out.append(paint("dim", f"Not deleted ({len(plan.withheld)}):"))
        shown = plan.withheld[:20]
        out.extend(paint("dim", f"  = {w.address}: {w.reason}") for w in shown)
        if len(plan.withheld) > len(shown):
            out.append(paint("dim", f"  ... and {len(plan.withheld) - len(shown)} more"))
    s = plan.summary()
    out.append("")
    if not plan.changes and not plan.errors:
        out.append("No changes. The cluster matches the manifests.")
    else:
        out.append(
            f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete"
            + (f", {s['errors']} error(s)." if s["errors"] else ".")
        )
    return "\n".join(out) + "\n"


def render_json(plan: Plan, *, extra: Mapping[str, Any] | None = None) -> str:
    data = plan.to_json()
    if extra:
        data.update(extra)
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan, *, title: str = "evtctl plan") -> str:
    s = plan.summary()
    r = plan.risk_counts()
    out = [f"### {title}", ""]
    if not plan.changes and not plan.errors:
        out.append("No changes. The cluster matches the manifests.")
    out += [
        "| create | update | delete | errors | safe | needs-approval | data-loss | impossible |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['create']} | {s['update']} | {s['delete']} | {s['errors']} | {r['safe']} "
        f"| {r['needs-approval']} | {r['data-loss']} | {r['impossible']} |",
        "",
    ]
    for w in plan.warnings:
        out.append(f"> **Warning:** {_md_escape(w)}")
    if plan.errors:
        out += ["", "**The plan cannot be applied:**", ""]
        for e in plan.errors:
            out.append(f"- `{e.address}`: {_md_escape(e.message)} (**{e.risk}**)")
            out.extend(f"  - {_md_escape(d)}" for d in e.details)
            if e.recipe:
                out.append(f"  - recipe: {_md_escape(e.recipe)}")
    risky = [c for c in plan.changes if c.risk is not Risk.SAFE]
    if risky:
        out += ["", "| | resource | risk | why |", "|---|---|---|---|"]
        for c in risky:
            out.append(
                f"| {_SIGN[c.action]} | `{c.address}` | **{c.risk}** | {_md_escape('; '.join(c.reasons))} |"
            )
    if plan.changes:
        out += ["", f"<details><summary>{len(plan.changes)} change(s)</summary>", "", "```diff"]
        for c in plan.changes:
            out.append(f"{_SIGN[c.action]} {c.address}  [{c.risk}]")
            out.extend(f"{sign}     {text}" for sign, text in change_lines(c))
        out += ["```", "", "</details>"]
    if plan.withheld:
        out += ["", f"<details><summary>{len(plan.withheld)} resource(s) not deleted</summary>", ""]
        out.extend(f"- `{w.address}`: {w.reason}" for w in plan.withheld)
        out += ["", "</details>"]
    return "\n".join(out) + "\n"
