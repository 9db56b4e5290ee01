"""The workspace model (evtctl.manifest.model) as desired state, plus the scopes it manages."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.errors import InputError, Location
from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigValueError, normalize
from evtctl.plan.schemas import canonical
from evtctl.plan.scope import KindScope, Scopes
from evtctl.plan.state import (
    AclBindingState,
    ClusterState,
    ConsumerGroupState,
    QuotaState,
    Resource,
    SchemaRef,
    SchemaVersion,
    ScramUserState,
    SubjectState,
    TopicState,
)

# A manifest annotation that turns a declared resource into a tombstone: plan deletes it.
STATE_ANNOTATION = "evtctl.io/state"
SCRAM_ITERATIONS = 8192

# Our kinds and the manifest kinds whose managed include/exclude patterns apply to them.
MANIFEST_KIND = {
    "topic": "Topic",
    "subject": "Subject",
    "acl": "AccessPolicy",
    "quota": "Quota",
    "user": "Principal",
    "consumer-group": "ConsumerGroup",
}


def scram_password_env(user: str) -> str:
    """The environment variable holding a SCRAM user's password (secrets never live in manifests)."""
    return "EVTCTL_SCRAM_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", user).upper()


@dataclass(frozen=True, slots=True)
class Desired:
    state: ClusterState
    scopes: Scopes
    absent: frozenset[str] = frozenset()  # "kind/name" addresses the manifests mark for deletion
    protected: frozenset[str] = frozenset()  # declared but not plannable (e.g. no password): never deleted
    warnings: tuple[str, ...] = ()
    reference_texts: Mapping[tuple[str, int], str] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)  # a workspace repeats the same few (name, value) pairs
def _config(name: str, value: str) -> str:
    if name not in TOPIC_CONFIGS:
        return value
    try:
        return normalize(name, value)
    except ConfigValueError:
        return value


_TEXT: dict[Any, str] = {}


def _text(value: Any) -> str:
    """An enum member's value (or a plain string) as text. Memoized: Enum.value is a slow property
    and a large workspace asks it 80,000 times (four per ACL)."""
    try:
        return _TEXT[value]
    except KeyError:
        text = _TEXT[value] = str(getattr(value, "value", value))
        return text


@functools.lru_cache(maxsize=4096)  # topics of one workspace share a few config sets
def _configs(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _config(k, v)) for k, v in items))


def _read(path: Path, location: Location | None, known: Mapping[Path, str]) -> str:
    text = known.get(path)
    if text is not None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read schema file {path}: {err}", location=location) from None


def _scopes(ws: Any) -> Scopes:
    managed = getattr(ws.config, "managed", None)
    if managed is None:
        return Scopes()
    prefixes = tuple(getattr(managed, "tenant_prefixes", ()) or ())
    include: Mapping[str, tuple[str, ...]] = getattr(managed, "include", {}) or {}
    exclude: Mapping[str, tuple[str, ...]] = getattr(managed, "exclude", {}) or {}
    kinds = {}
    for kind, manifest_kind in MANIFEST_KIND.items():
        inc = include.get(manifest_kind)
        if inc is None:
            # tenant prefixes own names; ACLs and users are owned through the principal's name
            inc = tuple(f"{p}*" for p in prefixes)
            if kind == "acl":
                inc += tuple(f"User:{p}*" for p in prefixes)
        kinds[kind] = KindScope(tuple(inc), tuple(exclude.get(manifest_kind, ())))
    return Scopes(kinds)


def _absent(res: Any) -> bool:
    annotations = getattr(getattr(res, "metadata", None), "annotations", {}) or {}
    return str(annotations.get(STATE_ANNOTATION, "")).lower() == "absent"


def desired_state(
    ws: Any, *, env: Mapping[str, str] | None = None, clamp_replication: int | None = None
) -> Desired:
    """Convert a loaded Workspace. ``clamp_replication`` caps replication (single-node local broker)."""
    environ = os.environ if env is None else env
    resources: list[Resource] = []
    absent: set[str] = set()
    protected: set[str] = set()
    warnings: list[str] = []
    reference_texts: dict[tuple[str, int], str] = {}
    known: Mapping[Path, str] = getattr(ws, "schema_texts", {})

    keyed_topics: set[str] = set()
    for binding in ws.subjects:
        if binding.key is not None:
            keyed_topics.add(binding.topic)
    for service in ws.services:
        for p in service.produces:
            if p.partition_key:
                keyed_topics.add(p.topic)

    for t in ws.topics:
        replication = t.replication_factor
        if clamp_replication is not None and replication is not None:
            replication = min(replication, clamp_replication)
        configs = _configs(tuple(t.configs.items()))
        resources.append(
            TopicState(
                t.name, t.partitions, replication, configs, t.name in keyed_topics, location=t.location
            )
        )
        if _absent(t):
            absent.add(f"topic/{t.name}")

    subjects: dict[str, SubjectState] = {}
    pending_refs: list[tuple[Any, str]] = []
    for binding in ws.subjects:
        for _side, ref in binding.sides():
            fmt = str(getattr(ref.format, "value", ref.format))
            text = _read(Path(ref.file), ref.location, known)
            refs = tuple(
                SchemaRef(r.name, r.subject, -1 if r.version is None else int(r.version))
                for r in ref.references
            )
            version = SchemaVersion(0, fmt, text, canonical(fmt, text), refs)
            level = getattr(binding.compatibility, "value", binding.compatibility)
            subjects[ref.subject] = SubjectState(
                ref.subject, (version,), level, origin=str(ref.file), location=ref.location
            )
            reference_texts[(ref.subject, -1)] = text
            pending_refs.extend((r, fmt) for r in ref.references)
            if _absent(binding):
                absent.add(f"subject/{ref.subject}")
    # referenced schemas with a local file and no binding of their own are registered too
    for r, fmt in pending_refs:
        if r.subject in subjects or r.file is None:
            continue
        text = _read(Path(r.file), r.location, known)
        subjects[r.subject] = SubjectState(
            r.subject,
            (SchemaVersion(0, fmt, text, canonical(fmt, text)),),
            None,
            origin=str(r.file),
            location=r.location,
        )
        reference_texts[(r.subject, -1)] = text
    resources.extend(subjects.values())

    for a in ws.acls:
        resources.append(
            AclBindingState(
                a.principal,
                _text(a.resource_type),
                a.resource_name,
                _text(a.pattern_type),
                _text(a.operation),
                _text(a.permission),
                a.host or "*",
                location=a.location,
            )
        )

    for q in ws.quotas:
        entity: list[tuple[str, str]] = []
        if q.user is not None:
            entity.append(("user", "" if q.user == "<default>" else q.user))
        if q.client_id is not None:
            entity.append(("client-id", "" if q.client_id == "<default>" else q.client_id))
        values = []
        limits = q.limits
        for key in ("producer_byte_rate", "consumer_byte_rate", "request_percentage"):
            value = getattr(limits, key, None)
            if value is not None:
                values.append((key, float(value)))
        resources.append(QuotaState(tuple(sorted(entity)), tuple(sorted(values)), location=q.location))

    for p in ws.principals:
        mechanism = str(getattr(p.mechanism, "value", p.mechanism))
        if not mechanism.startswith("SCRAM-"):
            continue
        user = p.principal.split(":", 1)[1] if ":" in p.principal else p.principal
        var = scram_password_env(user)
        user_state = ScramUserState(user, mechanism, SCRAM_ITERATIONS, var, location=p.location)
        if _absent(p):
            absent.add(f"user/{user_state.key}")
            resources.append(user_state)
        elif var in environ:
            resources.append(user_state)
        else:
            protected.add(f"user/{user_state.key}")
            warnings.append(f"SCRAM user {user} ({mechanism}) is not managed: set {var} to its password")

    group_ids = {g.group_id: g for g in ws.consumer_groups}
    for gid, g in sorted(group_ids.items()):
        resources.append(ConsumerGroupState(gid, location=g.location))
        if _absent(g):
            absent.add(f"consumer-group/{gid}")
    for service in ws.services:
        for gid in {service.consumer_group, *(c.group for c in service.consumes)}:
            if gid and gid not in group_ids:
                group_ids[gid] = None
                resources.append(ConsumerGroupState(gid, location=service.location))

    return Desired(
        ClusterState.build(resources),
        _scopes(ws),
        frozenset(absent),
        frozenset(protected),
        tuple(warnings),
        reference_texts,
    )
