"""Classic consumer-group coordinator (Kafka's GroupCoordinator, single node).

States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead after deletion.
JoinGroup responses are parked on futures and released together when the rebalance completes: as
soon as every known member has rejoined, when the rebalance timeout expires (members that did not
rejoin are removed), or, for a group that was Empty, after ``group.initial.rebalance.delay.ms``
(extended while new members keep arriving, like Kafka's InitialDelayedJoin). Nothing is held for
half a session timeout. Offsets live in :class:`OffsetStore`; this module is transport-free and
driven by the wire handlers in :mod:`evtctl.broker.groups.handlers`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.offsets import OffsetStore


class GroupState(Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True)
class GroupConfig:
    initial_rebalance_delay_ms: int = 3000
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    max_size: int = 1_000_000
    offset_metadata_max_bytes: int = 4096


@dataclass(frozen=True)
class JoinMember:
    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True)
class JoinResult:
    error: Err
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    member_id: str = ""
    members: tuple[JoinMember, ...] = ()
    skip_assignment: bool = False


@dataclass(frozen=True)
class SyncResult:
    error: Err
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_future: asyncio.Future[JoinResult] | None = None
    sync_future: asyncio.Future[SyncResult] | None = None
    session_timer: asyncio.TimerHandle | None = None
    is_new: bool = False

    def metadata_for(self, protocol: str) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""

    def same_protocols(self, protocols: Sequence[tuple[str, bytes]]) -> bool:
        return list(protocols) == self.protocols


@dataclass
class Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    pending: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    join_timer: asyncio.TimerHandle | None = None
    new_member_added: bool = False
    initial_delay_remaining_ms: int = 0
    in_initial_delay: bool = False
    state_since: float = field(default_factory=time.time)

    def awaiting_join(self) -> int:
        return sum(1 for m in self.members.values() if m.join_future is not None)

    def all_joined(self) -> bool:
        return self.awaiting_join() == len(self.members) and not self.pending

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def candidate_protocols(self) -> set[str]:
        sets = [{name for name, _ in m.protocols} for m in self.members.values()]
        return set.intersection(*sets) if sets else set()

    def supports(self, protocol_type: str, protocols: Sequence[tuple[str, bytes]]) -> bool:
        if not self.members:
            return bool(protocol_type) and bool(protocols)
        if self.protocol_type is not None and protocol_type != self.protocol_type:
            return False
        return bool(self.candidate_protocols() & {name for name, _ in protocols})

    def select_protocol(self) -> str:
        candidates = self.candidate_protocols()
        votes: Counter[str] = Counter()
        for member in self.members.values():
            for name, _ in member.protocols:
                if name in candidates:
                    votes[name] += 1
                    break
        # Ties go to the leader's preference order so the choice is deterministic.
        order = [name for name, _ in self.members[self.leader_id].protocols] if self.leader_id else []
        return max(sorted(votes), key=lambda name: (votes[name], -order.index(name) if name in order else 0))


class GroupCoordinator:
    """All groups of the node; every method runs on the broker's event loop."""

    def __init__(self, offsets: OffsetStore, config: GroupConfig | None = None) -> None:
        self.config = config or GroupConfig()
        self.offsets = offsets
        self.groups: dict[str, Group] = {}
        for group_id in offsets.group_ids():
            self.groups[group_id] = Group(group_id)

    # ----------------------------------------------------------------- join
    async def join(
        self,
        group_id: str,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str,
        protocols: Sequence[tuple[str, bytes]],
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        client_id: str,
        client_host: str,
        require_known_member_id: bool,
        reason: str | None = None,
    ) -> JoinResult:
        if not group_id:
            return JoinResult(Err.INVALID_GROUP_ID, member_id=member_id)
        cfg = self.config
        if not cfg.min_session_timeout_ms <= session_timeout_ms <= cfg.max_session_timeout_ms:
            return JoinResult(Err.INVALID_SESSION_TIMEOUT, member_id=member_id)
        if rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms
        group = self.groups.get(group_id)
        if group is None:
            if member_id:
                return JoinResult(Err.UNKNOWN_MEMBER_ID, member_id=member_id)
            group = self.groups[group_id] = Group(group_id)
        if group.state is GroupState.DEAD:
            return JoinResult(Err.COORDINATOR_NOT_AVAILABLE, member_id=member_id)
        if not group.supports(protocol_type, protocols):
            return JoinResult(Err.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id)
        protocols = list(protocols)
        loop = asyncio.get_running_loop()

        def joining(new_member_id: str) -> Member:
            return Member(
                new_member_id,
                group_instance_id,
                client_id,
                client_host,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocol_type,
                protocols,
                is_new=True,
            )

        if not member_id:
            new_id = f"{client_id}-{uuid.uuid4()}"
            if group_instance_id is not None and group_instance_id in group.static_members:
                return await self._rejoin_static(
                    group,
                    group_instance_id,
                    new_id,
                    protocol_type,
                    protocols,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    client_id,
                    client_host,
                )
            if len(group.members) + len(group.pending) >= cfg.max_size:
                return JoinResult(Err.GROUP_MAX_SIZE_REACHED, member_id=member_id)
            if require_known_member_id and group_instance_id is None:
                # KIP-394: hand out the id first; the member must come back with it in time.
                group.pending[new_id] = loop.call_later(
                    session_timeout_ms / 1000, self._expire_pending, group, new_id
                )
                return JoinResult(Err.MEMBER_ID_REQUIRED, member_id=new_id)
            return await self._add_member_and_rebalance(group, joining(new_id))

        if member_id in group.pending:
            group.pending.pop(member_id).cancel()
            return await self._add_member_and_rebalance(group, joining(member_id))
        if _fenced(group, group_instance_id, member_id):
            return JoinResult(Err.FENCED_INSTANCE_ID, member_id=member_id)
        known = group.members.get(member_id)
        if known is None or group.state is GroupState.EMPTY:
            return JoinResult(Err.UNKNOWN_MEMBER_ID, member_id=member_id)
        member = known

        if group.state is GroupState.PREPARING_REBALANCE:
            return await self._update_member_and_wait(
                group, member, protocols, session_timeout_ms, rebalance_timeout_ms
            )
        if group.state is GroupState.COMPLETING_REBALANCE:
            if member.same_protocols(protocols):
                # The member lost our response; resend the same generation's answer.
                return self._join_result_for(group, member)
            return await self._update_member_and_wait(
                group, member, protocols, session_timeout_ms, rebalance_timeout_ms, prepare=True
            )
        # Stable
        if member_id == group.leader_id or not member.same_protocols(protocols):
            return await self._update_member_and_wait(
                group, member, protocols, session_timeout_ms, rebalance_timeout_ms, prepare=True
            )
        return self._join_result_for(group, member)

    def _join_result_for(self, group: Group, member: Member) -> JoinResult:
        is_leader = member.member_id == group.leader_id
        members = self._member_list(group) if is_leader else ()
        return JoinResult(
            Err.NONE,
            group.generation_id,
            group.protocol_type,
            group.protocol_name,
            group.leader_id or "",
            member.member_id,
            members,
        )

    def _member_list(self, group: Group) -> tuple[JoinMember, ...]:
        proto = group.protocol_name or ""
        return tuple(
            JoinMember(m.member_id, m.group_instance_id, m.metadata_for(proto))
            for m in group.members.values()
        )

    async def _rejoin_static(
        self,
        group: Group,
        instance_id: str,
        new_id: str,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        client_id: str,
        client_host: str,
    ) -> JoinResult:
        """A known group.instance.id comes back with a fresh member id: replace, do not rebalance."""
        old_id = group.static_members[instance_id]
        old = group.members.pop(old_id)
        if old.session_timer:
            old.session_timer.cancel()
        # Fence the previous incarnation's parked requests.
        if old.join_future and not old.join_future.done():
            old.join_future.set_result(JoinResult(Err.FENCED_INSTANCE_ID, member_id=old_id))
        if old.sync_future and not old.sync_future.done():
            old.sync_future.set_result(SyncResult(Err.FENCED_INSTANCE_ID))
        member = Member(
            new_id,
            instance_id,
            client_id,
            client_host,
            session_timeout_ms,
            rebalance_timeout_ms,
            protocol_type,
            protocols,
            assignment=old.assignment,
        )
        group.members[new_id] = member
        group.static_members[instance_id] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        if group.state is GroupState.STABLE and old.same_protocols(protocols):
            self._touch(group, member)
            result = self._join_result_for(group, member)
            if new_id == group.leader_id:
                # v9: the leader must not reassign, only learn the members (KIP-814).
                return JoinResult(
                    result.error,
                    result.generation_id,
                    result.protocol_type,
                    result.protocol_name,
                    result.leader,
                    new_id,
                    result.members,
                    skip_assignment=True,
                )
            return result
        member.join_future = fut = _join_future()
        self._prepare_rebalance(group)
        self._maybe_complete_join(group)
        return await fut

    async def _add_member_and_rebalance(self, group: Group, member: Member) -> JoinResult:
        group.members[member.member_id] = member
        if member.group_instance_id is not None:
            group.static_members[member.group_instance_id] = member.member_id
        if group.leader_id is None:
            group.leader_id = member.member_id
        if group.protocol_type is None:
            group.protocol_type = member.protocol_type
        group.new_member_added = True
        member.join_future = fut = _join_future()
        self._prepare_rebalance(group)
        self._maybe_complete_join(group)
        return await fut

    async def _update_member_and_wait(
        self,
        group: Group,
        member: Member,
        protocols: list[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        prepare: bool = False,
    ) -> JoinResult:
        member.protocols = protocols
        member.session_timeout_ms = session_timeout_ms
        member.rebalance_timeout_ms = rebalance_timeout_ms
        if member.join_future is not None and not member.join_future.done():
            # A duplicate join from the same member supersedes the parked one.
            member.join_future.set_result(JoinResult(Err.UNKNOWN_MEMBER_ID, member_id=member.member_id))
        member.join_future = fut = _join_future()
        if prepare:
            self._prepare_rebalance(group)
        self._maybe_complete_join(group)
        return await fut

    def _prepare_rebalance(self, group: Group) -> None:
        if group.state is GroupState.PREPARING_REBALANCE:
            return
        if group.state is GroupState.COMPLETING_REBALANCE:
            for m in group.members.values():
                if m.sync_future is not None and not m.sync_future.done():
                    m.sync_future.set_result(SyncResult(Err.REBALANCE_IN_PROGRESS))
                m.sync_future = None
        loop = asyncio.get_running_loop()
        was_empty = group.state is GroupState.EMPTY
        self._set_state(group, GroupState.PREPARING_REBALANCE)
        if group.join_timer:
            group.join_timer.cancel()
        if was_empty:
            delay = self.config.initial_rebalance_delay_ms
            group.initial_delay_remaining_ms = max(group.rebalance_timeout_ms() - delay, 0)
            group.new_member_added = False
            group.in_initial_delay = True
            group.join_timer = loop.call_later(delay / 1000, self._initial_delay_expired, group, delay)
        else:
            timeout = group.rebalance_timeout_ms() / 1000
            group.join_timer = loop.call_later(timeout, self._complete_join, group)

    def _initial_delay_expired(self, group: Group, delay: int) -> None:
        if group.new_member_added and group.initial_delay_remaining_ms > 0:
            step = min(delay, group.initial_delay_remaining_ms)
            group.initial_delay_remaining_ms -= step
            group.new_member_added = False
            group.join_timer = asyncio.get_running_loop().call_later(
                step / 1000, self._initial_delay_expired, group, delay
            )
            return
        group.join_timer = None
        group.in_initial_delay = False
        self._complete_join(group)

    def _maybe_complete_join(self, group: Group) -> None:
        # During the initial delay the timer decides; afterwards, the last rejoin completes it.
        if group.state is not GroupState.PREPARING_REBALANCE or group.in_initial_delay:
            return
        if group.all_joined():
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        if group.join_timer:
            group.join_timer.cancel()
            group.join_timer = None
        group.in_initial_delay = False
        for m in [m for m in group.members.values() if m.join_future is None]:
            self._remove_member(group, m)
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members), None)
        group.generation_id += 1
        if not group.members:
            group.protocol_name = None
            group.protocol_type = None if not self.offsets.has_group(group.group_id) else group.protocol_type
            self._set_state(group, GroupState.EMPTY)
            return
        group.protocol_name = group.select_protocol()
        self._set_state(group, GroupState.COMPLETING_REBALANCE)
        for m in group.members.values():
            fut, m.join_future = m.join_future, None
            m.is_new = False
            if fut is not None and not fut.done():
                fut.set_result(self._join_result_for(group, m))
            self._touch(group, m)

    # ----------------------------------------------------------------- sync
    async def sync(
        self,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: Sequence[tuple[str, bytes]],
    ) -> SyncResult:
        group = self.groups.get(group_id)
        if group is None or group.state is GroupState.DEAD:
            return SyncResult(Err.UNKNOWN_MEMBER_ID if group is None else Err.COORDINATOR_NOT_AVAILABLE)
        err = self._validate_member(group, member_id, group_instance_id, generation_id)
        if err is not Err.NONE:
            return SyncResult(err)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return SyncResult(Err.INCONSISTENT_GROUP_PROTOCOL)
        member = group.members[member_id]
        if group.state is GroupState.PREPARING_REBALANCE:
            return SyncResult(Err.REBALANCE_IN_PROGRESS)
        if group.state is GroupState.STABLE:
            self._touch(group, member)
            return SyncResult(Err.NONE, group.protocol_type, group.protocol_name, member.assignment)
        # CompletingRebalance: park until the leader's assignment arrives.
        fut: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()
        member.sync_future = fut
        self._touch(group, member)
        if member_id == group.leader_id:
            given = dict(assignments)
            for m in group.members.values():
                m.assignment = given.get(m.member_id, b"")
            self._set_state(group, GroupState.STABLE)
            for m in group.members.values():
                if m.sync_future is not None and not m.sync_future.done():
                    m.sync_future.set_result(
                        SyncResult(Err.NONE, group.protocol_type, group.protocol_name, m.assignment)
                    )
                m.sync_future = None
        return await fut

    def _validate_member(
        self, group: Group, member_id: str, instance_id: str | None, generation_id: int
    ) -> Err:
        if _fenced(group, instance_id, member_id):
            return Err.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return Err.UNKNOWN_MEMBER_ID
        if generation_id != group.generation_id:
            return Err.ILLEGAL_GENERATION
        return Err.NONE

    # ------------------------------------------------------------ heartbeat
    def heartbeat(
        self, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> Err:
        group = self.groups.get(group_id)
        if group is None:
            return Err.UNKNOWN_MEMBER_ID
        if group.state is GroupState.DEAD:
            return Err.COORDINATOR_NOT_AVAILABLE
        if group.state is GroupState.EMPTY:
            return Err.UNKNOWN_MEMBER_ID
        err = self._validate_member(group, member_id, group_instance_id, generation_id)
        if err is not Err.NONE:
            return err
        self._touch(group, group.members[member_id])
        if group.state is GroupState.PREPARING_REBALANCE:
            return Err.REBALANCE_IN_PROGRESS
        return Err.NONE

    def _touch(self, group: Group, member: Member) -> None:
        if member.session_timer:
            member.session_timer.cancel()
        member.session_timer = asyncio.get_running_loop().call_later(
            member.session_timeout_ms / 1000, self._session_expired, group, member.member_id
        )

    def _session_expired(self, group: Group, member_id: str) -> None:
        member = group.members.get(member_id)
        if member is None or member.join_future is not None:
            return  # members parked in a join are alive by definition
        self._remove_member_and_rebalance(group, member)

    def _expire_pending(self, group: Group, member_id: str) -> None:
        group.pending.pop(member_id, None)
        self._maybe_complete_join(group)

    # ---------------------------------------------------------------- leave
    def leave(self, group_id: str, members: Sequence[tuple[str, str | None]]) -> tuple[Err, list[Err]]:
        group = self.groups.get(group_id)
        if group is None:
            return Err.NONE, [Err.UNKNOWN_MEMBER_ID for _ in members]
        if group.state is GroupState.DEAD:
            return Err.COORDINATOR_NOT_AVAILABLE, []
        results: list[Err] = []
        for member_id, instance_id in members:
            if instance_id is not None:
                known = group.static_members.get(instance_id)
                if known is None:
                    results.append(Err.UNKNOWN_MEMBER_ID)
                    continue
                if member_id and known != member_id:
                    results.append(Err.FENCED_INSTANCE_ID)
                    continue
                member_id = known
            if member_id in group.pending:
                group.pending.pop(member_id).cancel()
                results.append(Err.NONE)
                self._maybe_complete_join(group)
                continue
            member = group.members.get(member_id)
            if member is None:
                results.append(Err.UNKNOWN_MEMBER_ID)
                continue
            self._remove_member_and_rebalance(group, member)
            results.append(Err.NONE)
        return Err.NONE, results

    def _remove_member(self, group: Group, member: Member) -> None:
        group.members.pop(member.member_id, None)
        instance = member.group_instance_id
        if instance is not None and group.static_members.get(instance) == member.member_id:
            del group.static_members[instance]
        if member.session_timer:
            member.session_timer.cancel()
        if member.join_future is not None and not member.join_future.done():
            member.join_future.set_result(JoinResult(Err.UNKNOWN_MEMBER_ID, member_id=member.member_id))
        if member.sync_future is not None and not member.sync_future.done():
            member.sync_future.set_result(SyncResult(Err.UNKNOWN_MEMBER_ID))
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)

    def _remove_member_and_rebalance(self, group: Group, member: Member) -> None:
        self._remove_member(group, member)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            if not group.members:
                # Nobody left to rebalance: the group becomes Empty at the next generation.
                group.generation_id += 1
                group.protocol_name = None
                self._set_state(group, GroupState.EMPTY)
                return
            self._prepare_rebalance(group)
        self._maybe_complete_join(group)

    # ------------------------------------------------------- listing, admin
    def _set_state(self, group: Group, state: GroupState) -> None:
        group.state = state
        group.state_since = time.time()

    def list_groups(self, states: Sequence[str] = (), types: Sequence[str] = ()) -> list[Group]:
        wanted = {s.lower() for s in states}
        kinds = {t.lower() for t in types}
        out = []
        for g in self.groups.values():
            if g.state is GroupState.DEAD:
                continue
            if wanted and g.state.value.lower() not in wanted:
                continue
            if kinds and "classic" not in kinds:
                continue
            out.append(g)
        return out

    def describe(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    def delete_group(self, group_id: str) -> Err:
        if not group_id:
            return Err.INVALID_GROUP_ID
        group = self.groups.get(group_id)
        if group is None or group.state is GroupState.DEAD:
            return Err.GROUP_ID_NOT_FOUND
        if group.state is not GroupState.EMPTY or group.pending:
            return Err.NON_EMPTY_GROUP
        self._set_state(group, GroupState.DEAD)
        self.offsets.delete_group(group_id)
        del self.groups[group_id]
        return Err.NONE

    # -------------------------------------------------------------- offsets
    def validate_commit(
        self, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> Err:
        """Whether a member may commit now (Kafka's doCommitOffsets checks)."""
        if not group_id:
            return Err.INVALID_GROUP_ID
        group = self.groups.get(group_id)
        if group is None:
            if generation_id < 0:
                self.groups[group_id] = Group(group_id)  # a group that only stores offsets
                return Err.NONE
            return Err.ILLEGAL_GENERATION
        if group.state is GroupState.DEAD:
            return Err.COORDINATOR_NOT_AVAILABLE
        if _fenced(group, group_instance_id, member_id):
            return Err.FENCED_INSTANCE_ID
        if generation_id < 0 and group.state is GroupState.EMPTY:
            return Err.NONE
        if member_id not in group.members:
            return Err.UNKNOWN_MEMBER_ID
        if generation_id != group.generation_id:
            return Err.ILLEGAL_GENERATION
        if group.state is GroupState.COMPLETING_REBALANCE:
            return Err.REBALANCE_IN_PROGRESS
        self._touch(group, group.members[member_id])
        return Err.NONE

    def subscribed_topics(self, group: Group) -> set[str] | None:
        """Topics the group's consumers subscribe to, or None when not a consumer group we can read."""
        if group.protocol_type != "consumer" or not group.protocol_name:
            return None
        topics: set[str] = set()
        for m in group.members.values():
            parsed = parse_consumer_subscription(m.metadata_for(group.protocol_name))
            if parsed is None:
                return None
            topics.update(parsed)
        return topics

    def close(self) -> None:
        for group in self.groups.values():
            if group.join_timer:
                group.join_timer.cancel()
            for timer in group.pending.values():
                timer.cancel()
            for m in group.members.values():
                if m.session_timer:
                    m.session_timer.cancel()


def _fenced(group: Group, instance_id: str | None, member_id: str) -> bool:
    """A static member's instance id is now owned by another member id (KIP-345 fencing)."""
    return instance_id is not None and group.static_members.get(instance_id, member_id) != member_id


def _join_future() -> asyncio.Future[JoinResult]:
    return asyncio.get_running_loop().create_future()


def parse_consumer_subscription(metadata: bytes) -> list[str] | None:
    """Topics of a ConsumerProtocolSubscription (version, [topics], ...); None if unreadable."""
    try:
        pos = 2
        count = int.from_bytes(metadata[pos : pos + 4], "big", signed=True)
        pos += 4
        topics = []
        for _ in range(max(count, 0)):
            n = int.from_bytes(metadata[pos : pos + 2], "big", signed=True)
            pos += 2
            topics.append(metadata[pos : pos + n].decode())
            pos += n
        return topics
    except (UnicodeDecodeError, ValueError):
        return None
