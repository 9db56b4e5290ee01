"""Reading the cluster while the manifests load.

The live state depends only on ``evtctl.yaml`` (the context), the desired state on the manifests. So
`evtctl plan` reads ``evtctl.yaml`` alone, connects and starts reading every kind, and loads the
manifests meanwhile; afterwards ``make_plan(early=...)`` narrows the early read exactly as a read
made then would be (evtctl.plan.session._narrow).

Where the process can fork (evtctl.forking: Linux, and only while it is single-threaded), the
reads run in a child process: the import of librdkafka and httpx, the connections and the parsing
of the answers then use the machine's other core instead of competing with the manifest load for
this interpreter's lock. The child sends the resources back pickled; a kind it could not read is
read again here, so its error surfaces as usual. Otherwise (or if the child fails in any way) the
reads run on daemon threads of this process.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from evtctl import forking
from evtctl.cluster.capabilities import Capabilities
from evtctl.cluster.kafka import KafkaBackend
from evtctl.cluster.registry import RegistryBackend
from evtctl.plan.session import ConfigOnly, LiveReads, Target, cluster_config
from evtctl.plan.state import KINDS, AclBindingState, SchemaRef, SchemaVersion, SubjectState, TopicState

CHILD_WAIT = 600.0  # seconds; the child's own requests time out long before
# The read mostly waits for the cluster and finishes well before the manifests are loaded; at a
# lower priority it takes the gaps instead of slowing the load, the longer of the two (on two cores
# with the reference broker running too, a third of a second of a one-topic plan).
NICE = 10


@dataclass
class EarlyStart:
    """An early connection and read; :meth:`take` hands them over when the loaded workspace names the
    same context."""

    ws_config: Any
    context: str | None
    targets: tuple[str, ...]
    _wait: Callable[[], tuple[Target, LiveReads] | None]

    def take(self, ws: Any) -> tuple[Target, LiveReads] | None:
        """The opened target and its reads, or None (then connect as usual; any error of the early
        attempt is raised again by that, at the usual point)."""
        try:
            opened = self._wait()
        except Exception:
            return None
        if opened is None:
            return None
        target, reads = opened
        name = self.context or ws.config.default_context
        before, after = self.ws_config, ws.config
        same = (
            (self.context or before.default_context) == name
            and before.contexts.get(name) == after.contexts.get(name)
            and before.state_dir == after.state_dir
        )
        if not same:  # an environment changed the context: read again with the loaded one
            target.close()
            return None
        return target, reads


def _kinds(targets: tuple[str, ...]) -> set[str]:
    return {t.partition("/")[0] for t in targets} if targets else set(KINDS)


def _open_and_read(ws_config: Any, context: str | None, targets: tuple[str, ...]) -> tuple[Target, LiveReads]:
    config, local = cluster_config(ConfigOnly(ws_config), context)
    target = Target.open(config, local=local)
    return target, target.start_reads(_kinds(targets), targets=targets, defer_errors=True)


def start_early(ws_config: Any, context: str | None, targets: Iterable[str] = ()) -> EarlyStart:
    """Open the context of ``ws_config`` (a WorkspaceConfig) and start reading every kind (or the
    targeted ones): in a child process where possible, else on a daemon thread."""
    sorted_targets = tuple(sorted(targets))
    # One core is enough: the child mostly waits for the cluster while this process loads.
    child = forking.spawn(
        lambda: _child(ws_config, context, sorted_targets),
        timeout=CHILD_WAIT,
        dumps=lambda value: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
        loads=pickle.loads,
        min_cores=1,
        nice=NICE,
    )
    if child is not None:

        def adopt() -> tuple[Target, LiveReads] | None:
            try:
                return _adopt(child())
            except forking.ChildFailed:
                return None  # read here instead, where any error is reported as usual

        return EarlyStart(ws_config, context, sorted_targets, adopt)
    done: Future[tuple[Target, LiveReads]] = Future()

    def run() -> None:
        try:
            done.set_result(_open_and_read(ws_config, context, sorted_targets))
        except BaseException as err:  # handed to take(), which then connects as usual
            done.set_exception(err)

    threading.Thread(target=run, name="evtctl-connect", daemon=True).start()
    return EarlyStart(ws_config, context, sorted_targets, done.result)


# ---- the child process ------------------------------------------------------------------------


def _child(ws_config: Any, context: str | None, targets: tuple[str, ...]) -> dict[str, Any]:
    """Runs in the forked child: read every kind and return what the parent adopts."""
    target, reads = _open_and_read(ws_config, context, targets)
    results: dict[str, Any] = {}
    for kind in reads.kinds:
        try:
            results[kind] = _pack(kind, reads.result(kind))
        except Exception:
            results[kind] = None  # read again by the parent, where its error is reported
    registry = target.registry
    return {
        "config": target.config,
        "local": target.local,
        "versions": dict(target.capabilities.versions),
        "kinds": reads.kinds,
        "targets": reads.targets,
        "results": results,
        "kafka_round_trips": target.kafka.round_trips,
        "config_errors": target.kafka.config_errors,
        "registry_round_trips": registry.round_trips if registry else 0,
        "level_reads": registry.level_reads if registry else 0,
        "bulk_levels": registry._bulk_levels if registry else None,
    }


def _adopt(payload: dict[str, Any]) -> tuple[Target, LiveReads]:
    """A Target in this process for the child's connection settings and results. Its clients are
    created only if something here needs them (a kind read again, apply); round trips carry over."""
    config = payload["config"]
    caps = Capabilities(payload["versions"])
    registry = RegistryBackend(config) if config.registry_url else None
    target = Target(config, caps, KafkaBackend(config, caps), registry, payload["local"])
    target.kafka.round_trips = payload["kafka_round_trips"]
    target.kafka.config_errors = payload["config_errors"]
    if registry is not None:
        registry.round_trips = payload["registry_round_trips"]
        registry.level_reads = payload["level_reads"]
        registry._bulk_levels = payload["bulk_levels"]
    reads = LiveReads(tuple(payload["kinds"]), tuple(payload["targets"]))
    for kind in reads.kinds:
        value = payload["results"].get(kind)
        if value is None:  # failed in the child: read it here, so its error is the usual one
            again = target.start_reads([kind], targets=reads.targets, defer_errors=True)
            reads.adopt(kind, again)
        else:
            reads.done(kind, _unpack(kind, value))
    return target, reads


# Topics, ACLs and subjects travel as plain tuples: unpickling 35,000 slotted frozen dataclasses runs a
# Python __setstate__ per object (0.25 s here), while tuples of strings unpickle in C and __init__ is
# cheaper. (Live subjects carry no deletion policy, origin or location: those are desired-side only.)


def _pack(kind: str, value: Any) -> Any:
    if kind == "topic":
        return [(t.name, t.partitions, t.replication, t.configs) for t in value.values()]
    if kind == "acl":
        return [
            (
                key,
                a.principal,
                a.resource_type,
                a.resource_name,
                a.pattern_type,
                a.operation,
                a.permission,
                a.host,
            )
            for key, a in value.items()
        ]
    if kind == "subject":
        found, level = value
        return (
            [
                (
                    subject.name,
                    subject.compatibility,
                    [
                        (
                            v.version,
                            v.schema_type,
                            v.schema,
                            v.canonical,
                            [(r.name, r.subject, r.version) for r in v.references],
                            v.schema_id,
                        )
                        for v in subject.versions
                    ],
                )
                for subject in found.values()
            ],
            level,
        )
    return value


def _unpack(kind: str, value: Any) -> Any:
    if kind == "topic":
        return {row[0]: TopicState(*row) for row in value}
    if kind == "acl":
        return {row[0]: AclBindingState(*row[1:]) for row in value}
    if kind == "subject":
        rows, level = value
        return (
            {
                name: SubjectState(
                    name,
                    tuple(
                        SchemaVersion(number, st, text, canon, tuple(SchemaRef(*r) for r in refs), schema_id)
                        for number, st, text, canon, refs, schema_id in versions
                    ),
                    compatibility,
                )
                for name, compatibility, versions in rows
            },
            level,
        )
    return value
