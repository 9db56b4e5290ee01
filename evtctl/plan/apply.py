"""Apply a Plan in dependency order, batched per step, reporting what was and was not applied.

Order: SCRAM users, topic creation, partition increases, topic configs, ACLs, quotas, schema
subjects in reference order, compatibility levels, then deletions (ACLs, quotas, subjects,
groups, topics, users). Each step is one batched admin call (subjects: one registration per
subject, in reference layers). A change whose earlier step failed is not attempted further, so a
re-run after fixing the cause converges: the next plan contains only what is still missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from evtctl.errors import EvtctlError
from evtctl.plan.model import Action, Change, Plan


class KafkaOps(Protocol):
    def create_topics(self, topics: Sequence[Mapping[str, Any]]) -> dict[str, str | None]: ...
    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, str | None]: ...
    def alter_topic_configs(
        self, changes: Mapping[str, Mapping[str, str | None]]
    ) -> dict[str, str | None]: ...
    def delete_topics(self, names: Sequence[str]) -> dict[str, str | None]: ...
    def create_acls(self, acls: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]: ...
    def delete_acls(self, acls: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]: ...
    def alter_users(
        self, upserts: Mapping[str, tuple[str, str, int, str]], deletes: Mapping[str, tuple[str, str]]
    ) -> dict[str, str | None]: ...
    def alter_quotas(
        self, quotas: Mapping[str, tuple[Any, Mapping[str, float | None]]]
    ) -> dict[str, str | None]: ...
    def delete_groups(self, ids: Sequence[str]) -> dict[str, str | None]: ...


class RegistryOps(Protocol):
    def register(
        self, subject: str, version: Mapping[str, Any], resolved_refs: Sequence[Mapping[str, Any]]
    ) -> int: ...
    def latest_version(self, subject: str) -> int | None: ...
    def set_compatibility(self, subject: str, level: str) -> None: ...
    def delete_subject(self, subject: str) -> None: ...


@dataclass
class ApplyReport:
    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address -> error
    not_attempted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": sorted(self.applied),
            "failed": dict(sorted(self.failed.items())),
            "not_attempted": sorted(self.not_attempted),
        }


REGISTRY_WORKERS = 8  # the registry API has no batch form: registrations run on a small pool

Progress = Callable[[str, int], None]  # (step description, changes completed in this step)


def _fields(change: Change) -> set[str]:
    return {f.field for f in change.fields}


def _has_config_fields(change: Change) -> bool:
    return any(f.startswith("config.") for f in _fields(change))


def reference_layers(changes: Sequence[Change]) -> list[list[Change]]:
    """Subjects grouped so every subject comes after the subjects (in this plan) it references."""
    by_name = {c.name: c for c in changes}
    deps: dict[str, set[str]] = {}
    for c in changes:
        refs: set[str] = set()
        for v in (c.after or {}).get("versions", ()):
            refs.update(r["subject"] for r in v.get("references", ()) if r["subject"] in by_name)
        deps[c.name] = refs - {c.name}
    layers: list[list[Change]] = []
    done: set[str] = set()
    while len(done) < len(deps):
        ready = sorted(n for n, d in deps.items() if n not in done and d <= done)
        if not ready:  # a reference cycle: register the rest in name order and let the registry judge
            ready = sorted(n for n in deps if n not in done)
        layers.append([by_name[n] for n in ready])
        done.update(ready)
    return layers


class Applier:
    def __init__(
        self,
        kafka: KafkaOps | None,
        registry: RegistryOps | None,
        *,
        env: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.kafka = kafka
        self.registry = registry
        self.env = os.environ if env is None else env
        self.progress = progress or (lambda _d, _n: None)
        self.report = ApplyReport()
        self._failed: set[str] = set()

    # Each step gets the changes it handles, calls the backend once, and records failures.
    def _record(
        self, results: Mapping[str, str | None], changes: Sequence[Change], keyof: Callable[[Change], str]
    ) -> None:
        for c in changes:
            err = results.get(keyof(c), "no result from the cluster")
            if err is not None:
                self._fail(c, err)

    def _fail(self, change: Change, err: str) -> None:
        self._failed.add(change.address)
        self.report.failed.setdefault(change.address, err)

    def _live(self, changes: Sequence[Change]) -> list[Change]:
        return [c for c in changes if c.address not in self._failed]

    def step_count(self, plan: Plan) -> int:
        """How many (change, step) pairs applying ``plan`` takes: the progress bar's total."""
        return sum(1 for c in plan.changes for _d, _r, wants in self._steps() if wants(c))

    def _steps(self) -> list[tuple[str, Callable[[list[Change]], None], Callable[[Change], bool]]]:
        return [
            ("users", self._users, lambda c: c.kind == "user" and c.action is not Action.DELETE),
            ("create topics", self._create_topics, lambda c: c.kind == "topic" and c.action is Action.CREATE),
            ("partitions", self._partitions, lambda c: c.kind == "topic" and "partitions" in _fields(c)),
            ("topic configs", self._configs, lambda c: c.kind == "topic" and _has_config_fields(c)),
            ("create ACLs", self._create_acls, lambda c: c.kind == "acl" and c.action is Action.CREATE),
            ("quotas", self._quotas, lambda c: c.kind == "quota" and c.action is not Action.DELETE),
            ("early compatibility", self._compat, self._compat_first),
            ("register schemas", self._register, self._needs_register),
            ("compatibility", self._compat, lambda c: self._compat_change(c) and not self._compat_first(c)),
            ("delete ACLs", self._delete_acls, lambda c: c.kind == "acl" and c.action is Action.DELETE),
            ("delete quotas", self._quotas, lambda c: c.kind == "quota" and c.action is Action.DELETE),
            (
                "delete subjects",
                self._delete_subjects,
                lambda c: c.kind == "subject" and c.action is Action.DELETE,
            ),
            (
                "delete groups",
                self._delete_groups,
                lambda c: c.kind == "consumer-group" and c.action is Action.DELETE,
            ),
            ("delete topics", self._delete_topics, lambda c: c.kind == "topic" and c.action is Action.DELETE),
            ("delete users", self._users, lambda c: c.kind == "user" and c.action is Action.DELETE),
        ]

    def run(self, plan: Plan) -> ApplyReport:
        changes = list(plan.changes)
        steps = self._steps()
        needed = {c.address: sum(1 for _d, _r, wants in steps if wants(c)) for c in changes}
        done = dict.fromkeys(needed, 0)
        batch: list[Change] = []
        try:
            for description, run, wants in steps:
                batch = self._live([c for c in changes if wants(c)])
                if not batch:
                    continue
                run(batch)
                for c in batch:
                    done[c.address] += 1
                self.progress(description, len(batch))
        except EvtctlError as err:  # the cluster went away: the step in flight failed, the rest waits
            for c in batch:
                self._fail(c, err.message)
        for c in changes:
            if c.address in self._failed:
                continue
            if done[c.address] == needed[c.address]:
                self.report.applied.append(c.address)
            else:
                self.report.not_attempted.append(c.address)
        return self.report

    # -- predicates ----------------------------------------------------------------------------

    @staticmethod
    def _needs_register(c: Change) -> bool:
        return c.kind == "subject" and (c.action is Action.CREATE or "schema" in _fields(c))

    @staticmethod
    def _compat_change(c: Change) -> bool:
        return c.kind == "subject" and "compatibility" in _fields(c)

    def _compat_first(self, c: Change) -> bool:
        # the plan checked the new schema against the new level, so that level must be in force first
        return self._compat_change(c) and self._needs_register(c)

    # -- steps ---------------------------------------------------------------------------------

    def _need_kafka(self) -> KafkaOps:
        if self.kafka is None:
            raise EvtctlError("no Kafka backend")
        return self.kafka

    def _need_registry(self) -> RegistryOps:
        if self.registry is None:
            raise EvtctlError("no schema registry configured for this context")
        return self.registry

    def _users(self, batch: list[Change]) -> None:
        upserts: dict[str, tuple[str, str, int, str]] = {}
        deletes: dict[str, tuple[str, str]] = {}
        for c in batch:
            data = c.after if c.action is not Action.DELETE else c.before
            assert data is not None
            if c.action is Action.DELETE:
                deletes[c.name] = (data["name"], data["mechanism"])
                continue
            var = data.get("password_env")
            password = self.env.get(var) if var else None
            if password is None:
                self._fail(c, f"the password variable {var} is not set")
                continue
            upserts[c.name] = (data["name"], data["mechanism"], int(data.get("iterations", 8192)), password)
        todo = [c for c in batch if c.name in upserts or c.name in deletes]
        self._record(self._need_kafka().alter_users(upserts, deletes), todo, lambda c: c.name)

    def _create_topics(self, batch: list[Change]) -> None:
        self._record(
            self._need_kafka().create_topics([c.after or {} for c in batch]), batch, lambda c: c.name
        )

    def _partitions(self, batch: list[Change]) -> None:
        counts = {c.name: int(next(f.after for f in c.fields if f.field == "partitions")) for c in batch}
        self._record(self._need_kafka().create_partitions(counts), batch, lambda c: c.name)

    def _configs(self, batch: list[Change]) -> None:
        changes = {
            c.name: {
                f.field.removeprefix("config."): f.after for f in c.fields if f.field.startswith("config.")
            }
            for c in batch
        }
        self._record(self._need_kafka().alter_topic_configs(changes), batch, lambda c: c.name)

    def _create_acls(self, batch: list[Change]) -> None:
        self._record(
            self._need_kafka().create_acls({c.name: c.after or {} for c in batch}), batch, lambda c: c.name
        )

    def _delete_acls(self, batch: list[Change]) -> None:
        self._record(
            self._need_kafka().delete_acls({c.name: c.before or {} for c in batch}), batch, lambda c: c.name
        )

    def _quotas(self, batch: list[Change]) -> None:
        req: dict[str, tuple[Any, Mapping[str, float | None]]] = {}
        for c in batch:
            before = dict((c.before or {}).get("values", {}))
            after = dict((c.after or {}).get("values", {}))
            entity = (c.after or c.before or {}).get("entity", {})
            ops: dict[str, float | None] = {k: None for k in before if k not in after}
            ops.update({k: float(v) for k, v in after.items()})
            req[c.name] = (sorted(entity.items()), ops)
        self._record(self._need_kafka().alter_quotas(req), batch, lambda c: c.name)

    def _register_one(self, registry: RegistryOps, c: Change) -> None:
        versions = (c.after or {}).get("versions") or []
        if not versions:
            return
        version = versions[-1]
        try:
            refs = []
            for r in version.get("references", ()):
                number = int(r["version"])
                if number < 0:
                    latest = registry.latest_version(r["subject"])
                    if latest is None:
                        raise EvtctlError(f"referenced subject {r['subject']} has no registered version")
                    number = latest
                refs.append({"name": r["name"], "subject": r["subject"], "version": number})
            registry.register(c.name, version, refs)
        except EvtctlError as err:
            self._fail(c, err.message)

    def _register(self, batch: list[Change]) -> None:
        registry = self._need_registry()
        # one layer at a time (references first); the subjects of a layer in parallel
        with ThreadPoolExecutor(REGISTRY_WORKERS) as pool:
            for layer in reference_layers(batch):
                todo = [c for c in layer if c.address not in self._failed]
                list(pool.map(lambda c: self._register_one(registry, c), todo))

    def _compat(self, batch: list[Change]) -> None:
        registry = self._need_registry()

        def one(c: Change) -> None:
            level = next(f.after for f in c.fields if f.field == "compatibility")
            try:
                registry.set_compatibility(c.name, str(level))
            except EvtctlError as err:
                self._fail(c, err.message)

        with ThreadPoolExecutor(REGISTRY_WORKERS) as pool:
            list(pool.map(one, batch))

    def _delete_subjects(self, batch: list[Change]) -> None:
        registry = self._need_registry()
        for c in batch:
            try:
                registry.delete_subject(c.name)
            except EvtctlError as err:
                self._fail(c, err.message)

    def _delete_groups(self, batch: list[Change]) -> None:
        self._record(self._need_kafka().delete_groups([c.name for c in batch]), batch, lambda c: c.name)

    def _delete_topics(self, batch: list[Change]) -> None:
        self._record(self._need_kafka().delete_topics([c.name for c in batch]), batch, lambda c: c.name)
