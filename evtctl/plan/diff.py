"""The plan as a pure function: ``diff(desired, live, scopes, options) -> Plan``.

No I/O and no clock: the same inputs give the same, sorted plan. Risk classification lives here
(one function per kind) so each change carries its reason next to the values that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evtctl.kafka.topic_configs import TOPIC_CONFIGS
from evtctl.plan.model import Action, Change, FieldChange, Plan, PlanError, Risk, Withheld, worst
from evtctl.plan.scope import Scopes, is_internal_topic
from evtctl.plan.state import (
    KINDS,
    AclBindingState,
    ClusterState,
    ConsumerGroupState,
    QuotaState,
    Resource,
    SchemaVersion,
    ScramUserState,
    SubjectState,
    TopicState,
)

# (candidate, history oldest first, level) -> field-level reasons it is incompatible; [] when compatible.
CompatChecker = Callable[[SchemaVersion, Sequence[SchemaVersion], str], list[str]]

# Deleting these loses data or identity, so it needs --allow-delete (or a deletion policy) and
# counts toward --max-deletes. ACL and quota removals follow the manifests within scope.
GUARDED_DELETE_KINDS = frozenset({"topic", "subject", "user", "consumer-group"})

# Operations a cluster may lack (see evtctl.cluster.capabilities), named as the diff needs them.
OP_CREATE_PARTITIONS = "CreatePartitions"


@dataclass(frozen=True, slots=True)
class DiffOptions:
    allow_delete: bool = False
    max_deletes: int | None = None
    targets: frozenset[str] = frozenset()  # "kind/name" addresses; empty = everything
    unsupported_ops: frozenset[str] = frozenset()  # admin APIs the cluster does not advertise
    compat_checker: CompatChecker | None = None
    absent: frozenset[str] = frozenset()  # "kind/name" the manifests mark for deletion
    protected: frozenset[str] = frozenset()  # declared but not plannable: never deleted
    warnings: tuple[str, ...] = field(default=())


def recreate_recipe(name: str, partitions: int | None = None, replication: int | None = None) -> str:
    spec = []
    if partitions is not None:
        spec.append(f"partitions: {partitions}")
    if replication is not None:
        spec.append(f"replication: {replication}")
    return (
        f"declare a new topic (e.g. {name}.v2) with {', '.join(spec) or 'the new layout'}, copy the records "
        f"across (e.g. a consumer/producer bridge or MirrorMaker 2), move producers then consumers to it, "
        f"and only then remove {name}; evtctl never deletes and recreates a topic for you"
    )


def diff(
    desired: ClusterState, live: ClusterState, scopes: Scopes, options: DiffOptions = DiffOptions()
) -> Plan:
    changes: list[Change] = []
    errors: list[PlanError] = []
    withheld: list[Withheld] = []
    warnings = list(options.warnings)
    for kind in KINDS:
        if kind not in live.kinds:
            if desired.of_kind(kind):
                warnings.append(
                    f"{len(desired.of_kind(kind))} {kind} resource(s) in the manifests were not planned: "
                    f"this cluster cannot manage {kind}s"
                )
            continue
        want = desired.of_kind(kind)
        have = live.of_kind(kind)
        for key in sorted(want.keys() | have.keys()):
            address = f"{kind}/{key}"
            if options.targets and address not in options.targets:
                continue
            d, lv = want.get(key), have.get(key)
            if d is not None and lv is not None and _unchanged(d, lv) and address not in options.absent:
                continue  # the common case on a converged cluster, kept cheap
            if d is None and kind == "topic" and is_internal_topic(key):
                continue
            if d is not None and address in options.absent:
                d = None  # a manifest tombstone: delete it when it exists
                tombstone = True
            else:
                tombstone = False
            if d is not None:
                ch, errs = _change(kind, d, lv, live, options)
                if ch is not None:
                    changes.append(ch)
                errors.extend(errs)
            elif lv is not None:
                if address in options.protected:
                    continue
                if not tombstone and not _in_scope(scopes, kind, lv):
                    continue  # not ours: never a candidate, not even worth a mention
                if kind in GUARDED_DELETE_KINDS and not (
                    tombstone or options.allow_delete or scopes.for_kind(kind).deletion == "delete"
                ):
                    withheld.append(
                        Withheld(address, "not in the manifests; pass --allow-delete to delete it")
                    )
                    continue
                changes.append(_delete(kind, lv))
    deletes = [c for c in changes if c.action is Action.DELETE and c.kind in GUARDED_DELETE_KINDS]
    if options.max_deletes is not None and len(deletes) > options.max_deletes:
        errors.append(
            PlanError(
                "plan",
                f"{len(deletes)} deletions exceed --max-deletes {options.max_deletes}",
                tuple(c.address for c in deletes),
                risk=Risk.DATA_LOSS,
            )
        )
    changes.sort(key=lambda c: (KINDS.index(c.kind), c.name))
    errors.sort(key=lambda e: e.address)
    withheld.sort(key=lambda w: w.address)
    return Plan(tuple(changes), tuple(errors), tuple(withheld), tuple(warnings))


def _unchanged(d: Resource, lv: Resource) -> bool:
    if isinstance(d, TopicState) and isinstance(lv, TopicState):
        return (
            d.partitions == lv.partitions
            and d.configs == lv.configs
            and (d.replication is None or d.replication == lv.replication)
        )
    if isinstance(d, AclBindingState | ConsumerGroupState):
        return True
    if isinstance(d, QuotaState) and isinstance(lv, QuotaState):
        return d.values == lv.values
    if isinstance(d, ScramUserState) and isinstance(lv, ScramUserState):
        return d.iterations == lv.iterations
    return False


def _in_scope(scopes: Scopes, kind: str, res: Resource) -> bool:
    if isinstance(res, AclBindingState):
        # an ACL is ours when its principal or the resource it grants on is
        return scopes.manages(kind, res.principal) or scopes.manages(kind, res.resource_name)
    if isinstance(res, QuotaState):
        return any(n and scopes.manages(kind, n) for _, n in res.entity)
    if isinstance(res, ScramUserState):
        return scopes.manages(kind, res.name)
    return scopes.manages(kind, res.key)


def _delete(kind: str, lv: Resource) -> Change:
    risk, reason = {
        "topic": (Risk.DATA_LOSS, "deleting a topic deletes its records"),
        "subject": (Risk.DATA_LOSS, "deleting a subject deletes its schema versions"),
        "consumer-group": (Risk.DATA_LOSS, "deleting a group deletes its committed offsets"),
        "user": (Risk.NEEDS_APPROVAL, "clients authenticating as this user will be refused"),
        "acl": (Risk.NEEDS_APPROVAL, "removing an ACL revokes access from a running client"),
        "quota": (Risk.SAFE, "removing a quota lifts a limit"),
    }[kind]
    return Change(kind, lv.key, Action.DELETE, lv.to_json(), None, (), risk, (reason,))


def _change(
    kind: str, d: Resource, lv: Resource | None, live: ClusterState, options: DiffOptions
) -> tuple[Change | None, list[PlanError]]:
    if isinstance(d, TopicState):
        return _topic(d, lv if isinstance(lv, TopicState) else None, options)
    if isinstance(d, SubjectState):
        return _subject(d, lv if isinstance(lv, SubjectState) else None, live, options)
    if isinstance(d, ScramUserState):
        return _user(d, lv if isinstance(lv, ScramUserState) else None), []
    if isinstance(d, QuotaState):
        return _quota(d, lv if isinstance(lv, QuotaState) else None), []
    if isinstance(d, AclBindingState):
        # ACL bindings are identities: present or not, never updated
        if lv is None:
            return Change("acl", d.key, Action.CREATE, None, d.to_json(), location=d.location), []
        return None, []
    if isinstance(d, ConsumerGroupState):
        return None, []  # groups come into being when a member joins; only deletion is planned
    raise AssertionError(kind)


# ---- topics -------------------------------------------------------------------------------------


def _effective(name: str, configs: dict[str, str]) -> str | None:
    if name in configs:
        return configs[name]
    defn = TOPIC_CONFIGS.get(name)
    return defn.default if defn else None


def _retention(value: str | None) -> float:
    if value is None:
        return float("inf")
    number = int(value)
    return float("inf") if number < 0 else float(number)


def config_risk(name: str, before: str | None, after: str | None) -> tuple[Risk, str | None]:
    """Risk of changing one topic config from ``before`` to ``after`` (effective values)."""
    if name in ("retention.ms", "retention.bytes", "local.retention.ms", "local.retention.bytes"):
        if any(v is not None and int(v) < -1 for v in (before, after)):
            return Risk.SAFE, None  # tiered-storage sentinels (-2) follow retention.*
        if _retention(after) < _retention(before):
            return Risk.DATA_LOSS, f"{name} decreased: records older/larger than the new limit are deleted"
        return Risk.SAFE, None
    if name == "cleanup.policy":
        return (
            Risk.DATA_LOSS,
            "cleanup.policy changed: compaction drops superseded keys, deletion drops old segments",
        )
    return Risk.SAFE, None


def _topic(
    d: TopicState, lv: TopicState | None, options: DiffOptions
) -> tuple[Change | None, list[PlanError]]:
    address = f"topic/{d.name}"
    if lv is None:
        return Change("topic", d.name, Action.CREATE, None, d.to_json(), location=d.location), []
    fields: list[FieldChange] = []
    errors: list[PlanError] = []
    if d.partitions < lv.partitions:
        errors.append(
            PlanError(
                address,
                f"partition count cannot decrease ({lv.partitions} -> {d.partitions}): "
                "Kafka cannot remove partitions",
                recipe=recreate_recipe(d.name, partitions=d.partitions),
                location=d.location,
            )
        )
    elif d.partitions > lv.partitions:
        if OP_CREATE_PARTITIONS in options.unsupported_ops:
            errors.append(
                PlanError(
                    address,
                    f"partition increase ({lv.partitions} -> {d.partitions}) needs CreatePartitions, "
                    "which this cluster does not advertise",
                    recipe=recreate_recipe(d.name, partitions=d.partitions),
                    location=d.location,
                )
            )
        elif d.keyed:
            fields.append(
                FieldChange(
                    "partitions",
                    lv.partitions,
                    d.partitions,
                    Risk.NEEDS_APPROVAL,
                    "keyed topic: more partitions remap keys to partitions and break per-key ordering "
                    "across the change",
                )
            )
        else:
            fields.append(FieldChange("partitions", lv.partitions, d.partitions))
    if d.replication is not None and lv.replication is not None and d.replication != lv.replication:
        errors.append(
            PlanError(
                address,
                f"replication factor change ({lv.replication} -> {d.replication}) needs a partition "
                "reassignment, which evtctl does not perform",
                recipe="reassign replicas with kafka-reassign-partitions (or your provider's tooling), or "
                + recreate_recipe(d.name, replication=d.replication),
                location=d.location,
            )
        )
    want, have = d.config_map(), lv.config_map()
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) == have.get(name):
            continue
        before, after = _effective(name, have), _effective(name, want)
        if before == after:
            continue  # an override equal to the default: removing or adding it changes nothing
        risk, reason = config_risk(name, before, after)
        fields.append(FieldChange(f"config.{name}", have.get(name), want.get(name), risk, reason))
    if not fields:
        return None, errors
    risk = worst([f.risk for f in fields])
    reasons = tuple(f.reason for f in fields if f.reason)
    return Change(
        "topic", d.name, Action.UPDATE, lv.to_json(), d.to_json(), tuple(fields), risk, reasons, d.location
    ), errors


# ---- schema subjects ----------------------------------------------------------------------------

# What each level guarantees; a change that drops a guarantee loosens the level.
_GUARANTEES: dict[str, frozenset[str]] = {
    "NONE": frozenset(),
    "BACKWARD": frozenset({"backward"}),
    "BACKWARD_TRANSITIVE": frozenset({"backward", "backward-transitive"}),
    "FORWARD": frozenset({"forward"}),
    "FORWARD_TRANSITIVE": frozenset({"forward", "forward-transitive"}),
    "FULL": frozenset({"backward", "forward"}),
    "FULL_TRANSITIVE": frozenset({"backward", "forward", "backward-transitive", "forward-transitive"}),
}


def loosens(before: str, after: str) -> bool:
    return not _GUARANTEES.get(before.upper(), frozenset()) <= _GUARANTEES.get(after.upper(), frozenset())


def _subject(
    d: SubjectState, lv: SubjectState | None, live: ClusterState, options: DiffOptions
) -> tuple[Change | None, list[PlanError]]:
    address = f"subject/{d.name}"
    candidate = d.latest
    fields: list[FieldChange] = []
    errors: list[PlanError] = []
    history = lv.versions if lv else ()
    level = (d.compatibility or (lv.compatibility if lv else None) or live.registry_compatibility).upper()
    if candidate is not None:
        known = next((v for v in history if v.canonical == candidate.canonical), None)
        if known is None:
            if history and options.compat_checker is not None and level != "NONE":
                violations = options.compat_checker(candidate, history, level)
                if violations:
                    errors.append(
                        PlanError(
                            address,
                            f"the new schema is not {level} compatible with the registered versions",
                            tuple(violations),
                            recipe="make the change compatible (e.g. add fields with defaults), "
                            "or publish it under a new subject/topic",
                            location=d.location,
                        )
                    )
                    return None, errors
            latest = history[-1].version if history else None
            fields.append(FieldChange("schema", latest and f"version {latest}", "new version"))
    have_level = lv.compatibility if lv else None
    if d.compatibility is not None and d.compatibility.upper() != (have_level or "").upper():
        before_eff = (have_level or live.registry_compatibility).upper()
        if lv is not None and loosens(before_eff, d.compatibility):
            fields.append(
                FieldChange(
                    "compatibility",
                    have_level,
                    d.compatibility,
                    Risk.NEEDS_APPROVAL,
                    f"compatibility loosened ({before_eff} -> {d.compatibility.upper()}): the registry will "
                    "accept schema changes that existing readers or writers cannot handle",
                )
            )
        else:
            fields.append(FieldChange("compatibility", have_level, d.compatibility))
    if lv is None:
        return Change(
            "subject", d.name, Action.CREATE, None, d.to_json(), tuple(fields), location=d.location
        ), errors
    if not fields:
        return None, errors
    risk = worst([f.risk for f in fields])
    reasons = tuple(f.reason for f in fields if f.reason)
    before = {
        "name": lv.name,
        "compatibility": lv.compatibility,
        "latest_version": history[-1].version if history else None,
    }
    return Change(
        "subject", d.name, Action.UPDATE, before, d.to_json(), tuple(fields), risk, reasons, d.location
    ), errors


# ---- users and quotas ---------------------------------------------------------------------------


def _user(d: ScramUserState, lv: ScramUserState | None) -> Change | None:
    if lv is None:
        return Change("user", d.key, Action.CREATE, None, d.to_json(), location=d.location)
    if d.iterations != lv.iterations:
        fields = (FieldChange("iterations", lv.iterations, d.iterations),)
        return Change("user", d.key, Action.UPDATE, lv.to_json(), d.to_json(), fields, location=d.location)
    return None


def _quota(d: QuotaState, lv: QuotaState | None) -> Change | None:
    if lv is None:
        return Change("quota", d.key, Action.CREATE, None, d.to_json(), location=d.location)
    want, have = dict(d.values), dict(lv.values)
    fields = tuple(
        FieldChange(k, have.get(k), want.get(k))
        for k in sorted(want.keys() | have.keys())
        if want.get(k) != have.get(k)
    )
    if not fields:
        return None
    return Change("quota", d.key, Action.UPDATE, lv.to_json(), d.to_json(), fields, location=d.location)


def describe_value(value: Any) -> str:
    return "(default)" if value is None else str(value)
