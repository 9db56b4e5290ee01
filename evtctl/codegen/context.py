"""Build the template context from the workspace model and its schema files.

The context is plain data (dicts, lists, strings) so templates stay logic-free and the source hash
can be computed from a canonical JSON dump of it. Everything is sorted: output never depends on
manifest or file-system order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evtctl.codegen.models import AvroModels, ClassSpec, EnumSpec, FieldSpec, JsonModels, ModelSet, PyType
from evtctl.codegen.naming import identifier, pascal, snake
from evtctl.errors import InputError, Location, UsageError
from evtctl.manifest.model import Consumption, Production, SchemaRef, Service, Workspace

U = TypeVar("U", Production, Consumption)


@dataclass(slots=True)
class Contract:
    """One side (key or value) of a topic's contract, as generated code needs it."""

    subject: str
    format: str
    schema: str  # exact text registered under the subject
    file: str  # workspace-relative, for docs and the hash
    type_name: str  # Python annotation of the decoded value
    codec: str  # expression building the runtime Codec
    event_type: str
    proto_module: str | None = None  # "<package>.proto.<x>_pb2"
    proto_file: Path | None = None
    references: tuple[tuple[str, str, int | None], ...] = ()
    # Avro: (reference name, schema text) of the local files of the references, for the encoder
    reference_schemas: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class ProtoFile:
    path: Path
    module: str  # relative module name under the package's proto/ folder
    imports: tuple[tuple[str, Path], ...] = ()  # (import path as written, local file) of references


class Build:
    def __init__(self) -> None:
        self.models = ModelSet()
        self.protos: dict[Path, ProtoFile] = {}
        self.contracts: dict[tuple[str, str], Contract] = {}  # (subject, file)
        self.avro = AvroModels(self.models)
        self.json = JsonModels(self.models)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _read(ref: SchemaRef) -> str:
    try:
        return ref.file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read schema file: {exc.strerror}", location=ref.location) from exc


def _proto_messages(text: str) -> list[str]:
    """Top-level message names of a .proto file, in declaration order (protoc validates the rest)."""
    import re

    depth = 0
    names: list[str] = []
    for token in re.finditer(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"])*\"|[{}]|\bmessage\s+(\w+)", text, re.S):
        raw = token.group(0)
        if raw == "{":
            depth += 1
        elif raw == "}":
            depth -= 1
        elif token.group(1) and depth == 0:
            names.append(token.group(1))
    return names


def _avro_references(build: Build, ref: SchemaRef) -> tuple[tuple[str, str], ...]:
    """Convert the named types of an Avro schema's references (their local files) into shared
    classes; returns (reference name, schema text) for the runtime's encoder."""
    if not ref.references:
        return ()
    missing = [r.name for r in ref.references if r.file is None]
    if missing:
        raise InputError(
            f"referenced Avro schemas have no local schema file: {', '.join(missing)}",
            location=ref.location,
            help="give each reference a `schema:` path so codegen can generate its named types",
        )
    texts: list[tuple[str, str]] = []
    parsed: list[tuple[str, Any]] = []
    for r in ref.references:
        assert r.file is not None
        try:
            text = r.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read schema file: {exc.strerror}", location=r.location) from exc
        try:
            parsed.append((str(r.file), json.loads(text)))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"schema is not valid JSON: {exc.msg}",
                location=Location(str(r.file), exc.lineno, exc.colno),
            ) from exc
        texts.append((r.name, text))
    build.avro.define_references(parsed)
    return tuple(texts)


def contract_for(build: Build, ref: SchemaRef, root: Path, *, package: str) -> Contract:
    key = (ref.subject, str(ref.file))
    if key in build.contracts:
        return build.contracts[key]
    text = _read(ref)
    rel = _rel(ref.file, root)
    fmt = ref.format.value
    if fmt == "PROTOBUF":
        stem = identifier(ref.file.stem)
        missing = [r.name for r in ref.references if r.file is None]
        if missing:
            raise InputError(
                f"referenced .proto files have no local schema file: {', '.join(missing)}",
                location=ref.location,
                help="give each reference a `schema:` path so protoc can compile it",
            )
        imports = tuple(sorted((r.name, r.file) for r in ref.references if r.file is not None))
        proto = build.protos.setdefault(ref.file, ProtoFile(ref.file, f"{stem}_pb2", imports))
        messages = _proto_messages(text)
        wanted = (ref.record_name or "").rsplit(".", 1)[-1] or (messages[0] if messages else "")
        if wanted not in messages:
            raise InputError(
                f"message {wanted or '(none)'} is not a top-level message of {rel}",
                location=ref.location,
                help="set the subject's record name to one of: " + ", ".join(messages),
            )
        module = f"{package}.proto.{proto.module}"
        contract = Contract(
            subject=ref.subject,
            format=fmt,
            schema=text,
            file=rel,
            type_name=f"{proto.module}.{wanted}",
            codec="message_codec()",
            event_type=wanted,
            proto_module=module,
            proto_file=ref.file,
        )
    else:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"schema is not valid JSON: {exc.msg}",
                location=Location(str(ref.file), exc.lineno, exc.colno),
            ) from exc
        reference_schemas: tuple[tuple[str, str], ...] = ()
        if fmt == "AVRO":
            reference_schemas = _avro_references(build, ref)
            t: PyType = build.avro.top_level(parsed, str(ref.file))
        else:
            fallback = pascal((ref.record_name or "").rsplit(".", 1)[-1] or ref.file.stem.split(".")[0])
            t = build.json.top_level(parsed, name=fallback, origin=str(ref.file))
        is_class = t.annotation in build.models.classes and isinstance(
            build.models.classes[t.annotation], ClassSpec
        )
        if is_class:
            codec = f"record_codec({t.annotation})"
        elif t.annotation in ("str", "int", "float", "bool", "bytes"):
            codec = f"plain_codec({t.annotation})"
        else:
            raise InputError(
                f"top-level {fmt} schema of type {t.annotation} is not supported by codegen",
                location=ref.location,
                help="use a record (Avro) / object (JSON Schema), or a primitive key schema",
            )
        contract = Contract(
            subject=ref.subject,
            format=fmt,
            schema=text,
            file=rel,
            type_name=t.annotation,
            codec=codec,
            event_type=t.annotation if is_class else pascal(ref.subject),
            reference_schemas=reference_schemas,
        )
    contract.references = tuple((r.name, r.subject, r.version) for r in ref.references)
    build.contracts[key] = contract
    return contract


def _key_expr(field_path: str | None, value_type: str, fmt: str) -> str | None:
    if not field_path:
        return None
    parts = field_path.split(".")
    attrs = parts if fmt == "PROTOBUF" else [identifier(p) for p in parts]
    return "value." + ".".join(attrs)


def _record_key_expr(build: Build, topic: dict[str, Any]) -> str | None:
    """For a record key schema: build the key from the value's fields of the same names, if all exist."""
    key: Contract | None = topic["key"]
    value: Contract = topic["value"]
    if key is None or not key.codec.startswith("record_codec"):
        return None
    key_spec = build.models.classes.get(key.type_name)
    value_spec = build.models.classes.get(value.type_name)
    if not isinstance(key_spec, ClassSpec) or not isinstance(value_spec, ClassSpec):
        return None
    by_wire = {f.wire_name: f for f in value_spec.fields}
    if not key_spec.fields or any(f.wire_name not in by_wire for f in key_spec.fields):
        return None
    args = ", ".join(f"{f.name}=value.{by_wire[f.wire_name].name}" for f in key_spec.fields)
    return f"{key_spec.name}({args})"


def _retry(consumption: Any) -> dict[str, Any]:
    r = consumption.retry
    if r is None:
        return {"attempts": 1, "initial": 0.1, "max": 10.0}
    return {
        "attempts": max(1, int(r.attempts)),
        "initial": round(r.backoff_ms / 1000, 3),
        "max": round(
            (r.max_backoff_ms if r.max_backoff_ms is not None else max(r.backoff_ms, 10_000)) / 1000, 3
        ),
    }


def _context_settings(ws: Workspace) -> list[dict[str, Any]]:
    out = []
    for name in sorted(ws.config.contexts):
        c = ws.config.contexts[name]
        s = c.security
        out.append(
            {
                "name": name,
                "kind": c.kind,
                "bootstrap": ",".join(c.bootstrap_servers),
                "registry": c.registry_url or "",
                "protocol": s.protocol if s.protocol != "PLAINTEXT" else None,
                "mechanism": s.sasl_mechanism.value if s.sasl_mechanism else None,
                "username_env": s.username_env,
                "password_env": s.password_env,
            }
        )
    return out


def _unique(names: Iterable[str]) -> bool:
    listed = list(names)
    return len(set(listed)) == len(listed)


def _with_contract(
    uses: Iterable[U], by_topic: dict[str, dict[str, Any]]
) -> Iterator[tuple[U, dict[str, Any]]]:
    """(production or consumption, topic context) for each use of a topic that has a value contract."""
    for use in sorted(uses, key=lambda u: u.topic):
        t = by_topic.get(use.topic)
        if t is not None:
            yield use, t


def build_context(ws: Workspace, *, package: str, service: str | None = None) -> dict[str, Any]:
    """The full template context for the workspace, or for what one service produces and consumes."""
    build = Build()
    services: list[Service] = sorted(ws.services, key=lambda s: s.name)
    if service is not None:
        found = ws.service(service)
        if found is None:
            raise UsageError(
                f"no service named {service!r} in the workspace",
                help="services: " + ", ".join(s.name for s in services) if services else None,
            )
        services = [found]
        wanted_topics = set(found.produced_topics) | set(found.consumed_topics)
    else:
        wanted_topics = {t.name for t in ws.topics}

    topics: list[dict[str, Any]] = []
    for binding in sorted(ws.subjects, key=lambda b: (b.topic, b.name)):
        if binding.topic not in wanted_topics or binding.value is None:
            continue
        value = contract_for(build, binding.value, ws.root, package=package)
        key = contract_for(build, binding.key, ws.root, package=package) if binding.key is not None else None
        if key is not None and key.format == "PROTOBUF":
            key = None  # Protobuf keys are not generated; documented limitation
        topics.append({"topic": binding.topic, "value": value, "key": key, "class": pascal(binding.topic)})
    if not _unique(t["topic"] for t in topics):
        names = [t["topic"] for t in topics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"topics with more than one value contract: {', '.join(dupes)}")
    by_topic = {t["topic"]: t for t in topics}

    resets = {g.group_id: g.offset_reset.value for g in ws.consumer_groups}
    service_ctx: list[dict[str, Any]] = []
    for svc in services:
        producers = [
            {
                "class": f"{t['class']}Producer",
                "base": f"topics.{t['class']}Producer",
                "topic": t,
                "key_expr": _record_key_expr(build, t)
                or _key_expr(prod.partition_key, t["value"].type_name, t["value"].format),
                "key_field": prod.partition_key,
                "guarantee": prod.delivery.value,
                "transactional_id": svc.transactional_id,
            }
            for prod, t in _with_contract(svc.produces, by_topic)
        ]
        consumers = [
            {
                "class": f"{t['class']}Consumer",
                "base": f"topics.{t['class']}Consumer",
                "topic": t,
                "group": cons.group,
                "guarantee": cons.delivery.value,
                "retry": _retry(cons),
                "dead_letter": cons.dead_letter_topic,
                "idempotency_expr": _key_expr(cons.idempotency_key, t["value"].type_name, t["value"].format),
                "offset_reset": resets.get(cons.group, "earliest"),
            }
            for cons, t in _with_contract(svc.consumes, by_topic)
        ]
        if not producers and not consumers:
            continue  # nothing with a contract to generate for this service
        service_ctx.append(
            {
                "name": svc.name,
                "module": snake(svc.name),
                "producers": producers,
                "consumers": consumers,
                "description": svc.metadata.description,
            }
        )

    models = build.models
    return {
        "package": package,
        "workspace": ws.config.name,
        "service": service,
        "imports": sorted(models.imports),
        "classes": models.sorted(),
        "topics": topics,
        "services": service_ctx,
        "contexts": _context_settings(ws),
        "default_context": ws.config.default_context,
        "protos": sorted(build.protos.values(), key=lambda p: p.module),
        "contracts": sorted(build.contracts.values(), key=lambda c: (c.subject, c.file)),
    }


def hashable(context: dict[str, Any]) -> str:
    """A canonical JSON rendering of the context (paths made relative), input to the source hash."""

    def default(obj: Any) -> Any:
        if isinstance(obj, (ClassSpec, EnumSpec, FieldSpec, Contract, ProtoFile)):
            data = {k: getattr(obj, k) for k in obj.__slots__}
            data.pop("proto_file", None)
            if isinstance(obj, ProtoFile):
                data["path"] = obj.path.name
            return data
        if isinstance(obj, Path):
            return obj.name
        raise TypeError(type(obj).__name__)

    return json.dumps(context, default=default, sort_keys=True)
