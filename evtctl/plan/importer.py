"""`evtctl import`: manifests from a live cluster, so an existing cluster can be adopted.

Topic configs are the per-topic overrides only, minus any equal to Kafka's default. A principal
whose ACLs are exactly what a Service declaration derives (WRITE+DESCRIBE on produced topics,
READ+DESCRIBE on consumed topics and on one group) becomes a Service; every other ACL lands in an
AccessPolicy per principal, rules grouped by resource.
"""

from __future__ import annotations

import fnmatch
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from evtctl.errors import UsageError
from evtctl.kafka.topic_configs import TOPIC_CONFIGS
from evtctl.plan.state import AclBindingState, ClusterState

API = "evtctl/v1"
_EXT = {"AVRO": ".avsc", "PROTOBUF": ".proto", "JSON": ".json"}
_QUOTA_KEYS = {
    "producer_byte_rate": "producerByteRate",
    "consumer_byte_rate": "consumerByteRate",
    "request_percentage": "requestPercentage",
}


def _doc(kind: str, name: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": API, "kind": kind, "metadata": {"name": name}}
    if spec is not None:
        doc["spec"] = spec
    return doc


def _number(value: str) -> int | str:
    return int(value) if value.lstrip("-").isdigit() else value


def _service_like(a: AclBindingState) -> bool:
    return (
        a.permission == "ALLOW"
        and a.pattern_type == "LITERAL"
        and a.host == "*"
        and a.resource_type in ("TOPIC", "GROUP")
        and a.operation in ("READ", "WRITE", "DESCRIBE")
    )


def _service_shape(acls: list[AclBindingState]) -> dict[str, Any] | None:
    """The Service spec that derives exactly these ACLs, or None when they do not fit one."""
    topics: dict[str, set[str]] = defaultdict(set)
    groups: dict[str, set[str]] = defaultdict(set)
    for a in acls:
        if a.permission != "ALLOW" or a.pattern_type != "LITERAL" or a.host != "*":
            return None
        if a.resource_type == "TOPIC":
            topics[a.resource_name].add(a.operation)
        elif a.resource_type == "GROUP":
            groups[a.resource_name].add(a.operation)
        else:
            return None
    produces, consumes = [], []
    for topic, ops in sorted(topics.items()):
        if ops == {"WRITE", "DESCRIBE"}:
            produces.append(topic)
        elif ops == {"READ", "DESCRIBE"}:
            consumes.append(topic)
        elif ops == {"READ", "WRITE", "DESCRIBE"}:
            produces.append(topic)
            consumes.append(topic)
        else:
            return None
    if any(ops != {"READ", "DESCRIBE"} for ops in groups.values()) or len(groups) > 1:
        return None
    if bool(consumes) != bool(groups):
        return None
    spec: dict[str, Any] = {}
    if groups:
        spec["consumerGroup"] = next(iter(groups))
    if produces:
        spec["produces"] = produces
    if consumes:
        spec["consumes"] = consumes
    return spec


def _policy_rules(acls: list[AclBindingState]) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    for a in acls:
        grouped[(a.resource_type, a.resource_name, a.pattern_type, a.permission, a.host)].append(a.operation)
    rules = []
    for (rtype, name, pattern, permission, host), ops in sorted(grouped.items()):
        rule: dict[str, Any] = {"resourceType": rtype, "name": name, "operations": sorted(ops)}
        if pattern != "LITERAL":
            rule["patternType"] = pattern
        if permission != "ALLOW":
            rule["permission"] = permission
        if host != "*":
            rule["host"] = host
        rules.append(rule)
    return rules


def import_cluster(
    live: ClusterState,
    out: Path,
    *,
    include: Iterable[str] = (),
    force: bool = False,
    root: Path | None = None,
) -> list[Path]:
    """Write manifests (and schema files) for ``live`` under ``out``; returns the files written."""
    patterns = tuple(include)

    def wanted(name: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    schema_files: dict[Path, str] = {}

    for t in sorted(live.topics.values(), key=lambda t: t.name):
        if not wanted(t.name):
            continue
        spec: dict[str, Any] = {"partitions": t.partitions}
        if t.replication:
            spec["replicationFactor"] = t.replication
        configs = {
            k: _number(v) for k, v in t.configs if k not in TOPIC_CONFIGS or TOPIC_CONFIGS[k].default != v
        }
        if configs:
            spec["configs"] = configs
        files["topics.yaml"].append(_doc("Topic", t.name, spec))

    by_principal: dict[str, list[AclBindingState]] = defaultdict(list)
    for a in live.acls.values():
        by_principal[a.principal].append(a)
    users = {u.name: u for u in live.users.values()}
    principals: dict[str, str] = {}  # principal string -> Principal resource name
    for principal in sorted(by_principal.keys() | {f"User:{u}" for u in users}):
        if principal in ("User:*", "*"):
            continue
        name = principal.split(":", 1)[1]
        if not wanted(name):
            continue
        spec = {}
        if name in users:
            spec["mechanism"] = users[name].mechanism
        files["principals.yaml"].append(_doc("Principal", name, spec or None))
        principals[principal] = name
    service_groups: set[str] = set()
    for principal, acls in sorted(by_principal.items()):
        if principal not in principals and principal not in ("User:*", "*"):
            continue
        ref = principals.get(principal, principal)
        # the part a Service declaration would derive becomes a Service; the rest an AccessPolicy
        fits = [a for a in acls if _service_like(a)]
        shape = _service_shape(fits) if principal in principals and fits else None
        rest = [a for a in acls if a not in fits] if shape is not None else acls
        if shape is not None:
            shape = {"principal": ref, **shape}
            if "consumerGroup" in shape:
                service_groups.add(shape["consumerGroup"])
            files["services.yaml"].append(_doc("Service", ref, shape))
        if rest:
            name = ref.replace("*", "everyone")
            policy = {"principal": ref, "rules": _policy_rules(rest)}
            files["access-policies.yaml"].append(_doc("AccessPolicy", name, policy))

    for g in sorted(live.groups.values(), key=lambda g: g.group_id):
        if wanted(g.group_id) and g.group_id not in service_groups:
            files["consumer-groups.yaml"].append(_doc("ConsumerGroup", g.group_id, None))

    for q in sorted(live.quotas.values(), key=lambda q: q.key):
        spec = {}
        for etype, ename in q.entity:
            spec["user" if etype == "user" else "clientId"] = ename or "<default>"
        for key, value in q.values:
            if key in _QUOTA_KEYS:
                spec[_QUOTA_KEYS[key]] = int(value) if key != "request_percentage" else value
        name = "-".join(n or "default" for _t, n in q.entity) or "default"
        files["quotas.yaml"].append(_doc("Quota", f"quota-{name}", spec))

    base = root or out
    for s in sorted(live.subjects.values(), key=lambda s: s.name):
        latest = s.latest
        if latest is None or not wanted(s.name):
            continue
        side = "key" if s.name.endswith("-key") else "value" if s.name.endswith("-value") else None
        topic = s.name.rsplit("-", 1)[0] if side else None
        if side is None or topic not in live.topics:
            continue  # not bound to a topic by TopicNameStrategy: nothing to declare it with
        path = out / "schemas" / f"{s.name}{_EXT.get(latest.schema_type, '.txt')}"
        schema_files[path] = latest.schema
        side_spec: dict[str, Any] = {"schema": os.path.relpath(path, base)}
        if latest.schema_type != "AVRO":
            side_spec["format"] = latest.schema_type
        if latest.references:
            side_spec["references"] = [
                {"name": r.name, "subject": r.subject, "version": r.version} for r in latest.references
            ]
        spec = {"topic": topic, side: side_spec}
        if s.compatibility:
            spec["compatibility"] = s.compatibility
        files["subjects.yaml"].append(_doc("Subject", s.name, spec))

    targets = [out / name for name in files] + list(schema_files)
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise UsageError(f"{existing[0]} exists", help="pass --force to overwrite, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, docs in sorted(files.items()):
        path = out / name
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False), encoding="utf-8")
        written.append(path)
    for path, text in sorted(schema_files.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
