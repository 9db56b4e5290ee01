"""Replay and compaction of the registry log: any sequence of accepted operations rebuilds the same state."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtctl.broker.registry.errors import RegistryHTTPError
from evtctl.broker.registry.service import Registry
from evtctl.broker.registry.store import RegistryLog, RegistryState


def _schema(name: str, n: int) -> str:
    fields = [{"name": f"f{i}", "type": "int", "default": 0} for i in range(n)]
    return json.dumps({"type": "record", "name": name, "fields": fields})


SUBJECTS = ["a-value", "b-value", "c-key"]

op = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(SUBJECTS), st.integers(0, 3)),
    st.tuples(st.just("soft_version"), st.sampled_from(SUBJECTS), st.sampled_from(["1", "2", "latest"])),
    st.tuples(st.just("hard_version"), st.sampled_from(SUBJECTS), st.sampled_from(["1", "2", "latest"])),
    st.tuples(st.just("soft_subject"), st.sampled_from(SUBJECTS), st.just(0)),
    st.tuples(st.just("hard_subject"), st.sampled_from(SUBJECTS), st.just(0)),
    st.tuples(
        st.just("config"), st.sampled_from([*SUBJECTS, None]), st.sampled_from(["NONE", "FULL", "BACKWARD"])
    ),
    st.tuples(st.just("mode"), st.sampled_from(SUBJECTS), st.sampled_from(["READONLY", "READWRITE"])),
)


def observable(state: RegistryState) -> Any:
    return (
        sorted(
            (s, v, sv.schema_id, sv.deleted)
            for s, versions in state.subjects.items()
            for v, sv in versions.items()
        ),
        sorted(
            (i, s.text, s.fingerprint, s.guid) for i, s in state.schemas.items() if state.id_versions.get(i)
        ),
        sorted((str(k), json.dumps(v, sort_keys=True)) for k, v in state.configs.items()),
        sorted((str(k), v) for k, v in state.modes.items()),
        state.max_id,
    )


async def apply_ops(reg: Registry, ops: list[tuple[str, Any, Any]]) -> None:
    for kind, subject, arg in ops:
        try:
            if kind == "register":
                await reg.register(subject, {"schema": _schema("R", arg)}, normalize=False)
            elif kind == "soft_version":
                await reg.delete_version(subject, arg, permanent=False)
            elif kind == "hard_version":
                await reg.delete_version(subject, arg, permanent=True)
            elif kind == "soft_subject":
                await reg.delete_subject(subject, permanent=False)
            elif kind == "hard_subject":
                await reg.delete_subject(subject, permanent=True)
            elif kind == "config":
                await reg.set_config(subject, {"compatibility": arg})
            elif kind == "mode":
                await reg.set_mode(subject, {"mode": arg}, force=False)
        except RegistryHTTPError:
            pass  # refused operations change nothing; replay must agree with that too


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=30))
def test_replay_and_compaction_rebuild_the_same_state(ops: list[tuple[str, Any, Any]]) -> None:
    async def run(data_dir: Path) -> None:
        reg = Registry(data_dir)
        await reg.open()
        await apply_ops(reg, ops)
        expected = observable(reg.state)
        await reg.close()

        replayed = Registry(data_dir)
        await replayed.open()
        assert observable(replayed.state) == expected
        await replayed.close()

        # force a compaction: the rewritten log must hold the same state, and keep working
        log = RegistryLog(data_dir, compact_min_records=0)
        state = log.open()
        log.close()
        assert observable(state) == expected
        compacted = Registry(data_dir)
        await compacted.open()
        assert observable(compacted.state) == expected
        new = await compacted.register("after-compaction", {"schema": _schema("Z", 1)}, normalize=False)
        assert new["id"] == expected[-1] + 1  # ids are never reused, also after compaction
        await compacted.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp)))


def test_a_failed_write_is_a_50001_and_changes_nothing(tmp_path: Path) -> None:
    """Disk full (a real ENOSPC from /dev/full): the client gets 50001, state and log stay as they were."""

    async def run() -> None:
        reg = Registry(tmp_path)
        await reg.open()
        first = await reg.register("full-value", {"schema": _schema("F", 0)}, normalize=False)
        before = observable(reg.state)
        healthy = reg.log._file
        with open("/dev/full", "ab", buffering=0) as full:
            reg.log._file = full
            try:
                await reg.register("full-value", {"schema": _schema("F", 1)}, normalize=False)
            except RegistryHTTPError as err:
                assert (err.status, err.error_code) == (500, 50001)
            else:
                raise AssertionError("a write to a full disk was acknowledged")
            reg.log._file = healthy
        assert observable(reg.state) == before
        second = await reg.register("full-value", {"schema": _schema("F", 1)}, normalize=False)
        assert second["id"] == first["id"] + 1
        await reg.close()

    asyncio.run(run())
