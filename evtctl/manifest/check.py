"""Checking documents against their kind's JSON Schema, with errors mapped to file positions.

Each document first goes through a compiled pre-check (:mod:`evtctl.manifest.fastcheck`); only the
ones it rejects are run through ``jsonschema``, whose errors become located problems with
"did you mean" suggestions for unknown fields and enum values.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable
from typing import Any

from evtctl.manifest.fastcheck import compile_schema
from evtctl.manifest.problems import Code, Problem
from evtctl.manifest.schemas import ALL_KINDS, kind_schema
from evtctl.manifest.yamlpos import PosMap, locate, locate_key


@functools.cache
def _fast(kind: str) -> Callable[[Any], bool]:
    return compile_schema(kind_schema(kind))


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(kind_schema(kind))


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "document"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _problems_for(error: Any, file: str, doc: PosMap) -> list[Problem]:
    path = list(error.absolute_path)
    where = _dotted(path)
    validator = error.validator
    schema = error.schema
    instance = error.instance
    if validator in ("anyOf", "oneOf") and error.context:
        contexts = list(error.context)
        if all(c.validator == "required" for c in contexts):
            names = [c.validator_value[0] for c in contexts]
            return [
                Problem(
                    f"{where} needs at least one of: {', '.join(names)}",
                    locate(file, doc, path),
                    code=Code.SCHEMA,
                )
            ]
        # A shorthand-or-object field: report against the branch matching the value's shape.
        if isinstance(instance, dict):
            relevant = [c for c in contexts if not (c.validator == "type" and c.validator_value == "string")]
            inner = [c for c in relevant if c.validator != "type"] or relevant
            out: list[Problem] = []
            for c in inner:
                out.extend(_problems_for(c, file, doc))
            if out:
                return out
        expected = " or ".join(
            sorted({str(c.schema.get("type", "value")) for c in contexts if isinstance(c.schema, dict)})
        )
        return [
            Problem(
                f"{where} must be a {expected}, got {_type_name(instance)}",
                locate(file, doc, path),
                code=Code.TYPE,
            )
        ]
    if validator == "additionalProperties":
        known = list(schema.get("properties", {}))
        out = []
        for name in instance:
            if name in known:
                continue
            hint = _suggest(str(name), known)
            container = where if path else "the document"
            out.append(
                Problem(
                    f"unknown field {name!r} in {container}",
                    locate_key(file, doc, [*path, name]),
                    f"did you mean {hint!r}?" if hint else f"known fields: {', '.join(known) or '(none)'}",
                    code=Code.UNKNOWN_FIELD,
                )
            )
        return out
    if validator == "required":
        missing = [r for r in error.validator_value if r not in instance]
        return [
            Problem(
                f"missing required field {name!r}" + (f" in {where}" if path else ""),
                locate(file, doc, path),
                f"add `{name}:`",
                code=Code.SCHEMA,
            )
            for name in missing
        ]
    if validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return [
            Problem(
                f"{where} must be {_article(expected_text)}, got {_type_name(instance)} {_short(instance)}",
                locate(file, doc, path),
                "quote the value if it is meant as text"
                if isinstance(instance, bool | int | float)
                else None,
                code=Code.TYPE,
            )
        ]
    if validator == "const":
        if path == ["apiVersion"]:
            return [
                Problem(
                    f"unsupported apiVersion {instance!r}",
                    locate(file, doc, path),
                    f"use `apiVersion: {error.validator_value}`",
                    code=Code.API_VERSION,
                )
            ]
        return [
            Problem(f"{where} must be {error.validator_value!r}", locate(file, doc, path), code=Code.SCHEMA)
        ]
    if validator == "enum":
        allowed = [str(v) for v in error.validator_value]
        hint = _suggest(str(instance), allowed) if isinstance(instance, str) else None
        return [
            Problem(
                f"{where}: {instance!r} is not one of {', '.join(allowed)}",
                locate(file, doc, path),
                f"did you mean {hint!r}?" if hint else None,
                code=Code.VALUE,
            )
        ]
    if validator == "pattern":
        return [
            Problem(
                f"{where}: {instance!r} is not a valid name",
                locate(file, doc, path),
                f"names may only contain letters, digits, '.', '_' and '-' (pattern {error.validator_value})",
                code=Code.VALUE,
            )
        ]
    if validator == "propertyNames":
        return [
            Problem(
                f"{where}: invalid key {instance!r}"
                if not isinstance(instance, dict)
                else f"{where}: invalid key",
                locate(file, doc, path),
                error.message,
                code=Code.VALUE,
            )
        ]
    return [Problem(f"{where}: {error.message}", locate(file, doc, path), code=Code.VALUE)]


def _article(text: str) -> str:
    return ("an " if text[:1] in "aeiou" else "a ") + text


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_document(kind: str, file: str, doc: PosMap) -> tuple[list[Problem], bool]:
    """Problems of one document against its kind's schema, and whether it is usable anyway.

    Unknown fields are reported and then dropped, so a document whose only mistake is a typo'd
    field is still built and its other values (topic configs, references) are checked too.
    """
    if _fast(kind)(doc):
        return [], True
    problems: list[Problem] = []
    unknown: list[tuple[dict[str, Any], str]] = []
    for error in list(_validator(kind).iter_errors(doc)):
        problems.extend(_problems_for(error, file, doc))
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            unknown.extend((error.instance, k) for k in error.instance if k not in known)
    for container, key in unknown:
        container.pop(key, None)
    usable = bool(unknown) and len(unknown) == len(problems) and _fast(kind)(doc)
    return problems, usable


def unknown_kind(kind: Any, file: str, doc: PosMap, allowed: Iterable[str] = ALL_KINDS) -> Problem:
    if not isinstance(kind, str):
        return Problem(
            f"kind must be a string, got {_type_name(kind)}",
            locate(file, doc, ["kind"]),
            f"one of: {', '.join(allowed)}",
            code=Code.UNKNOWN_KIND,
        )
    hint = _suggest(kind, allowed) or next((k for k in allowed if k.lower() == kind.lower()), None)
    return Problem(
        f"unknown kind {kind!r}",
        locate(file, doc, ["kind"]),
        f"did you mean {hint!r}?" if hint else f"known kinds: {', '.join(allowed)}",
        code=Code.UNKNOWN_KIND,
    )
