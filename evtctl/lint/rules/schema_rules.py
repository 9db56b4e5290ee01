"""Lint rules about the schemas themselves (owner: compat; listed in ``evtctl.lint.registry``).

Each rule parses a bound schema with ``evtctl.compat`` (cached by text, so the four rules share
one parse per file) and points findings at the line inside the schema file. Schemas that do not
parse are skipped here: ``evtctl validate`` / ``evtctl schema check`` report those.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evtctl.errors import EvtctlError, Location
from evtctl.lint.diagnostics import Severity
from evtctl.lint.rule import Finding, LintContext, rule
from evtctl.manifest.model import SchemaRef, SubjectBinding


def _bound(ctx: LintContext, fmt: str) -> list[tuple[SubjectBinding, SchemaRef, Any]]:
    """(binding, side, parsed schema) for every bound schema of format ``fmt``, each file once.

    Computed once per lint run and shared by the rules of that format.
    """
    key = f"schema_rules.bound.{fmt}"
    known: list[tuple[SubjectBinding, SchemaRef, Any]] | None = ctx.memo.get(key)
    if known is not None:
        return known
    from evtctl.compat import parse_schema, read_text
    from evtctl.compat.workspace_check import reference_files

    found: list[tuple[SubjectBinding, SchemaRef, Any]] = []
    seen: set[Path] = set()
    for binding in ctx.workspace.subjects:
        for _, ref in binding.sides():
            if ref.format.value != fmt or ref.file in seen:
                continue
            seen.add(ref.file)
            try:
                refs = {name: read_text(p) for name, p in reference_files(ref).items()}
                parsed = parse_schema(fmt, read_text(ref.file), references=refs, origin=str(ref.file))
            except EvtctlError:
                continue
            found.append((binding, ref, parsed))
    ctx.memo[key] = found
    return found


def _at(parsed: Any, path: tuple[str | int, ...]) -> Location:
    from evtctl.compat.jsonpos import locate

    return locate(parsed.text, path, parsed.origin)


@rule(
    "EVT601",
    "avro-optional-field-without-default",
    family="contracts",
    severity=Severity.WARNING,
    summary="Avro fields that may be null declare a default, so they can be removed or added later.",
    rationale="""
        A consumer reading data that lacks a field falls back to the field's default; a field
        without one can never be removed under FORWARD compatibility, nor added under BACKWARD.
        A nullable field (a union with "null") is optional in intent, so it should say
        "default": null (null first in the union). Set the option all_fields to flag every field
        without a default.
    """,
    bad="""
        {"type": "record", "name": "Order", "fields": [
          {"name": "coupon", "type": ["null", "string"]}]}
    """,
    good="""
        {"type": "record", "name": "Order", "fields": [
          {"name": "coupon", "type": ["null", "string"], "default": null}]}
    """,
    options={"all_fields": False},
    reads_schema_files=True,
)
def avro_optional_field_without_default(ctx: LintContext) -> Iterator[Finding]:
    all_fields = bool(ctx.option(avro_optional_field_without_default, "all_fields"))
    for binding, _ref, parsed in _bound(ctx, "AVRO"):
        model = parsed.model
        for name in model.own_names:
            node = model.names[name]
            for f in node.fields:
                if f.has_default:
                    continue
                nullable = f.type.kind == "union" and any(b.kind == "null" for b in f.type.branches)
                if nullable or all_fields:
                    what = "nullable field" if nullable else "field"
                    yield Finding(
                        f"Avro {what} {node.short_name}.{f.name} has no default.",
                        _at(parsed, f.json_path),
                        'add "default": null (with "null" first in the union)'
                        if nullable
                        else "add a default",
                        binding,
                    )


@rule(
    "EVT602",
    "protobuf-field-number-not-reserved",
    family="contracts",
    severity=Severity.WARNING,
    summary="Field numbers no longer used in a Protobuf message are reserved.",
    rationale="""
        Old data still carries the numbers of removed fields. If a later version reuses such a
        number with another type, consumers misread old data (and Confluent only notices against
        the version that still had the field). `reserved` makes protoc refuse the reuse. With an
        evtctl.lock.json the rule compares with every locked version; without one it flags gaps
        in a message's numbering.
    """,
    bad="""
        message Order { string id = 1; int64 total = 3; }
    """,
    good="""
        message Order { string id = 1; int64 total = 3; reserved 2; }
    """,
    reads_schema_files=True,
)
def protobuf_field_number_not_reserved(ctx: LintContext) -> Iterator[Finding]:
    history = _locked_numbers(ctx)
    for binding, ref, parsed in _bound(ctx, "PROTOBUF"):
        model = parsed.model
        for msg, path in _messages(model):
            used = {f.number for f in msg.fields}
            reserved = msg.reserved
            if ref.subject in history:
                candidates = history[ref.subject].get(msg.fullname, set()) - used
                why = "was used by an earlier locked version"
            else:
                candidates = set(range(1, max(used, default=0))) - used
                why = "is a gap in the numbering (a removed field?)"
            free = sorted(n for n in candidates if not any(lo <= n <= hi for lo, hi in reserved))
            if free:
                line, col = model.source.get(path, (1, 1))
                numbers = ", ".join(map(str, free[:10])) + (" ..." if len(free) > 10 else "")
                yield Finding(
                    f"Message {msg.fullname}: field number{'s' if len(free) > 1 else ''} {numbers} "
                    f"{'are' if len(free) > 1 else 'is'} not reserved and {why}.",
                    Location(str(ref.file), line, col),
                    f"add `reserved {', '.join(map(str, free[:10]))};` to {msg.fullname.rsplit('.', 1)[-1]}",
                    binding,
                )


def _messages(model: Any) -> Iterator[tuple[Any, tuple[int, ...]]]:
    """Every message of the file with its descriptor path (4 = message_type, 3 = nested_type)."""

    def walk(msgs: Any, prefix: tuple[int, ...], tag: int) -> Iterator[tuple[Any, tuple[int, ...]]]:
        for i, msg in enumerate(msgs.values()):
            path = (*prefix, tag, i)
            if not msg.map_entry:
                yield msg, path
                yield from walk(msg.messages, path, 3)

    yield from walk(model.messages, (), 4)


def _locked_numbers(ctx: LintContext) -> dict[str, dict[str, set[int]]]:
    """subject -> message full name -> field numbers used by any locked version."""
    from evtctl.compat import parse_schema
    from evtctl.compat.workspace_check import LOCK_NAME, read_lock

    path = ctx.workspace.root / LOCK_NAME
    if not path.exists():
        return {}
    try:
        doc = read_lock(path)
    except EvtctlError:
        return {}
    out: dict[str, dict[str, set[int]]] = {}
    for subject, entry in doc["subjects"].items():
        if not isinstance(entry, dict) or entry.get("schema_type") != "PROTOBUF":
            continue
        numbers: dict[str, set[int]] = {}
        for version in entry.get("versions", []):
            try:
                parsed = parse_schema(
                    "PROTOBUF", version["schema"], references=version.get("references") or {}
                )
            except (EvtctlError, KeyError, TypeError):
                continue
            for msg, _ in _messages(parsed.model):
                numbers.setdefault(msg.fullname, set()).update(f.number for f in msg.fields)
        out[subject] = numbers
    return out


@rule(
    "EVT603",
    "json-schema-content-model-unspecified",
    family="contracts",
    severity=Severity.WARNING,
    summary="JSON Schema objects state additionalProperties (open or closed content model).",
    rationale="""
        Whether a property may be added or removed compatibly depends on the content model:
        adding a property is BACKWARD-compatible only for a closed model, removing one only for an
        open model. An object that leaves additionalProperties unspecified is open by default,
        which is rarely what the author meant; say it explicitly.
    """,
    bad="""
        {"type": "object", "properties": {"id": {"type": "string"}}}
    """,
    good="""
        {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": false}
    """,
    reads_schema_files=True,
)
def json_schema_content_model_unspecified(ctx: LintContext) -> Iterator[Finding]:
    for binding, _ref, parsed in _bound(ctx, "JSON"):
        for path, node in _objects(parsed.model.json, ()):
            if not any(
                k in node for k in ("additionalProperties", "unevaluatedProperties", "patternProperties")
            ):
                pointer = "#" + "".join(f"/{p}" for p in path)
                yield Finding(
                    f"Object schema {pointer} does not say whether other properties are allowed.",
                    _at(parsed, path),
                    'add "additionalProperties": false (closed) or true (open)',
                    binding,
                )


def _objects(
    node: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or isinstance(node.get("properties"), dict):
            yield path, node
        for key, value in node.items():
            if key not in ("enum", "const", "default", "examples"):
                yield from _objects(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, (*path, i))


@rule(
    "EVT604",
    "schema-missing-doc",
    family="contracts",
    severity=Severity.INFO,
    summary="Record types, messages and JSON Schema roots carry documentation.",
    rationale="""
        Schemas are the API of an event stream; consumers in other teams read them long after the
        author has moved on. A doc on each Avro record, a comment on each Protobuf message and a
        description on each JSON Schema says what the event means, not only its shape.
    """,
    bad="""
        {"type": "record", "name": "OrderPlaced", "fields": [{"name": "id", "type": "string"}]}
    """,
    good="""
        {"type": "record", "name": "OrderPlaced", "doc": "A customer placed an order.",
         "fields": [{"name": "id", "type": "string"}]}
    """,
    reads_schema_files=True,
)
def schema_missing_doc(ctx: LintContext) -> Iterator[Finding]:
    for binding, _ref, parsed in _bound(ctx, "AVRO"):
        model = parsed.model
        for name in model.own_names:
            node = model.names[name]
            if node.kind == "record" and not node.doc:
                yield Finding(
                    f"Avro record {name} has no doc.",
                    _at(parsed, node.json_path),
                    'add "doc": "what this event or record means"',
                    binding,
                )
    for binding, ref, parsed in _bound(ctx, "PROTOBUF"):
        model = parsed.model
        comments = _proto_comments(model)
        for msg, path in _messages(model):
            if path not in comments:
                line, col = model.source.get(path, (1, 1))
                yield Finding(
                    f"Protobuf message {msg.fullname} has no leading comment.",
                    Location(str(ref.file), line, col),
                    "add a // comment above the message saying what it means",
                    binding,
                )
    for binding, _ref, parsed in _bound(ctx, "JSON"):
        doc = parsed.model.json
        if isinstance(doc, dict) and not (doc.get("description") or doc.get("title")):
            yield Finding(
                "JSON Schema has no description or title.",
                _at(parsed, ()),
                'add "description": "what this event means"',
                binding,
            )


def _proto_comments(model: Any) -> frozenset[tuple[int, ...]]:
    """Descriptor paths that have a leading (or trailing) comment."""
    comments: frozenset[tuple[int, ...]] = model.comments
    return comments


__all__ = [
    "avro_optional_field_without_default",
    "json_schema_content_model_unspecified",
    "protobuf_field_number_not_reserved",
    "schema_missing_doc",
]
