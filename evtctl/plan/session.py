"""Connecting to a context, reading live state in parallel batched calls, planning, saved plans."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evtctl.cluster.capabilities import Capabilities, probe
from evtctl.cluster.connection import ClusterConfig, secret_from_env
from evtctl.cluster.kafka import KafkaBackend
from evtctl.cluster.registry import RegistryBackend
from evtctl.errors import BackendError, InputError, Location, UsageError
from evtctl.plan.desired import Desired
from evtctl.plan.diff import DiffOptions, diff
from evtctl.plan.model import PLAN_FORMAT_VERSION, Plan
from evtctl.plan.schemas import compat_checker
from evtctl.plan.scope import Scopes
from evtctl.plan.state import KINDS, ClusterState, Resource, SubjectState, fingerprint


def cluster_config(ws: Any, context: str | None) -> tuple[ClusterConfig, bool]:
    """The connection settings of a workspace context; (config, is_local). Starts the local broker."""
    name = context or ws.config.default_context
    try:
        ctx = ws.config.contexts[name]
    except KeyError:
        known = ", ".join(sorted(ws.config.contexts)) or "none"
        raise UsageError(
            f"unknown context {name!r} (known: {known})", help="pick one with --context"
        ) from None
    if ctx.kind == "local":
        try:
            daemon = importlib.import_module("evtctl.broker.daemon")
        except ImportError:
            daemon = None
        ensure_local_broker = getattr(daemon, "ensure_local_broker", None)
        if ensure_local_broker is None:
            raise BackendError(
                "the embedded reference broker is not available in this build",
                help="point a context of kind: kafka at a running cluster",
            )
        # ensure_local_broker starts the development broker with evtctl's anonymous client as a
        # super user, so topics keep being visible to plan once their ACLs are applied.
        endpoints = ensure_local_broker(Path(ws.config.state_dir))
        return ClusterConfig(endpoints.bootstrap, endpoints.registry_url), True
    sec = ctx.security
    loc: Location | None = getattr(ctx, "location", None)
    return (
        ClusterConfig(
            ",".join(ctx.bootstrap_servers),
            ctx.registry_url,
            security_protocol=sec.protocol,
            sasl_mechanism=str(sec.sasl_mechanism.value) if sec.sasl_mechanism else None,
            username=secret_from_env(sec.username_env, "the SASL username", location=loc),
            password=secret_from_env(sec.password_env, "the SASL password", location=loc),
            ca_file=str(sec.ca_file) if sec.ca_file else None,
            cert_file=str(sec.cert_file) if sec.cert_file else None,
            key_file=str(sec.key_file) if sec.key_file else None,
            registry_username=secret_from_env(
                sec.registry_username_env, "the registry username", location=loc
            ),
            registry_password=secret_from_env(
                sec.registry_password_env, "the registry password", location=loc
            ),
        ),
        False,
    )


@dataclass
class Target:
    """An open connection to one cluster (and its registry, when the context has one)."""

    config: ClusterConfig
    capabilities: Capabilities
    kafka: KafkaBackend
    registry: RegistryBackend | None
    local: bool = False

    @classmethod
    def open(cls, config: ClusterConfig, *, local: bool = False) -> Target:
        caps = probe(config)
        registry = RegistryBackend(config) if config.registry_url else None
        return cls(config, caps, KafkaBackend(config, caps), registry, local)

    def close(self) -> None:
        self.kafka.close()
        if self.registry is not None:
            self.registry.close()

    @property
    def round_trips(self) -> int:
        # +1: the ApiVersions probe
        return 1 + self.kafka.round_trips + (self.registry.round_trips if self.registry else 0)

    @property
    def level_reads(self) -> int:
        """Of ``round_trips``: the per-subject compatibility reads, issued concurrently."""
        return self.registry.level_reads if self.registry else 0

    def readable_kinds(self) -> frozenset[str]:
        kinds = set(self.capabilities.manageable_kinds())
        if self.registry is not None:
            kinds.add("subject")
        return frozenset(kinds)

    def start_reads(
        self,
        kinds: Iterable[str],
        *,
        with_offsets: bool = False,
        user_names: Iterable[str] = (),
        targets: Iterable[str] = (),
        wants_configs: Callable[[str], bool] | None = None,
        wants_level: Callable[[SubjectState], bool] | None = None,
        defer_errors: bool = False,
    ) -> LiveReads:
        """Start reading ``kinds`` (those this cluster supports), each kind on its own thread.

        ``targets`` ("kind/name") narrows topics and subjects to those names: a targeted plan reads
        only what it can change. ``wants_configs`` / ``wants_level`` pick the topics whose configs
        and the subjects whose compatibility levels are read (default all). ``defer_errors``: a topic
        whose configs cannot be described fails only once known to be needed (see :func:`_narrow`)."""
        wanted = [k for k in KINDS if k in set(kinds) & self.readable_kinds()]
        only: dict[str, set[str]] = {}
        for t in targets:
            kind, _, name = t.partition("/")
            only.setdefault(kind, set()).add(name)
        topics_only = only.get("topic") if only else None
        subjects_only = only.get("subject") if only else None
        names = tuple(user_names)
        registry = self.registry
        readers: dict[str, Callable[[], Any]] = {
            "topic": lambda: self.kafka.read_topics(topics_only, wants_configs, defer_errors=defer_errors),
            "acl": self.kafka.read_acls,
            "user": lambda: self.kafka.read_users(names),
            "quota": self.kafka.read_quotas,
            "consumer-group": lambda: self.kafka.read_groups(with_offsets),
        }
        if registry is not None:
            readers["subject"] = lambda: registry.read_subjects(subjects_only, wants_level)
        reads = LiveReads(tuple(wanted), tuple(sorted(targets)))
        for k in wanted:
            reads.start(k, readers[k])
        return reads

    def read_live(
        self,
        kinds: Iterable[str],
        *,
        with_offsets: bool = False,
        user_names: Iterable[str] = (),
        targets: Iterable[str] = (),
        wants_configs: Callable[[str], bool] | None = None,
        wants_level: Callable[[SubjectState], bool] | None = None,
    ) -> ClusterState:
        """Live state of ``kinds``, the kinds read in parallel (see :meth:`start_reads`)."""
        reads = self.start_reads(
            kinds,
            with_offsets=with_offsets,
            user_names=user_names,
            targets=targets,
            wants_configs=wants_configs,
            wants_level=wants_level,
        )
        return reads.collect(reads.kinds)


class LiveReads:
    """Live-state reads running on daemon threads, one per kind; :meth:`collect` waits for the kinds
    it is asked for, so a failed read of a kind nobody needs is never raised. Daemon threads: a
    process that fails before collecting (an invalid workspace) exits without waiting for them."""

    def __init__(self, kinds: tuple[str, ...], targets: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.targets = targets
        self._futures: dict[str, Future[Any]] = {}

    def start(self, kind: str, read: Callable[[], Any]) -> None:
        fut: Future[Any] = Future()

        def run() -> None:
            try:
                fut.set_result(read())
            except BaseException as err:  # handed to whoever collects this kind
                fut.set_exception(err)

        self._futures[kind] = fut
        threading.Thread(target=run, name=f"evtctl-read-{kind}", daemon=True).start()

    def done(self, kind: str, value: Any) -> None:
        """A kind read elsewhere (by the early-read process)."""
        fut: Future[Any] = Future()
        fut.set_result(value)
        self._futures[kind] = fut

    def adopt(self, kind: str, other: LiveReads) -> None:
        self._futures[kind] = other._futures[kind]

    def result(self, kind: str) -> Any:
        return self._futures[kind].result()

    def collect(self, kinds: Iterable[str]) -> ClusterState:
        wanted = [k for k in self.kinds if k in set(kinds)]
        tables: dict[str, Mapping[str, Resource]] = {}
        level = "BACKWARD"
        for k in wanted:
            if k == "subject":
                tables[k], level = self.result(k)
            else:
                tables[k] = self.result(k)  # each read returns its kind keyed as ClusterState keys it
        return ClusterState.of_tables(tables, kinds=wanted, registry_compatibility=level)


def kinds_to_read(desired: Desired, scopes: Scopes) -> set[str]:
    """Kinds the plan needs: declared in the manifests, or with a managed scope (deletions)."""
    return {k for k in KINDS if desired.state.of_kind(k) or scopes.for_kind(k).include}


def user_names(desired: Desired) -> set[str]:
    names = {u.name for u in desired.state.users.values()}
    return names | {key.split("/")[1] for key in desired.protected if key.startswith("user/")}


@dataclass
class PlanResult:
    plan: Plan
    live: ClusterState
    kinds: tuple[str, ...]
    options: DiffOptions = field(default_factory=DiffOptions)
    targets: tuple[str, ...] = ()
    config_topics: tuple[str, ...] | None = None  # topics whose configs were read; None: all
    level_subjects: tuple[str, ...] | None = None  # subjects whose levels were read; None: all

    @property
    def fingerprint(self) -> dict[str, str]:
        """Digests of the live state (computed only when a plan is saved)."""
        groups = {c.name for c in self.plan.changes if c.kind == "consumer-group"}
        return fingerprint(self.live, groups)


def make_plan(
    desired: Desired,
    target: Target,
    *,
    allow_delete: bool = False,
    max_deletes: int | None = None,
    targets: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
    early: LiveReads | None = None,
) -> PlanResult:
    """The plan of ``desired`` against the live state. ``early``: reads of every kind started before
    the workspace was loaded (:func:`start_early`); narrowed here exactly as a read made now would be."""
    targets = tuple(targets)
    if kinds is not None:
        wanted = set(kinds)
    elif targets:
        wanted = {t.partition("/")[0] for t in targets}
    else:
        wanted = kinds_to_read(desired, desired.scopes)
    scopes = desired.scopes

    def wants_configs(name: str) -> bool:
        # only declared topics can be updated; the others are at most deleted
        return name in desired.state.topics or scopes.manages("topic", name)

    def wants_level(live_subject: SubjectState) -> bool:
        # A level is one GET /config/{subject} each (no bulk form in the Confluent API): read it only
        # where the diff uses it: a declared subject (every declared subject has a level, BACKWARD by
        # default) or a managed subject that may be deleted (shown with its level).
        name = live_subject.name
        return name in desired.state.subjects or scopes.manages("subject", name)

    if early is not None and early.targets == tuple(sorted(targets)):
        live = _narrow(early.collect(wanted), target, user_names(desired), wants_configs, wants_level)
    else:
        live = target.read_live(
            wanted,
            user_names=user_names(desired),
            targets=targets,
            wants_configs=wants_configs,
            wants_level=wants_level,
        )
    warnings = list(desired.warnings)
    for k in sorted(wanted - set(live.kinds)):
        if k == "subject":
            if desired.state.subjects:
                warnings.append("subjects were not planned: the context has no schema registry URL")
        else:
            missing = ", ".join(target.capabilities.missing_for(k))
            warnings.append(f"this cluster cannot manage {k}s: it does not advertise {missing}")
    if target.capabilities.unsupported_ops() and desired.state.topics:
        for op in sorted(target.capabilities.unsupported_ops()):
            warnings.append(f"this cluster does not advertise {op}: partition increases cannot be applied")
    reference_texts: dict[tuple[str, int], str] = {}
    for s in live.subjects.values():
        for v in s.versions:
            reference_texts[(s.name, v.version)] = v.schema
        if s.versions:
            reference_texts[(s.name, -1)] = s.versions[-1].schema
    reference_texts.update(desired.reference_texts)
    options = DiffOptions(
        allow_delete=allow_delete,
        max_deletes=max_deletes,
        targets=frozenset(targets),
        unsupported_ops=target.capabilities.unsupported_ops(),
        compat_checker=compat_checker(reference_texts),
        absent=desired.absent,
        protected=desired.protected,
    )
    # kinds the cluster cannot manage were already explained above; the diff must not repeat that
    want_state = replace(desired.state)
    plan = diff(want_state, live, desired.scopes, options)
    plan = replace(
        plan,
        warnings=tuple(dict.fromkeys([*warnings, *(w for w in plan.warnings if "cannot manage" not in w)])),
    )
    described = tuple(sorted(n for n in live.topics if wants_configs(n)))
    config_topics = None if len(described) == len(live.topics) else described
    leveled = tuple(sorted(n for n, s in live.subjects.items() if wants_level(s)))
    level_subjects = None if len(leveled) == len(live.subjects) else leveled
    return PlanResult(plan, live, tuple(live.kinds), options, targets, config_topics, level_subjects)


def _narrow(
    live: ClusterState,
    target: Target,
    names: Iterable[str],
    wants_configs: Callable[[str], bool],
    wants_level: Callable[[SubjectState], bool],
) -> ClusterState:
    """A live state read before the desired state was known, as ``read_live`` with the plan's
    predicates would have read it: configs only of the topics the plan may update, levels only of
    the subjects it may change, declared SCRAM users asked for by name when describe-all was empty."""
    target.kafka.check_config_errors(n for n in live.topics if wants_configs(n))
    topics = {
        n: t if not t.configs or wants_configs(n) else replace(t, configs=()) for n, t in live.topics.items()
    }
    subjects = {
        n: s if s.compatibility is None or wants_level(s) else replace(s, compatibility=None)
        for n, s in live.subjects.items()
    }
    users = live.users
    wanted_users = sorted(set(names))
    if "user" in live.kinds and not users and wanted_users:
        users = target.kafka.read_users(wanted_users)
    return replace(live, topics=topics, subjects=subjects, users=users)


@dataclass(frozen=True)
class ConfigOnly:
    """What :func:`cluster_config` reads of a workspace: its config."""

    config: Any


# ---- saved plans --------------------------------------------------------------------------------


def save_plan(path: Path, result: PlanResult, *, context: str, workspace: str) -> None:
    data = result.plan.to_json()
    data["context"] = context
    data["workspace"] = workspace
    data["kinds"] = sorted(result.kinds)
    data["targets"] = list(result.targets)
    data["config_topics"] = None if result.config_topics is None else list(result.config_topics)
    data["level_subjects"] = None if result.level_subjects is None else list(result.level_subjects)
    data["live_fingerprint"] = result.fingerprint
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    context: str
    workspace: str
    kinds: tuple[str, ...]
    fingerprint: Mapping[str, str]
    targets: tuple[str, ...] = ()
    config_topics: frozenset[str] | None = None
    level_subjects: frozenset[str] | None = None

    def read_live(self, target: Target) -> ClusterState:
        """The live state read exactly as the plan read it, for the staleness check."""
        only, only_levels = self.config_topics, self.level_subjects
        return target.read_live(
            self.kinds,
            targets=self.targets,
            user_names={key.split("/")[1] for key in self.fingerprint if key.startswith("user/")},
            wants_configs=None if only is None else only.__contains__,
            wants_level=None if only_levels is None else lambda s: s.name in only_levels,
        )


def load_plan(path: Path) -> SavedPlan:
    loc = Location(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read the saved plan: {err.strerror}", location=loc) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"the saved plan is not JSON: {err}", location=loc) from None
    if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
        raise InputError(
            f"not an evtctl plan file (format_version {PLAN_FORMAT_VERSION} expected)",
            location=loc,
            help="create one with `evtctl plan --out plan.json`",
        )
    try:
        plan = Plan.from_json(data)
        return SavedPlan(
            plan,
            str(data["context"]),
            str(data.get("workspace", "")),
            tuple(data["kinds"]),
            {str(k): str(v) for k, v in data["live_fingerprint"].items()},
            tuple(str(t) for t in data.get("targets") or ()),
            None if data.get("config_topics") is None else frozenset(map(str, data["config_topics"])),
            None if data.get("level_subjects") is None else frozenset(map(str, data["level_subjects"])),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"the saved plan is damaged: {err!r}", location=loc) from None


def staleness(saved: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """What changed in the live state since a plan was saved, one line per resource."""
    out = []
    for key in sorted(saved.keys() | now.keys()):
        before, after = saved.get(key), now.get(key)
        if before == after:
            continue
        if before is None:
            out.append(f"{key} appeared")
        elif after is None:
            out.append(f"{key} disappeared")
        else:
            out.append(f"{key} changed")
    return out
