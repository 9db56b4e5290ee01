"""The typed, frozen workspace model every other area reads.

Manifests are loaded with positions, checked against the JSON Schema of their kind, and turned
into these values by :mod:`evtctl.manifest.build`. Values are already normalized: topic configs are
Kafka's canonical strings (``7d`` became ``"604800000"``), byte rates are integers, enums are enums,
schema paths are absolute. Every resource carries ``location`` (where its document starts) and
``at(*path)`` for the position of any field inside it, so lint and plan can point at the exact line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.contracts.model import Contract, EventExamples
from evtctl.errors import Location
from evtctl.records import fast_init

API_VERSION = "evtctl/v1"


class Kind(enum.StrEnum):
    TOPIC = "Topic"
    SUBJECT = "Subject"
    SERVICE = "Service"
    CONSUMER_GROUP = "ConsumerGroup"
    PRINCIPAL = "Principal"
    ACCESS_POLICY = "AccessPolicy"
    QUOTA = "Quota"
    TENANT = "Tenant"
    CONTRACT = "Contract"  # consumer-driven contract (evtctl.contracts)
    EVENT_EXAMPLES = "EventExamples"  # a producer's sample events (evtctl.contracts)


class Classification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"


class SchemaFormat(enum.StrEnum):
    """Schema Registry ``schemaType`` values."""

    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"
    JSON = "JSON"


class NamingStrategy(enum.StrEnum):
    TOPIC = "TopicNameStrategy"
    RECORD = "RecordNameStrategy"
    TOPIC_RECORD = "TopicRecordNameStrategy"


class Compatibility(enum.StrEnum):
    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"


class DeliveryGuarantee(enum.StrEnum):
    AT_MOST_ONCE = "at-most-once"
    AT_LEAST_ONCE = "at-least-once"
    EFFECTIVELY_ONCE = "effectively-once"


class TrafficKind(enum.StrEnum):
    REALTIME = "realtime"
    BULK = "bulk"


class SaslMechanism(enum.StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    MTLS = "mTLS"


class PrincipalType(enum.StrEnum):
    SERVICE_ACCOUNT = "service-account"
    USER = "user"


class ResourceType(enum.StrEnum):
    """Kafka ACL resource types evtctl manages."""

    TOPIC = "TOPIC"
    GROUP = "GROUP"
    CLUSTER = "CLUSTER"
    TRANSACTIONAL_ID = "TRANSACTIONAL_ID"


class PatternType(enum.StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Operation(enum.StrEnum):
    """Kafka ACL operations."""

    ALL = "ALL"
    READ = "READ"
    WRITE = "WRITE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    ALTER = "ALTER"
    DESCRIBE = "DESCRIBE"
    CLUSTER_ACTION = "CLUSTER_ACTION"
    DESCRIBE_CONFIGS = "DESCRIBE_CONFIGS"
    ALTER_CONFIGS = "ALTER_CONFIGS"
    IDEMPOTENT_WRITE = "IDEMPOTENT_WRITE"


class Permission(enum.StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"


class PiiPolicy(enum.StrEnum):
    """Who may read a tenant's PII-classified topics."""

    TENANT_ONLY = "tenant-only"  # nobody outside the tenant, grants notwithstanding
    GRANTED = "granted"  # other tenants only through an explicit read grant


class OffsetReset(enum.StrEnum):
    EARLIEST = "earliest"
    LATEST = "latest"
    NONE = "none"


# --------------------------------------------------------------------------------------------------
# Positions


@fast_init
@dataclass(frozen=True, slots=True)
class Source:
    """Where a resource came from: its document node, kept to answer ``at()`` lazily.

    Positions of every field are recorded while loading; resolving them is deferred so that a
    10,000-topic workspace pays only for the positions someone asks for.
    """

    file: str
    node: Any = field(default=None, compare=False, repr=False)  # evtctl.manifest.yamlpos.PosMap

    def at(self, *path: str | int) -> Location:
        from evtctl.manifest.yamlpos import locate

        return locate(self.file, self.node, path)


@fast_init
@dataclass(frozen=True, slots=True)
class Metadata:
    name: str
    owner: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)  # e.g. lint suppressions
    classification: Classification | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """Fields every kind shares."""

    metadata: Metadata
    location: Location  # the document's ``kind:`` line
    source: Source = field(compare=False, repr=False)
    tenant: str | None = None  # owning tenant, explicit or from the longest matching name prefix

    @property
    def name(self) -> str:
        return self.metadata.name

    def at(self, *path: str | int) -> Location:
        """Position of a field, e.g. ``topic.at("spec", "configs", "retention.ms")``.

        Falls back to the closest enclosing node that exists, then to ``location``.
        """
        return self.source.at(*path)


# --------------------------------------------------------------------------------------------------
# Kinds


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Topic(Resource):
    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)  # only keys set in the manifest, normalized

    def config(self, name: str) -> str | None:
        return self.configs.get(name)

    @property
    def compacted(self) -> bool:
        return "compact" in self.configs.get("cleanup.policy", "delete").split(",")


@fast_init
@dataclass(frozen=True, slots=True)
class SchemaReference:
    """A schema reference (Avro named type, Protobuf import, JSON ``$ref``)."""

    name: str  # as written in the referencing schema (import path, type name, $ref URL)
    subject: str
    version: int | None  # None = latest
    file: Path | None  # local schema file for offline checks and registration
    location: Location


@fast_init
@dataclass(frozen=True, slots=True)
class SchemaRef:
    """One side (key or value) of a subject binding."""

    file: Path  # absolute
    format: SchemaFormat
    subject: str  # registry subject name after applying the naming strategy
    record_name: str | None  # fully-qualified record/message name, if declared or derivable
    references: tuple[SchemaReference, ...]
    location: Location


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectBinding(Resource):
    """Binds a topic to its key and value contracts in the registry."""

    topic: str
    key: SchemaRef | None
    value: SchemaRef | None
    naming_strategy: NamingStrategy
    compatibility: Compatibility

    def sides(self) -> Iterator[tuple[str, SchemaRef]]:
        """``("key", ref)`` and ``("value", ref)`` for the sides that are declared."""
        if self.key is not None:
            yield "key", self.key
        if self.value is not None:
            yield "value", self.value


@fast_init
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int
    backoff_ms: int
    max_backoff_ms: int | None
    topic: str | None  # retry topic, if retries go through a topic rather than in-process


@fast_init
@dataclass(frozen=True, slots=True)
class Production:
    """A service producing to a topic (service-level defaults already applied)."""

    topic: str
    partition_key: str | None  # field of the value record used as message key
    ordering_critical: bool
    traffic: TrafficKind
    delivery: DeliveryGuarantee
    location: Location


@fast_init
@dataclass(frozen=True, slots=True)
class Consumption:
    """A service consuming from a topic (service-level defaults already applied)."""

    topic: str
    group: str
    delivery: DeliveryGuarantee
    idempotency_key: str | None
    retry: RetryPolicy | None
    dead_letter_topic: str | None
    ordering_critical: bool
    tombstone_safe: bool  # the handler copes with null-value (delete) records
    location: Location


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Service(Resource):
    principal: str  # Kafka principal string, e.g. "User:order-service"
    principal_ref: str | None  # name of the Principal resource, if declared
    consumer_group: str | None
    delivery: DeliveryGuarantee
    traffic: TrafficKind
    transactional_id: str | None  # set for effectively-once producers
    produces: tuple[Production, ...]
    consumes: tuple[Consumption, ...]

    @property
    def produced_topics(self) -> tuple[str, ...]:
        return tuple(p.topic for p in self.produces)

    @property
    def consumed_topics(self) -> tuple[str, ...]:
        return tuple(c.topic for c in self.consumes)


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerGroup(Resource):
    service: str | None
    offset_reset: OffsetReset

    @property
    def group_id(self) -> str:
        return self.metadata.name


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Principal(Resource):
    principal: str  # "User:<name>" as the broker sees it
    type: PrincipalType
    mechanism: SaslMechanism


@fast_init
@dataclass(frozen=True, slots=True)
class AclEntry:
    """One Kafka ACL binding; ``derived`` ones were generated from a Service declaration."""

    principal: str  # "User:x" or "User:*"
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    operation: Operation
    permission: Permission
    host: str
    derived: bool
    origin: str  # "AccessPolicy/<name>" or "Service/<name>"
    location: Location

    @property
    def key(self) -> tuple[str, str, str, str, str, str, str]:
        """Identity as the broker sees it (no origin or location)."""
        return (
            self.principal,
            self.resource_type.value,
            self.resource_name,
            self.pattern_type.value,
            self.operation.value,
            self.permission.value,
            self.host,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessPolicy(Resource):
    principal: str  # Kafka principal string
    principal_ref: str | None  # Principal resource name, None for wildcards
    entries: tuple[AclEntry, ...]


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    producer_byte_rate: int | None = None
    consumer_byte_rate: int | None = None
    request_percentage: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota(Resource):
    """A client quota; ``user``/``client_id`` of ``"<default>"`` means Kafka's default entity."""

    user: str | None  # Kafka principal name without "User:", or "<default>"
    client_id: str | None
    limits: QuotaLimits


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """Tenant ``tenant`` may read topics matching ``topics`` (names or prefixes ending in '.' or '*')."""

    tenant: str
    topics: tuple[str, ...]
    location: Location

    def covers(self, topic: str) -> bool:
        return any(_pattern_matches(p, topic) for p in self.topics)


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    if pattern.endswith("."):
        return name.startswith(pattern)
    return name == pattern


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant(Resource):
    prefixes: tuple[str, ...]
    quota: QuotaLimits | None
    read_grants: tuple[ReadGrant, ...]  # grants this tenant gives to other tenants
    pii_policy: PiiPolicy
    topic_pattern: str | None = None  # regex every topic name of the tenant should match (lint)
    group_pattern: str | None = None  # regex for consumer group names

    def owns(self, name: str) -> bool:
        return any(name.startswith(p) for p in self.prefixes)


# --------------------------------------------------------------------------------------------------
# Workspace configuration (evtctl.yaml)


@dataclass(frozen=True, slots=True)
class Security:
    protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: SaslMechanism | None = None
    username_env: str | None = None  # names of environment variables, never secrets
    password_env: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    registry_username_env: str | None = None
    registry_password_env: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    name: str
    kind: str  # "local" (embedded reference broker) or "kafka"
    bootstrap_servers: tuple[str, ...]
    registry_url: str | None
    security: Security
    environment: str | None  # the environment overlay this context deploys
    location: Location


@dataclass(frozen=True, slots=True)
class ManagedScope:
    """What evtctl may delete: only resources inside this scope are ever removed by apply."""

    tenant_prefixes: tuple[str, ...] = ()
    include: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> glob patterns
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def covers(self, kind: str, name: str) -> bool:
        from fnmatch import fnmatchcase

        if any(fnmatchcase(name, p) for p in self.exclude.get(kind, ())):
            return False
        includes = self.include.get(kind)
        if includes is not None:
            return any(fnmatchcase(name, p) for p in includes)
        if self.tenant_prefixes:
            return any(name.startswith(p) for p in self.tenant_prefixes)
        return False  # nothing declared: nothing is deletable


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractDoc(Resource):
    """A ``Contract`` document; the contract itself is ``evtctl.contracts.model.Contract``."""

    contract: Contract


@dataclass(frozen=True, slots=True, kw_only=True)
class EventExamplesDoc(Resource):
    """An ``EventExamples`` document."""

    examples: EventExamples


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    path: Path  # the evtctl.yaml file
    name: str
    manifest_paths: tuple[Path, ...]  # absolute
    schema_paths: tuple[Path, ...]
    default_context: str
    contexts: Mapping[str, Context]
    environments: tuple[str, ...]
    lint: Mapping[str, Any]  # raw `lint:` section; the lint area interprets it
    lint_location: Location
    managed: ManagedScope
    state_dir: Path  # <root>/.evtctl

    def context(self, name: str | None = None) -> Context:
        return self.contexts[name or self.default_context]


# --------------------------------------------------------------------------------------------------
# The workspace


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path
    config: WorkspaceConfig
    environment: str | None
    variables: Mapping[str, Any]
    topics: tuple[Topic, ...]
    subjects: tuple[SubjectBinding, ...]
    services: tuple[Service, ...]
    consumer_groups: tuple[ConsumerGroup, ...]
    principals: tuple[Principal, ...]
    access_policies: tuple[AccessPolicy, ...]
    acls: tuple[AclEntry, ...]  # explicit (from AccessPolicy) and derived (from Service)
    quotas: tuple[Quota, ...]
    tenants: tuple[Tenant, ...]
    files: tuple[Path, ...]  # manifest files read
    contracts: tuple[Contract, ...] = ()
    event_examples: tuple[EventExamples, ...] = ()
    _index: Mapping[tuple[str, str], Resource] = field(default_factory=dict, compare=False, repr=False)
    # Texts of the bound schema files as validation read them: plan registers exactly these, and
    # does not read 2,000 files a second time.
    schema_texts: Mapping[Path, str] = field(default_factory=dict, compare=False, repr=False)

    def get(self, kind: Kind | str, name: str) -> Resource | None:
        return self._index.get((str(kind), name))

    def topic(self, name: str) -> Topic | None:
        found = self._index.get((Kind.TOPIC.value, name))
        return found if isinstance(found, Topic) else None

    def service(self, name: str) -> Service | None:
        found = self._index.get((Kind.SERVICE.value, name))
        return found if isinstance(found, Service) else None

    def principal(self, name: str) -> Principal | None:
        found = self._index.get((Kind.PRINCIPAL.value, name))
        return found if isinstance(found, Principal) else None

    def tenant(self, name: str) -> Tenant | None:
        found = self._index.get((Kind.TENANT.value, name))
        return found if isinstance(found, Tenant) else None

    def tenant_of(self, name: str) -> Tenant | None:
        """The tenant whose longest prefix matches a topic/group/transactional-id name."""
        best: Tenant | None = None
        best_len = -1
        for tenant in self.tenants:
            for prefix in tenant.prefixes:
                if name.startswith(prefix) and len(prefix) > best_len:
                    best, best_len = tenant, len(prefix)
        return best

    def bindings_for(self, topic: str) -> tuple[SubjectBinding, ...]:
        return tuple(b for b in self.subjects if b.topic == topic)

    def producers_of(self, topic: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if topic in s.produced_topics)

    def consumers_of(self, topic: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if topic in s.consumed_topics)

    def resources(self) -> Iterator[Resource]:
        yield from self.topics
        yield from self.subjects
        yield from self.services
        yield from self.consumer_groups
        yield from self.principals
        yield from self.access_policies
        yield from self.quotas
        yield from self.tenants
