"""From schema-valid documents to the frozen model: normalization, references, derived ACLs.

Documents reaching this module already passed their kind's JSON Schema, so shapes and types are
known; what remains are checks JSON Schema cannot express: topic config values through the Kafka
catalog, units, regexes, schema files, duplicate names and references between resources.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.errors import Location
from evtctl.kafka import topic_configs
from evtctl.kafka.units import UnitError, parse_bytes, parse_duration_ms
from evtctl.manifest.model import (
    AccessPolicy,
    AclEntry,
    Classification,
    Compatibility,
    ConsumerGroup,
    Consumption,
    ContractDoc,
    DeliveryGuarantee,
    EventExamplesDoc,
    Kind,
    Metadata,
    NamingStrategy,
    OffsetReset,
    Operation,
    PatternType,
    Permission,
    PiiPolicy,
    Principal,
    PrincipalType,
    Production,
    Quota,
    QuotaLimits,
    ReadGrant,
    Resource,
    ResourceType,
    RetryPolicy,
    SaslMechanism,
    SchemaFormat,
    SchemaRef,
    SchemaReference,
    Service,
    Source,
    SubjectBinding,
    Tenant,
    Topic,
    TrafficKind,
)
from evtctl.manifest.problems import Code, Problem
from evtctl.manifest.schemafiles import SchemaFileChecker
from evtctl.manifest.yamlpos import PosMap, locate

DEFAULT_REPLICATION_FACTOR = 3
_EXTENSION_FORMATS = {
    ".avsc": SchemaFormat.AVRO,
    ".avro": SchemaFormat.AVRO,
    ".proto": SchemaFormat.PROTOBUF,
    ".json": SchemaFormat.JSON,
}


@dataclass(slots=True)
class Built:
    """Everything built from a set of documents, plus the problems found on the way."""

    topics: list[Topic] = field(default_factory=list)
    subjects: list[SubjectBinding] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    consumer_groups: list[ConsumerGroup] = field(default_factory=list)
    principals: list[Principal] = field(default_factory=list)
    access_policies: list[AccessPolicy] = field(default_factory=list)
    quotas: list[Quota] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)
    contracts: list[ContractDoc] = field(default_factory=list)
    event_examples: list[EventExamplesDoc] = field(default_factory=list)
    index: dict[tuple[str, str], Resource] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Doc:
    """One schema-valid document with helpers that produce located problems."""

    __slots__ = ("data", "file", "owners", "problems", "source", "spec")

    def __init__(
        self, file: str, data: PosMap, problems: list[Problem], owners: list[tuple[str, str]]
    ) -> None:
        self.file = file
        self.data = data
        self.spec: PosMap = data.get("spec") or PosMap(data.mark)
        self.source = Source(file, data)
        self.problems = problems
        self.owners = owners  # (prefix, tenant), longest prefix first

    def tenant(self) -> str | None:
        """The explicit ``spec.tenant``, else the tenant owning the name's longest prefix."""
        explicit = self.spec.get("tenant")
        if explicit is not None:
            return str(explicit)
        name = self.data["metadata"]["name"]
        for prefix, tenant in self.owners:
            if name.startswith(prefix):
                return tenant
        return None

    def loc(self, *path: str | int) -> Location:
        return locate(self.file, self.data, path)

    def error(
        self, message: str, path: tuple[str | int, ...], help: str | None = None, code: Code = Code.VALUE
    ) -> None:
        self.problems.append(Problem(message, self.loc(*path), help, code))

    def duration(self, value: Any, path: tuple[str | int, ...]) -> int | None:
        try:
            return parse_duration_ms(value)
        except UnitError as err:
            self.error(f"{_dotted(path)}: {err}", path)
            return None

    def size(self, value: Any, path: tuple[str | int, ...]) -> int | None:
        try:
            return parse_bytes(value)
        except UnitError as err:
            self.error(f"{_dotted(path)}: {err}", path)
            return None

    def metadata(self) -> Metadata:
        md = self.data["metadata"]
        cls = md.get("classification")
        return Metadata(
            name=md["name"],
            owner=md.get("owner"),
            description=md.get("description"),
            labels=dict(md.get("labels") or {}),
            annotations=dict(md.get("annotations") or {}),
            classification=Classification(cls) if cls else None,
        )


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


# --------------------------------------------------------------------------------------------------
# One builder per kind


# Workspaces repeat the same few config values thousands of times; normalize each once.
_CONFIG_CACHE: dict[tuple[str, type, Any], str] = {}


def _topic(d: _Doc) -> Topic:
    spec = d.spec
    configs: dict[str, str] = {}
    for name, value in (spec.get("configs") or {}).items():
        key = (name, type(value), value) if not isinstance(value, list) else None
        normalized = _CONFIG_CACHE.get(key) if key is not None else None
        if normalized is None:
            try:
                normalized = topic_configs.normalize(name, value)
            except topic_configs.ConfigValueError as err:
                d.error(str(err), ("spec", "configs", name), _config_help(name))
                continue
            if key is not None:
                _CONFIG_CACHE[key] = normalized
        configs[name] = normalized
    return Topic(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.tenant(),
        partitions=spec["partitions"],
        replication_factor=spec.get("replicationFactor", DEFAULT_REPLICATION_FACTOR),
        configs=configs,
    )


def _config_help(name: str) -> str | None:
    defn = topic_configs.TOPIC_CONFIGS.get(name)
    if defn is None:
        return None
    if defn.unit is topic_configs.Unit.DURATION_MS:
        return "durations take ms, s, m, h, d or w (e.g. 7d), or -1 for infinite"
    if defn.unit is topic_configs.Unit.BYTES:
        return "sizes take B, KB, MB, GB, KiB, MiB, GiB (e.g. 1GiB), or -1 for unlimited"
    if defn.choices:
        return f"allowed: {', '.join(defn.choices)}"
    return defn.doc


def _record_name_help(strategy: NamingStrategy) -> str:
    return f"{strategy.value} needs the record name: set `recordName:` or give the schema a (namespaced) name"


def _schema_file(root: Path, raw: Mapping[str, Any]) -> tuple[Path, SchemaFormat | None]:
    """A binding side's schema file and format (declared, else by extension; None if unknown)."""
    return _schema_path(root, raw["schema"], raw.get("format"))


@functools.lru_cache(maxsize=8192)  # asked twice per binding side (prefetch, build); Path is slow
def _schema_path(root: Path, schema: str, fmt_text: str | None) -> tuple[Path, SchemaFormat | None]:
    file = Path(os.path.normpath(root / schema))
    return file, SchemaFormat(fmt_text) if fmt_text else _EXTENSION_FORMATS.get(file.suffix.lower())


def _reference_file(root: Path, ref: Mapping[str, Any]) -> Path | None:
    return Path(os.path.normpath(root / ref["schema"])) if ref.get("schema") else None


def bound_schema_files(
    documents: Iterable[tuple[str, str, PosMap]], root: Path
) -> list[tuple[Path, SchemaFormat, tuple[Path, ...]]]:
    """(file, format, reference files) of every side the Subject documents bind: what
    ``build_documents`` will ask the schema checker about, so it can start early."""
    out: list[tuple[Path, SchemaFormat, tuple[Path, ...]]] = []
    for kind, _, data in documents:
        if kind != Kind.SUBJECT.value:
            continue
        spec = data.get("spec") or {}
        for side in ("key", "value"):
            raw = spec.get(side)
            if raw is None:
                continue
            file, fmt = _schema_file(root, raw)
            if fmt is not None:
                refs = (_reference_file(root, r) for r in raw.get("references") or ())
                out.append((file, fmt, tuple(r for r in refs if r is not None)))
    return out


def _subject(d: _Doc, root: Path, schemas: SchemaFileChecker) -> SubjectBinding:
    spec = d.spec
    topic = spec["topic"]
    strategy = NamingStrategy(spec.get("namingStrategy", NamingStrategy.TOPIC.value))
    sides: dict[str, SchemaRef | None] = {"key": None, "value": None}
    for side in ("key", "value"):
        raw = spec.get(side)
        if raw is None:
            continue
        path: tuple[str | int, ...] = ("spec", side)
        file, fmt = _schema_file(root, raw)
        if fmt is None:
            d.error(
                f"cannot tell the format of {raw['schema']!r} from its extension",
                (*path, "schema"),
                "set `format: AVRO|PROTOBUF|JSON`",
            )
        references: list[SchemaReference] = []
        for i, ref in enumerate(raw.get("references") or ()):
            ref_file = _reference_file(root, ref)
            if ref_file is not None and not ref_file.is_file():
                d.error(
                    f"referenced schema file {ref['schema']!r} does not exist",
                    (*path, "references", i, "schema"),
                    "paths are relative to the workspace root",
                    Code.SCHEMA_FILE,
                )
            version = ref.get("version")
            references.append(
                SchemaReference(
                    name=ref["name"],
                    subject=ref["subject"],
                    version=version if isinstance(version, int) else None,
                    file=ref_file,
                    location=d.loc(*path, "references", i),
                )
            )
        record_name = raw.get("recordName")
        if not file.is_file():
            d.error(
                f"schema file {raw['schema']!r} does not exist",
                (*path, "schema"),
                "paths are relative to the workspace root",
                Code.SCHEMA_FILE,
            )
        elif fmt is not None:
            problem, derived = schemas.check(
                file, fmt, [r.file for r in references if r.file], d.loc(*path, "schema")
            )
            if problem is not None:
                d.problems.append(problem)
            record_name = record_name or derived
        explicit = raw.get("subject")
        if explicit:
            subject = explicit
        elif strategy is NamingStrategy.TOPIC:
            subject = f"{topic}-{side}"
        elif record_name is None:
            d.error(f"cannot name the {side} subject", (*path, "schema"), _record_name_help(strategy))
            subject = f"{topic}-{side}"
        elif strategy is NamingStrategy.RECORD:
            subject = record_name
        else:
            subject = f"{topic}-{record_name}"
        sides[side] = SchemaRef(
            file=file,
            format=fmt or SchemaFormat.AVRO,  # only reached with an error already reported
            subject=subject,
            record_name=record_name,
            references=tuple(references),
            location=d.loc(*path),
        )
    return SubjectBinding(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.tenant(),
        topic=topic,
        key=sides["key"],
        value=sides["value"],
        naming_strategy=strategy,
        compatibility=Compatibility(spec.get("compatibility", Compatibility.BACKWARD.value)),
    )


def _retry(d: _Doc, raw: Mapping[str, Any] | None, path: tuple[str | int, ...]) -> RetryPolicy | None:
    if raw is None:
        return None
    backoff = d.duration(raw.get("backoff", 1000), (*path, "backoff")) or 0
    max_backoff = d.duration(raw["maxBackoff"], (*path, "maxBackoff")) if "maxBackoff" in raw else None
    if max_backoff is not None and max_backoff < backoff:
        d.error(f"{_dotted(path)}.maxBackoff is shorter than backoff", (*path, "maxBackoff"))
    return RetryPolicy(
        attempts=raw["attempts"], backoff_ms=backoff, max_backoff_ms=max_backoff, topic=raw.get("topic")
    )


def _service(d: _Doc) -> Service:
    spec = d.spec
    name = d.data["metadata"]["name"]
    delivery = DeliveryGuarantee(spec.get("deliveryGuarantee", DeliveryGuarantee.AT_LEAST_ONCE.value))
    traffic = TrafficKind(spec.get("traffic", TrafficKind.REALTIME.value))
    ordering = bool(spec.get("orderingCritical", False))
    group = spec.get("consumerGroup")
    default_retry = _retry(d, spec.get("retry"), ("spec", "retry"))
    produces: list[Production] = []
    for i, item in enumerate(spec.get("produces") or ()):
        raw: dict[str, Any] = {"topic": item} if isinstance(item, str) else item
        produces.append(
            Production(
                topic=raw["topic"],
                partition_key=raw.get("partitionKey", spec.get("partitionKey")),
                ordering_critical=bool(raw.get("orderingCritical", ordering)),
                traffic=TrafficKind(raw.get("traffic", traffic.value)),
                delivery=DeliveryGuarantee(raw.get("deliveryGuarantee", delivery.value)),
                location=d.loc("spec", "produces", i),
            )
        )
    consumes: list[Consumption] = []
    for i, item in enumerate(spec.get("consumes") or ()):
        raw = {"topic": item} if isinstance(item, str) else item
        retry = (
            _retry(d, raw.get("retry"), ("spec", "consumes", i, "retry")) if "retry" in raw else default_retry
        )
        consumes.append(
            Consumption(
                topic=raw["topic"],
                group=raw.get("group") or group or name,
                delivery=DeliveryGuarantee(raw.get("deliveryGuarantee", delivery.value)),
                idempotency_key=raw.get("idempotencyKey", spec.get("idempotencyKey")),
                retry=retry,
                dead_letter_topic=raw.get("deadLetterTopic", spec.get("deadLetterTopic")),
                ordering_critical=bool(raw.get("orderingCritical", ordering)),
                tombstone_safe=bool(raw.get("tombstoneSafe", False)),
                location=d.loc("spec", "consumes", i),
            )
        )
    transactional = spec.get("transactionalId")
    eo = DeliveryGuarantee.EFFECTIVELY_ONCE
    deliveries = [p.delivery for p in produces] + [c.delivery for c in consumes]
    if transactional is None and produces and eo in deliveries:
        transactional = name
    principal_ref = spec.get("principal")
    return Service(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.tenant(),
        principal=f"User:{principal_ref or name}",  # replaced by the Principal's own string when linked
        principal_ref=principal_ref,
        consumer_group=group or (name if consumes else None),
        delivery=delivery,
        traffic=traffic,
        transactional_id=transactional,
        produces=tuple(produces),
        consumes=tuple(consumes),
    )


def _consumer_group(d: _Doc) -> ConsumerGroup:
    spec = d.spec
    return ConsumerGroup(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.tenant(),
        service=spec.get("service"),
        offset_reset=OffsetReset(spec.get("offsetReset", OffsetReset.LATEST.value)),
    )


def _principal(d: _Doc) -> Principal:
    spec = d.spec
    name = d.data["metadata"]["name"]
    return Principal(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.tenant(),
        principal=spec.get("principal", f"User:{name}"),
        type=PrincipalType(spec.get("type", PrincipalType.SERVICE_ACCOUNT.value)),
        mechanism=SaslMechanism(spec.get("mechanism", SaslMechanism.SCRAM_SHA_512.value)),
    )


WILDCARD_PRINCIPALS = frozenset({"*", "User:*"})


def _access_policy(d: _Doc) -> AccessPolicy:
    spec = d.spec
    name = d.data["metadata"]["name"]
    principal_text: str = spec["principal"]
    wildcard = principal_text in WILDCARD_PRINCIPALS
    principal = "User:*" if wildcard else f"User:{principal_text}"
    entries: list[AclEntry] = []
    for i, rule in enumerate(spec["rules"]):
        rtype = ResourceType(rule["resourceType"])
        rname = rule["name"]
        if rtype is ResourceType.CLUSTER and rname != "kafka-cluster":
            d.error(
                f"a CLUSTER resource is always named 'kafka-cluster', got {rname!r}",
                ("spec", "rules", i, "name"),
                "write `name: kafka-cluster`",
            )
        pattern = PatternType(rule.get("patternType", PatternType.LITERAL.value))
        for op in rule["operations"]:
            entries.append(
                AclEntry(
                    principal=principal,
                    resource_type=rtype,
                    resource_name=rname,
                    pattern_type=pattern,
                    operation=Operation(op),
                    permission=Permission(rule.get("permission", Permission.ALLOW.value)),
                    host=rule.get("host", "*"),
                    derived=False,
                    origin=f"AccessPolicy/{name}",
                    location=d.loc("spec", "rules", i),
                )
            )
    return AccessPolicy(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        principal=principal,
        principal_ref=None if wildcard else principal_text,
        entries=tuple(entries),
    )


def _limits(d: _Doc, raw: Mapping[str, Any], path: tuple[str | int, ...]) -> QuotaLimits:
    def rate(key: str) -> int | None:
        return d.size(raw[key], (*path, key)) if key in raw else None

    pct = raw.get("requestPercentage")
    return QuotaLimits(
        producer_byte_rate=rate("producerByteRate"),
        consumer_byte_rate=rate("consumerByteRate"),
        request_percentage=float(pct) if pct is not None else None,
    )


def _quota(d: _Doc) -> Quota:
    spec = d.spec
    limits = _limits(d, spec, ("spec",))
    if limits == QuotaLimits():
        d.error(
            "quota sets no limit", ("spec",), "set producerByteRate, consumerByteRate or requestPercentage"
        )
    return Quota(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        user=spec.get("user"),
        client_id=spec.get("clientId"),
        limits=limits,
    )


def _tenant(d: _Doc) -> Tenant:
    spec = d.spec
    for key in ("topics", "groups"):
        pattern = (spec.get("naming") or {}).get(key)
        if isinstance(pattern, str):
            _check_regex(d, pattern, ("spec", "naming", key))
    grants = tuple(
        ReadGrant(tenant=g["tenant"], topics=tuple(g["topics"]), location=d.loc("spec", "readGrants", i))
        for i, g in enumerate(spec.get("readGrants") or ())
    )
    naming = spec.get("naming") or {}
    return Tenant(
        metadata=d.metadata(),
        location=d.loc(),
        source=d.source,
        tenant=d.data["metadata"]["name"],
        prefixes=tuple(spec["prefixes"]),
        quota=_limits(d, spec["quota"], ("spec", "quota")) if "quota" in spec else None,
        read_grants=grants,
        pii_policy=PiiPolicy(spec.get("piiPolicy", PiiPolicy.TENANT_ONLY.value)),
        topic_pattern=naming.get("topics"),
        group_pattern=naming.get("groups"),
    )


def _contract(d: _Doc) -> ContractDoc:
    from evtctl.contracts.model import SpecProblem, build_contract

    found: list[SpecProblem] = []
    contract = build_contract(
        d.data["metadata"]["name"], d.spec, lambda p: d.loc("spec", *p), found, owner=d.metadata().owner
    )
    d.problems.extend(Problem(p.message, p.location, p.help, Code.VALUE) for p in found)
    return ContractDoc(
        metadata=d.metadata(), location=d.loc(), source=d.source, tenant=d.tenant(), contract=contract
    )


def _event_examples(d: _Doc) -> EventExamplesDoc:
    from evtctl.contracts.model import build_examples

    examples = build_examples(d.data["metadata"]["name"], d.spec, lambda p: d.loc("spec", *p))
    return EventExamplesDoc(
        metadata=d.metadata(), location=d.loc(), source=d.source, tenant=d.tenant(), examples=examples
    )


def _check_regex(d: _Doc, pattern: str, path: tuple[str | int, ...]) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        d.error(
            f"invalid regular expression {pattern!r}: {err.msg}", path, "check brackets, escapes and repeats"
        )


# --------------------------------------------------------------------------------------------------
# Orchestration


def build_documents(
    documents: Iterable[tuple[str, str, PosMap]], root: Path, schemas: SchemaFileChecker
) -> Built:
    """Build every (kind, file, document) and check duplicates; references are checked later."""
    out = Built()
    builders: dict[str, Callable[[_Doc], Any]] = {
        Kind.TOPIC.value: _topic,
        Kind.SUBJECT.value: lambda d: _subject(d, root, schemas),
        Kind.SERVICE.value: _service,
        Kind.CONSUMER_GROUP.value: _consumer_group,
        Kind.PRINCIPAL.value: _principal,
        Kind.ACCESS_POLICY.value: _access_policy,
        Kind.QUOTA.value: _quota,
        Kind.TENANT.value: _tenant,
        Kind.CONTRACT.value: _contract,
        Kind.EVENT_EXAMPLES.value: _event_examples,
    }
    targets: dict[str, list[Any]] = {
        Kind.TOPIC.value: out.topics,
        Kind.SUBJECT.value: out.subjects,
        Kind.SERVICE.value: out.services,
        Kind.CONSUMER_GROUP.value: out.consumer_groups,
        Kind.PRINCIPAL.value: out.principals,
        Kind.ACCESS_POLICY.value: out.access_policies,
        Kind.QUOTA.value: out.quotas,
        Kind.TENANT.value: out.tenants,
        Kind.CONTRACT.value: out.contracts,
        Kind.EVENT_EXAMPLES.value: out.event_examples,
    }
    owners: list[tuple[str, str]] = []
    # Tenants first (others need their prefixes); subjects last, so schema files checked in the
    # background (SchemaFileChecker.prefetch) have the longest time to arrive.
    order = {Kind.TENANT.value: 0, Kind.SUBJECT.value: 2}
    ordered = sorted(documents, key=lambda item: order.get(item[0], 1))
    for kind, file, data in ordered:
        if kind != Kind.TENANT.value and not owners and out.tenants:
            owners = sorted(((p, t.name) for t in out.tenants for p in t.prefixes), key=lambda x: -len(x[0]))
        doc = _Doc(file, data, out.problems, owners)
        resource = builders[kind](doc)
        key = (kind, resource.name)
        first = out.index.get(key)
        if first is not None:
            out.problems.append(
                Problem(
                    f"duplicate {kind} {resource.name!r} (first declared at {first.location})",
                    doc.loc("metadata", "name"),
                    "names are unique per kind; rename or remove one",
                    Code.DUPLICATE_RESOURCE,
                )
            )
            continue
        out.index[key] = resource
        targets[kind].append(resource)
    return out


def glob_matches(patterns: Iterable[str], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
