"""Report formats for diagnostics: text, json, sarif (2.1.0) and github (workflow annotations).

Every format is a pure function ``(diagnostics, OutputContext) -> str`` registered in
:data:`FORMATTERS`, so validate, lint and schema check share them and golden tests can compare
strings. Only :func:`emit` looks at the terminal (colour on a TTY, never in pipes or files).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from evtctl import __version__
from evtctl.lint.diagnostics import Diagnostic, RuleInfo, Severity, count_by_severity, sort_diagnostics

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/evtctl/evtctl"


@dataclass(frozen=True, slots=True)
class OutputContext:
    """What a formatter may know beyond the findings themselves."""

    rules: Mapping[str, RuleInfo] = field(default_factory=dict)  # by code; SARIF rule metadata
    base: Path | None = None  # paths under it are shown relative (SARIF needs repo-relative URIs)
    color: bool = False
    tool_name: str = "evtctl"
    tool_version: str = __version__


class Formatter(Protocol):
    def __call__(self, diagnostics: Sequence[Diagnostic], ctx: OutputContext, /) -> str: ...


def display_path(file: str, base: Path | None) -> str:
    """``file`` relative to ``base`` (POSIX separators) when it lies under it, else unchanged."""
    path = Path(file)
    if base is not None and path.is_absolute():
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _where(diag: Diagnostic, ctx: OutputContext) -> str | None:
    return display_path(diag.location.file, ctx.base) if diag.location.file else None


# --- text -------------------------------------------------------------------------------------------

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def format_text(diagnostics: Sequence[Diagnostic], ctx: OutputContext) -> str:
    """Grouped by file (eslint "stylish" layout) with a one-line summary."""
    paint = _painter(ctx.color)
    out: list[str] = []
    groups: dict[str, list[Diagnostic]] = {}
    for diag in sort_diagnostics(diagnostics):
        groups.setdefault(_where(diag, ctx) or "(no file)", []).append(diag)
    for where, diags in groups.items():
        out.append(paint(where, "bold underline"))
        for diag in diags:
            loc = diag.location
            pos = f"{loc.line}:{loc.col or 1}" if loc.line else "-"
            line = (
                f"  {pos:<8}{paint(f'{diag.severity.value:<8}', _STYLE[diag.severity])}"
                f"{paint(f'{diag.code:<8}', 'bold')}{diag.message}"
            )
            if diag.rule_slug:
                line += paint(f"  [{diag.rule_slug}]", "dim")
            if loc.context:
                line += paint(f"  ({loc.context})", "dim")
            out.append(line)
            if diag.help:
                out.append(paint(" " * 26 + "help: " + diag.help, "dim"))
        out.append("")
    out.append(_summary(diagnostics, paint))
    return "\n".join(out) + "\n"


def _painter(color: bool) -> Callable[[str, str], str]:
    """``paint(text, style)``: ANSI styling through rich when colour is on, identity otherwise.

    Styles are rendered per segment rather than through rich's Console so that 40,000 findings
    format in well under a second.
    """
    if not color:
        return lambda text, style: text
    from rich.color import ColorSystem
    from rich.style import Style

    styles: dict[str, Style] = {}

    def paint(text: str, style: str) -> str:
        found = styles.get(style)
        if found is None:
            found = styles[style] = Style.parse(style)
        return found.render(text, color_system=ColorSystem.STANDARD)

    return paint


def _summary(diagnostics: Sequence[Diagnostic], paint: Callable[[str, str], str]) -> str:
    if not diagnostics:
        return paint("No problems found.", "green")
    counts = count_by_severity(diagnostics)
    files = len({d.location.file for d in diagnostics})

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return paint(
        f"{plural(counts[Severity.ERROR], 'error')}, {plural(counts[Severity.WARNING], 'warning')}, "
        f"{plural(counts[Severity.INFO], 'info')} in {plural(files, 'file')}.",
        "bold",
    )


# --- json -------------------------------------------------------------------------------------------


def diagnostic_to_dict(diag: Diagnostic, ctx: OutputContext) -> dict[str, Any]:
    loc = diag.location
    return {
        "code": diag.code,
        "rule": diag.rule_slug,
        "severity": diag.severity.value,
        "message": diag.message,
        "file": _where(diag, ctx),
        "line": loc.line,
        "col": loc.col,
        "context": loc.context,
        "help": diag.help,
    }


def format_json(diagnostics: Sequence[Diagnostic], ctx: OutputContext) -> str:
    counts = count_by_severity(diagnostics)
    doc = {
        "version": 1,
        "tool": {"name": ctx.tool_name, "version": ctx.tool_version},
        "diagnostics": _PLACEHOLDER,
        "summary": {sev.value: counts[sev] for sev in Severity},
    }
    items = [diagnostic_to_dict(d, ctx) for d in sort_diagnostics(diagnostics)]
    return _splice(json.dumps(doc, indent=2), items, depth=1) + "\n"


_PLACEHOLDER = "\x00items\x00"


def _splice(text: str, items: Sequence[dict[str, Any]], depth: int) -> str:
    """Put ``items`` where the placeholder is, one compact JSON object per line.

    Readable and diffable, and fast: the indenting encoder is pure Python, the compact one is C,
    which matters at 40,000 findings.
    """
    pad = "  " * (depth + 1)
    body = (
        "[]"
        if not items
        else "[\n" + ",\n".join(pad + json.dumps(i) for i in items) + "\n" + "  " * depth + "]"
    )
    return text.replace(json.dumps(_PLACEHOLDER), body, 1)


# --- sarif ------------------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# GitHub code scanning sorts alerts by this 0-10 score.
_SECURITY_SEVERITY = {Severity.ERROR: "7.0", Severity.WARNING: "4.0", Severity.INFO: "1.0"}


def _sarif_rule(info: RuleInfo) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": info.code,
        "name": _pascal(info.slug),
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": info.rationale or info.summary},
        "help": {"text": info.rationale or info.summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[info.severity]},
        "properties": {"tags": list(info.tags), "slug": info.slug},
    }
    if info.help_uri:
        rule["helpUri"] = info.help_uri
    return rule


def _pascal(slug: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in slug.replace("_", "-").split("-"))


def format_sarif(diagnostics: Sequence[Diagnostic], ctx: OutputContext) -> str:
    """SARIF 2.1.0 as GitHub code scanning accepts it (repo-relative URIs, rule metadata, fingerprints)."""
    ordered = sort_diagnostics(diagnostics)
    infos: dict[str, RuleInfo] = {}
    for diag in ordered:
        if diag.code not in infos:
            # Codes without registry metadata (validate, schema check) still get a rule entry.
            infos[diag.code] = ctx.rules.get(diag.code) or RuleInfo(
                code=diag.code,
                slug=diag.rule_slug or diag.code.lower(),
                summary=(diag.rule_slug or diag.code).replace("-", " "),
                severity=diag.severity,
            )
    codes = sorted(infos)
    index = {code: i for i, code in enumerate(codes)}
    results: list[dict[str, Any]] = []
    for diag in ordered:
        result: dict[str, Any] = {
            "ruleId": diag.code,
            "ruleIndex": index[diag.code],
            "level": _SARIF_LEVEL[diag.severity],
            "message": {"text": diag.message + (f"\nhelp: {diag.help}" if diag.help else "")},
            "locations": [],
        }
        where = _where(diag, ctx)
        if where is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": where, "uriBaseId": "%SRCROOT%"}}
            if diag.location.line:
                region: dict[str, Any] = {"startLine": diag.location.line}
                if diag.location.col:
                    region["startColumn"] = diag.location.col
                physical["region"] = region
            result["locations"].append({"physicalLocation": physical})
        if diag.location.context:
            result["locations"].append({"logicalLocations": [{"fullyQualifiedName": diag.location.context}]})
        # Stable across line moves so GitHub keeps an alert's identity when unrelated lines change.
        result["partialFingerprints"] = {"evtctlFinding/v1": f"{diag.code}:{where or ''}:{diag.message}"}
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": ctx.tool_name,
                        "version": ctx.tool_version,
                        "semanticVersion": ctx.tool_version,
                        "informationUri": TOOL_URI,
                        "rules": [_sarif_rule(infos[c]) for c in codes],
                    }
                },
                "columnKind": "unicodeCodePoints",
                **_base_ids(ctx.base),
                "results": _PLACEHOLDER,
            }
        ],
    }
    return _splice(json.dumps(doc, indent=2), results, depth=3) + "\n"


def _base_ids(base: Path | None) -> dict[str, Any]:
    if base is None or not base.is_absolute():
        return {}
    return {"originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri().rstrip("/") + "/"}}}


# --- github -----------------------------------------------------------------------------------------

_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diagnostics: Sequence[Diagnostic], ctx: OutputContext) -> str:
    """GitHub Actions workflow commands: ``::error file=f,line=l,col=c,title=T::message``."""
    out: list[str] = []
    for diag in sort_diagnostics(diagnostics):
        props: list[str] = []
        where = _where(diag, ctx)
        if where is not None:
            props.append(f"file={_escape_property(where)}")
            if diag.location.line:
                props.append(f"line={diag.location.line}")
                if diag.location.col:
                    props.append(f"col={diag.location.col}")
        title = diag.code + (f" {diag.rule_slug}" if diag.rule_slug else "")
        props.append(f"title={_escape_property(title)}")
        message = diag.message + (f"\nhelp: {diag.help}" if diag.help else "")
        out.append(f"::{_GITHUB_COMMAND[diag.severity]} {','.join(props)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in out)


FORMATTERS: dict[str, Formatter] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}


def render(diagnostics: Sequence[Diagnostic], fmt: str, ctx: OutputContext | None = None) -> str:
    try:
        formatter: Callable[[Sequence[Diagnostic], OutputContext], str] = FORMATTERS[fmt]
    except KeyError:
        from evtctl.errors import UsageError

        raise UsageError(
            f"unknown output format {fmt!r}", help=f"choose one of: {', '.join(FORMATS)}"
        ) from None
    return formatter(diagnostics, ctx or OutputContext())


def use_color(stream: IO[str]) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def emit(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    rules: Mapping[str, RuleInfo] | None = None,
    base: Path | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Render and write to ``stream`` (stdout by default), colouring text only on a TTY."""
    target = stream if stream is not None else sys.stdout
    color = fmt == "text" and use_color(target)
    ctx = OutputContext(rules=rules or {}, base=base if base is not None else Path.cwd(), color=color)
    target.write(render(diagnostics, fmt, ctx))
    target.flush()
