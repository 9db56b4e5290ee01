"""Group coordinator state machine, driven directly on an event loop (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.coordinator import GroupConfig, GroupCoordinator, GroupState, JoinResult
from evtctl.broker.groups.offsets import OffsetStore
from evtctl.broker.groups.store import KeyedJournal

PROTOS = [("range", b"r"), ("roundrobin", b"rr")]


def run(tmp_path: Path, body: Callable[[GroupCoordinator], Awaitable[Any]], delay_ms: int = 0) -> Any:
    async def main() -> Any:
        coord = GroupCoordinator(
            OffsetStore(tmp_path, fsync=False),
            GroupConfig(initial_rebalance_delay_ms=delay_ms, min_session_timeout_ms=10),
        )
        try:
            return await asyncio.wait_for(body(coord), 10)
        finally:
            coord.close()
            coord.offsets.close()

    return asyncio.run(main())


async def join(
    coord: GroupCoordinator,
    member_id: str = "",
    instance: str | None = None,
    protocols: list[tuple[str, bytes]] = PROTOS,
    session_ms: int = 10_000,
    rebalance_ms: int = 10_000,
) -> JoinResult:
    return await coord.join(
        "g",
        member_id,
        instance,
        "consumer",
        protocols,
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms,
        client_id="c",
        client_host="/127.0.0.1",
        require_known_member_id=True,
    )


async def join_new(coord: GroupCoordinator, **kw: Any) -> JoinResult:
    first = await join(coord, **kw)
    if first.error is Err.MEMBER_ID_REQUIRED:
        return await join(coord, first.member_id, **kw)
    return first


def test_member_id_required_then_single_member_becomes_leader(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        first = await join(coord)
        assert first.error is Err.MEMBER_ID_REQUIRED and first.member_id.startswith("c-")
        res = await join(coord, first.member_id)
        assert res.error is Err.NONE and res.generation_id == 1 and res.leader == first.member_id
        assert res.protocol_name == "range" and [m.metadata for m in res.members] == [b"r"]
        assert coord.groups["g"].state is GroupState.COMPLETING_REBALANCE
        sync = await coord.sync("g", 1, res.member_id, None, "consumer", "range", [(res.member_id, b"A")])
        assert sync.error is Err.NONE and sync.assignment == b"A"
        assert coord.groups["g"].state is GroupState.STABLE

    run(tmp_path, body)


def test_rebalance_completes_when_all_known_members_rejoined(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        a = await join_new(coord)
        await coord.sync("g", 1, a.member_id, None, None, None, [(a.member_id, b"A")])
        b_task = asyncio.create_task(join_new(coord))
        await asyncio.sleep(0.05)
        assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
        assert coord.heartbeat("g", 1, a.member_id, None) is Err.REBALANCE_IN_PROGRESS
        # Only "consumer" groups list in states filter by name, case-insensitively.
        assert [g.group_id for g in coord.list_groups(["preparingrebalance"])] == ["g"]
        a2 = await join(coord, a.member_id)  # answered at once: no timer involved
        b = await b_task
        assert a2.generation_id == b.generation_id == 2
        assert a2.leader == a.member_id and len(a2.members) == 2 and b.members == ()
        s_a, s_b = await asyncio.gather(
            coord.sync("g", 2, b.member_id, None, None, None, []),
            coord.sync("g", 2, a.member_id, None, None, None, [(a.member_id, b"1"), (b.member_id, b"2")]),
        )
        assert (s_a.assignment, s_b.assignment) == (b"2", b"1")

    run(tmp_path, body)


def test_initial_delay_collects_members_into_one_generation(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        results = await asyncio.gather(join_new(coord), join_new(coord), join_new(coord))
        assert {r.generation_id for r in results} == {1}
        assert sum(1 for r in results if r.members) == 1  # exactly one leader

    run(tmp_path, body, delay_ms=200)


def test_session_expiry_removes_member_and_rebalances(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        a = await join_new(coord, session_ms=300)
        await coord.sync("g", 1, a.member_id, None, None, None, [])
        await asyncio.sleep(0.6)
        assert coord.groups["g"].state is GroupState.EMPTY and not coord.groups["g"].members
        assert coord.heartbeat("g", 1, a.member_id, None) is Err.UNKNOWN_MEMBER_ID

    run(tmp_path, body)


def test_static_member_rejoins_without_rebalance_and_fences_old_id(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        a = await join_new(coord, instance="i-a")
        assert a.error is Err.NONE
        await coord.sync("g", 1, a.member_id, "i-a", None, None, [(a.member_id, b"X")])
        again = await join(coord, "", instance="i-a")
        assert again.error is Err.NONE and again.generation_id == 1 and again.member_id != a.member_id
        assert coord.groups["g"].state is GroupState.STABLE
        sync = await coord.sync("g", 1, again.member_id, "i-a", None, None, [])
        assert sync.assignment == b"X"
        assert coord.heartbeat("g", 1, a.member_id, "i-a") is Err.FENCED_INSTANCE_ID

    run(tmp_path, body)


def test_inconsistent_protocols_and_bad_session_timeout(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        await join_new(coord)
        other = await join(coord, protocols=[("cooperative-sticky", b"")])
        assert other.error is Err.INCONSISTENT_GROUP_PROTOCOL
        bad = await join(coord, session_ms=1)
        assert bad.error is Err.INVALID_SESSION_TIMEOUT

    run(tmp_path, body)


def test_leave_and_delete_group(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        a = await join_new(coord)
        await coord.sync("g", 1, a.member_id, None, None, None, [])
        assert coord.delete_group("g") is Err.NON_EMPTY_GROUP
        left = coord.leave("g", [(a.member_id, None), ("nobody", None)])[1]
        assert left == [Err.NONE, Err.UNKNOWN_MEMBER_ID]
        assert coord.groups["g"].state is GroupState.EMPTY
        assert coord.delete_group("g") is Err.NONE
        assert coord.delete_group("g") is Err.GROUP_ID_NOT_FOUND

    run(tmp_path, body)


def test_commit_validation_and_offsets_survive_restart(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        assert coord.validate_commit("simple", -1, "", None) is Err.NONE
        coord.offsets.commit("simple", [("t", 0, 42, 3, "meta")])
        a = await join_new(coord)
        assert coord.validate_commit("g", 1, a.member_id, None) is Err.REBALANCE_IN_PROGRESS
        await coord.sync("g", 1, a.member_id, None, None, None, [])
        assert coord.validate_commit("g", 7, a.member_id, None) is Err.ILLEGAL_GENERATION
        assert coord.validate_commit("g", 1, "x", None) is Err.UNKNOWN_MEMBER_ID
        assert coord.validate_commit("g", 1, a.member_id, None) is Err.NONE

    run(tmp_path, body)
    store = OffsetStore(tmp_path)
    got = store.fetch("simple", "t", 0)
    assert got is not None and (got.offset, got.leader_epoch, got.metadata) == (42, 3, "meta")
    assert store.group_ids() == ["simple"]


def test_journal_truncates_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "j"
    j = KeyedJournal(path)
    j.put("a", 1)
    j.put("b", {"x": 2})
    j.close()
    with open(path, "ab") as f:
        f.write(b"\x00\x00\x00\x10garbage")
    j2 = KeyedJournal(path)
    assert dict(j2.items()) == {"a": 1, "b": {"x": 2}}
    j2.put("a", None)
    j2.close()
    assert dict(KeyedJournal(path).items()) == {"b": {"x": 2}}


def test_member_not_rejoining_within_rebalance_timeout_is_dropped(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        a, b = await asyncio.gather(join_new(coord, rebalance_ms=300), join_new(coord, rebalance_ms=300))
        leader = a if a.members else b
        await asyncio.gather(
            coord.sync("g", 1, a.member_id, None, None, None, []),
            coord.sync("g", 1, b.member_id, None, None, None, [(leader.member_id, b"L")]),
        )
        newcomer = asyncio.create_task(join_new(coord, rebalance_ms=300))
        await asyncio.sleep(0.05)
        a2 = await join(coord, a.member_id, rebalance_ms=300)  # b never comes back
        c = await newcomer
        assert a2.generation_id == c.generation_id == 2
        assert set(coord.groups["g"].members) == {a.member_id, c.member_id}
        assert coord.heartbeat("g", 2, b.member_id, None) is Err.UNKNOWN_MEMBER_ID

    run(tmp_path, body, delay_ms=50)


def test_pending_member_expires(tmp_path: Path) -> None:
    async def body(coord: GroupCoordinator) -> None:
        first = await join(coord, session_ms=200)
        assert first.error is Err.MEMBER_ID_REQUIRED and coord.groups["g"].pending
        await asyncio.sleep(0.4)
        assert not coord.groups["g"].pending
        late = await join(coord, first.member_id, session_ms=200)
        assert late.error is Err.UNKNOWN_MEMBER_ID

    run(tmp_path, body)
