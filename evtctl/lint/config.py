"""The ``lint:`` section of evtctl.yaml, interpreted.

The workspace loader hands over the raw mapping (``WorkspaceConfig.lint``) and its location; this
module owns its meaning::

    lint:
      disable: [EVT103, missing-description, security]   # codes, slugs, aliases or families
      enable: [EVT999]                                   # rules that are off by default
      severity: {EVT101: error, topic-without-consumer: info}
      naming:
        topic: '^[a-z][a-z0-9-]*(\\.[a-z0-9-]+)+$'       # default topic-name pattern
        tenants: {payments: '^payments\\.[a-z0-9.-]+$'}   # per-tenant patterns win
      rules:
        EVT104: {max_partitions: 500}                    # per-rule options
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evtctl.errors import InputError, Location, UsageError
from evtctl.lint.diagnostics import Severity

if TYPE_CHECKING:
    from evtctl.lint.rule import Rule

DEFAULT_TOPIC_PATTERN = r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$"
_KEYS = ("disable", "enable", "severity", "naming", "rules")


@dataclass(frozen=True, slots=True)
class LintConfig:
    disabled: frozenset[str] = frozenset()  # rule codes
    enabled: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    topic_pattern: re.Pattern[str] = re.compile(DEFAULT_TOPIC_PATTERN)
    tenant_patterns: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # code -> options

    def option(self, rule: Rule, name: str) -> Any:
        return self.options.get(rule.code, {}).get(name, rule.options[name])

    def naming_pattern(self, tenant: str | None) -> re.Pattern[str]:
        if tenant is not None and tenant in self.tenant_patterns:
            return self.tenant_patterns[tenant]
        return self.topic_pattern

    def is_active(self, rule: Rule) -> bool:
        if rule.code in self.disabled:
            return False
        return rule.enabled_by_default or rule.code in self.enabled

    def severity_of(self, rule: Rule) -> Severity:
        return self.severity.get(rule.code, rule.severity)


def lint_json_schema(rules: Sequence[Rule] | None = None) -> dict[str, Any]:
    """JSON Schema of the ``lint:`` section, for editor completion (the loader may embed it).

    ``load_config`` stays the authority (it also checks option types per rule); this schema
    only lets editors complete rule names, families and option names.
    """
    if rules is None:
        from evtctl.lint.registry import RULES

        rules = RULES
    names = sorted({k for r in rules for k in (r.code, r.slug, *r.aliases, r.family)} | {"ALL"})
    name_list = {"type": "array", "items": {"enum": names}}
    severity = {"enum": [s.value for s in Severity] + ["warn", "note"]}
    options = {
        r.code: {
            "type": "object",
            "properties": {o: {"description": f"default {d!r}"} for o, d in r.options.items()},
            "additionalProperties": False,
        }
        for r in rules
        if r.options
    }
    return {
        "type": "object",
        "description": "lint configuration (docs/lint.md)",
        "properties": {
            "disable": name_list,
            "enable": name_list,
            "severity": {
                "type": "object",
                "propertyNames": {"enum": names},
                "additionalProperties": severity,
            },
            "naming": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "description": "default topic-name regex"},
                    "tenants": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "additionalProperties": False,
            },
            "rules": {"type": "object", "properties": options, "additionalProperties": False},
        },
        "additionalProperties": False,
    }


def resolve(
    names: Iterable[str], rules: Sequence[Rule], *, location: Location | None = None, usage: bool = False
) -> set[str]:
    """Rule codes for user references: a code, a slug, an alias, a family, or ``ALL``."""
    by_name: dict[str, list[str]] = {}
    for r in rules:
        for key in (r.code, r.slug, *r.aliases, r.family):
            by_name.setdefault(key.lower(), []).append(r.code)
    out: set[str] = set()
    for raw in names:
        name = str(raw).strip()
        if not name:
            continue
        if name.upper() == "ALL":
            out.update(r.code for r in rules)
            continue
        codes = by_name.get(name.lower())
        if codes is None:
            close = difflib.get_close_matches(name.lower(), list(by_name), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            error = UsageError if usage else InputError
            raise error(
                f"unknown lint rule {name!r}",
                location=location,
                help=f"{hint}`evtctl explain --list` lists rule codes, slugs and families",
            )
        out.update(codes)
    return out


def load_config(
    raw: Mapping[str, Any] | None, rules: Sequence[Rule], location: Location | None = None
) -> LintConfig:
    """Interpret the raw ``lint:`` mapping; every mistake is an ``InputError`` at ``location``."""
    if raw is None:
        return LintConfig()
    if not isinstance(raw, Mapping):
        raise InputError("`lint` must be a mapping", location=location, help=f"keys: {', '.join(_KEYS)}")
    for key in raw:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            raise InputError(
                f"unknown key {key!r} in `lint`",
                location=location,
                help=f"did you mean {close[0]!r}?" if close else f"keys: {', '.join(_KEYS)}",
            )
    by_code = {r.code: r for r in rules}
    disabled = resolve(_str_list(raw.get("disable"), "lint.disable", location), rules, location=location)
    enabled = resolve(_str_list(raw.get("enable"), "lint.enable", location), rules, location=location)
    severity: dict[str, Severity] = {}
    for name, level in _mapping(raw.get("severity"), "lint.severity", location).items():
        try:
            sev = Severity.parse(str(level))
        except ValueError as err:
            raise InputError(f"lint.severity.{name}: {err}", location=location) from None
        for code in resolve([str(name)], rules, location=location):
            severity[code] = sev
    naming = _mapping(raw.get("naming"), "lint.naming", location)
    for key in naming:
        if key not in ("topic", "tenants"):
            raise InputError(
                f"unknown key {key!r} in `lint.naming`", location=location, help="keys: topic, tenants"
            )
    topic_pattern = _regex(naming.get("topic", DEFAULT_TOPIC_PATTERN), "lint.naming.topic", location)
    tenants = {
        str(t): _regex(p, f"lint.naming.tenants.{t}", location)
        for t, p in _mapping(naming.get("tenants"), "lint.naming.tenants", location).items()
    }
    options: dict[str, dict[str, Any]] = {}
    for name, opts in _mapping(raw.get("rules"), "lint.rules", location).items():
        for code in resolve([str(name)], rules, location=location):
            given = _mapping(opts, f"lint.rules.{name}", location)
            known = by_code[code].options
            for opt, value in given.items():
                if opt not in known:
                    raise InputError(
                        f"rule {code} has no option {opt!r}",
                        location=location,
                        help=f"options: {', '.join(known) or '(none)'}",
                    )
                default = known[opt]
                if default is not None and not isinstance(value, type(default)):
                    raise InputError(
                        f"lint.rules.{name}.{opt} must be {type(default).__name__}, got {value!r}",
                        location=location,
                    )
            options.setdefault(code, {}).update(given)
    return LintConfig(
        disabled=frozenset(disabled),
        enabled=frozenset(enabled),
        severity=severity,
        topic_pattern=topic_pattern,
        tenant_patterns=tenants,
        options=options,
    )


def _str_list(value: Any, what: str, location: Location | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(f"`{what}` must be a list of rule codes or slugs", location=location)


def _mapping(value: Any, what: str, location: Location | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    raise InputError(f"`{what}` must be a mapping", location=location)


def _regex(value: Any, what: str, location: Location | None) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise InputError(f"`{what}` must be a regular expression string", location=location)
    try:
        return re.compile(value)
    except re.error as err:
        raise InputError(f"`{what}` is not a valid regular expression: {err}", location=location) from None
