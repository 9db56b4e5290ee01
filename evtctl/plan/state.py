"""Desired and live state: the typed, hashable records that plan compares.

Both sides use the same types so the diff is a plain comparison. Values are already normalized
(topic configs through the catalog in :mod:`evtctl.kafka.topic_configs`, schemas to a canonical
text) before they reach these records, which is what keeps broker defaults, synonyms and unit
spellings out of the plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evtctl.errors import Location
from evtctl.records import fast_init

# Resource kinds, in apply order (principals and users first, compatibility levels last).
KINDS: tuple[str, ...] = ("user", "topic", "acl", "quota", "subject", "consumer-group")

Pairs = tuple[tuple[str, str], ...]


def freeze_map(values: Mapping[str, str]) -> Pairs:
    return tuple(sorted(values.items()))


@fast_init
@dataclass(frozen=True, slots=True)
class TopicState:
    name: str
    partitions: int
    replication: int | None = None  # None: the cluster's default (desired side only)
    configs: Pairs = ()  # dynamic topic-level overrides only, normalized, sorted
    keyed: bool = False  # desired side: records carry a key, so partition count changes key mapping
    deletion_policy: str | None = None  # "delete" lets plan remove it without --allow-delete
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.name

    def config_map(self) -> dict[str, str]:
        return dict(self.configs)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": self.partitions,
            "replication": self.replication,
            "configs": dict(self.configs),
        }


@fast_init
@dataclass(frozen=True, slots=True)
class AclBindingState:
    principal: str  # "User:alice"
    resource_type: str  # TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER
    resource_name: str
    pattern_type: str  # LITERAL, PREFIXED
    operation: str  # READ, WRITE, ... ALL
    permission: str  # ALLOW, DENY
    host: str = "*"
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        pattern = "" if self.pattern_type == "LITERAL" else f"({self.pattern_type.lower()})"
        return (
            f"{self.principal} {self.permission} {self.operation} "
            f"{self.resource_type.lower()}:{self.resource_name}{pattern} @{self.host}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "resource_type": self.resource_type,
            "resource_name": self.resource_name,
            "pattern_type": self.pattern_type,
            "operation": self.operation,
            "permission": self.permission,
            "host": self.host,
        }


@fast_init
@dataclass(frozen=True, slots=True)
class QuotaState:
    entity: Pairs  # (("client-id", "x"), ("user", "alice")); a "" name is the default entity
    values: tuple[tuple[str, float], ...]
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return ",".join(f"{t}={n or '<default>'}" for t, n in self.entity)

    def to_json(self) -> dict[str, Any]:
        return {"entity": dict(self.entity), "values": dict(self.values)}


@fast_init
@dataclass(frozen=True, slots=True)
class ScramUserState:
    name: str
    mechanism: str  # SCRAM-SHA-256 | SCRAM-SHA-512
    iterations: int = 4096
    password_env: str | None = None  # desired side only: the variable holding the password
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.name}/{self.mechanism}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "mechanism": self.mechanism, "iterations": self.iterations}
        if self.password_env:
            out["password_env"] = self.password_env
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class SchemaRef:
    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@fast_init
@dataclass(frozen=True, slots=True)
class SchemaVersion:
    version: int
    schema_type: str  # AVRO | PROTOBUF | JSON
    schema: str  # the text as the registry holds it (live) or as the workspace declares it (desired)
    canonical: str  # normalized text: equal canonical == same schema
    references: tuple[SchemaRef, ...] = ()
    schema_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "schema_type": self.schema_type,
            "schema": self.schema,
            "references": [r.to_json() for r in self.references],
            "id": self.schema_id,
        }


@fast_init
@dataclass(frozen=True, slots=True)
class SubjectState:
    name: str
    versions: tuple[SchemaVersion, ...]  # live: all versions oldest first; desired: exactly one
    compatibility: str | None = None  # subject-level override; None = the registry's global level
    deletion_policy: str | None = None
    origin: str | None = None  # desired side: the schema file, for error locations
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.name

    @property
    def latest(self) -> SchemaVersion | None:
        return self.versions[-1] if self.versions else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "compatibility": self.compatibility,
            "versions": [v.to_json() for v in self.versions],
        }


@fast_init
@dataclass(frozen=True, slots=True)
class ConsumerGroupState:
    group_id: str
    offsets: tuple[tuple[str, int, int], ...] = ()  # (topic, partition, committed offset)
    state: str | None = None
    deletion_policy: str | None = None
    location: Location | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.group_id

    def to_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "state": self.state,
            "offsets": [list(o) for o in self.offsets],
        }


Resource = TopicState | AclBindingState | QuotaState | ScramUserState | SubjectState | ConsumerGroupState


@dataclass(frozen=True, slots=True)
class ClusterState:
    """Everything of one side (desired or live), indexed by kind then key."""

    topics: Mapping[str, TopicState] = field(default_factory=dict)
    acls: Mapping[str, AclBindingState] = field(default_factory=dict)
    quotas: Mapping[str, QuotaState] = field(default_factory=dict)
    users: Mapping[str, ScramUserState] = field(default_factory=dict)
    subjects: Mapping[str, SubjectState] = field(default_factory=dict)
    groups: Mapping[str, ConsumerGroupState] = field(default_factory=dict)
    # kinds this side knows about; live state omits kinds the cluster could not report
    kinds: frozenset[str] = frozenset(KINDS)
    registry_compatibility: str = "BACKWARD"  # the registry's global level (live side)

    def of_kind(self, kind: str) -> Mapping[str, Resource]:
        table: dict[str, Mapping[str, Any]] = {
            "topic": self.topics,
            "acl": self.acls,
            "quota": self.quotas,
            "user": self.users,
            "subject": self.subjects,
            "consumer-group": self.groups,
        }
        return table[kind]

    @classmethod
    def build(
        cls,
        resources: Iterable[Resource],
        *,
        kinds: Iterable[str] = KINDS,
        registry_compatibility: str = "BACKWARD",
    ) -> ClusterState:
        by: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
        for r in resources:
            by[kind_of(r)][r.key] = r
        return cls.of_tables(by, kinds=kinds, registry_compatibility=registry_compatibility)

    @classmethod
    def of_tables(
        cls,
        tables: Mapping[str, Mapping[str, Any]],
        *,
        kinds: Iterable[str] = KINDS,
        registry_compatibility: str = "BACKWARD",
    ) -> ClusterState:
        """From resources already indexed by kind, then key (as the cluster reads return them)."""
        return cls(
            topics=tables.get("topic", {}),
            acls=tables.get("acl", {}),
            quotas=tables.get("quota", {}),
            users=tables.get("user", {}),
            subjects=tables.get("subject", {}),
            groups=tables.get("consumer-group", {}),
            kinds=frozenset(kinds),
            registry_compatibility=registry_compatibility,
        )


def kind_of(resource: Resource) -> str:
    return _KIND_OF.get(type(resource), "consumer-group")


def digest(resource: Resource) -> str:
    """A short stable digest of a live resource, for saved-plan staleness checks."""
    data = resource.to_json()
    if isinstance(resource, ConsumerGroupState):
        data = {"group_id": resource.group_id}  # offsets move all the time; they do not make a plan stale
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(live: ClusterState, groups: Collection[str] = ()) -> dict[str, str]:
    """Per-resource digests of the live state a plan was computed against ("kind/key" -> digest).

    Consumer groups come and go with their members, so only ``groups`` (those the plan touches)
    are part of it."""
    out: dict[str, str] = {}
    for kind in sorted(live.kinds):
        for key, res in live.of_kind(kind).items():
            if kind == "consumer-group" and key not in groups:
                continue
            out[f"{kind}/{key}"] = digest(res)
    if "subject" in live.kinds:
        out["registry/global-compatibility"] = live.registry_compatibility
    return out


_KIND_OF: dict[type, str] = {
    TopicState: "topic",
    AclBindingState: "acl",
    QuotaState: "quota",
    ScramUserState: "user",
    SubjectState: "subject",
    ConsumerGroupState: "consumer-group",
}
