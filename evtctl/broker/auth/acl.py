"""ACL authorizer with Kafka's semantics (AclAuthorizer / StandardAuthorizer).

A request is allowed for a super user; otherwise it is denied when any matching DENY binding names the
operation (or ALL), allowed when a matching ALLOW binding names the operation, an operation implying
it (READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS) or ALL, and when no
binding at all matches the resource, allowed only if ``allow.everyone.if.no.acl.found``. Bindings match a
resource by LITERAL name, the literal ``*`` wildcard, or PREFIXED name; principals by equality or
``User:*``; hosts by equality or ``*``. Bindings are durable in the internal journal.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

from evtctl.broker.groups.codes import Err
from evtctl.broker.groups.store import KeyedJournal

CLUSTER_NAME = "kafka-cluster"
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
_E = TypeVar("_E", bound=IntEnum)
# Versions of ACL stores, process-wide: a version then names one state of one store even with several
# brokers in one process (tests), so caches keyed on it need no reference to the store.
_VERSIONS = itertools.count(1)


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class Permission(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


_IMPLIED_BY: dict[Operation, frozenset[Operation]] = {
    Operation.DESCRIBE: frozenset(
        {Operation.DESCRIBE, Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER}
    ),
    Operation.DESCRIBE_CONFIGS: frozenset({Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS}),
}


@dataclass(frozen=True)
class AclBinding:
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: Operation
    permission: Permission

    def key(self) -> str:
        return "a" + json.dumps(
            [
                self.resource_type,
                self.resource_name,
                self.pattern_type,
                self.principal,
                self.host,
                self.operation,
                self.permission,
            ],
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class AclFilter:
    """DescribeAcls/DeleteAcls filter; None matches any name, principal or host."""

    resource_type: ResourceType
    resource_name: str | None
    pattern_type: PatternType
    principal: str | None
    host: str | None
    operation: Operation
    permission: Permission

    def validate(self) -> str | None:
        """A reason the filter cannot be used, or None (Kafka answers INVALID_REQUEST)."""
        for value, kind in (
            (self.resource_type, "resource type"),
            (self.pattern_type, "pattern type"),
            (self.operation, "operation"),
            (self.permission, "permission type"),
        ):
            if value == 0:
                return f"filter has an UNKNOWN {kind}"
        if self.pattern_type is PatternType.MATCH and self.resource_name is None:
            return "a MATCH filter needs a resource name"
        return None

    def matches_everything(self) -> bool:
        """Whether :meth:`matches` is true of every binding (the filter of a full listing)."""
        return (
            self.resource_type is ResourceType.ANY
            and self.pattern_type is PatternType.ANY
            and self.resource_name is None
            and self.principal is None
            and self.host is None
            and self.operation is Operation.ANY
            and self.permission is Permission.ANY
        )

    def matches(self, b: AclBinding) -> bool:
        if self.resource_type is not ResourceType.ANY and b.resource_type != self.resource_type:
            return False
        if self.principal is not None and b.principal != self.principal:
            return False
        if self.host is not None and b.host != self.host:
            return False
        if self.operation is not Operation.ANY and b.operation != self.operation:
            return False
        if self.permission is not Permission.ANY and b.permission != self.permission:
            return False
        pt, name = self.pattern_type, self.resource_name
        if pt is PatternType.MATCH:
            assert name is not None
            return _resource_matches(b, name)
        if pt is not PatternType.ANY and b.pattern_type != pt:
            return False
        return name is None or b.resource_name == name


def _resource_matches(b: AclBinding, name: str) -> bool:
    if b.pattern_type is PatternType.LITERAL:
        return b.resource_name in (name, WILDCARD)
    if b.pattern_type is PatternType.PREFIXED:
        return name.startswith(b.resource_name)
    return False


def parse_enum(enum: type[_E], value: int) -> _E:
    """Unknown wire values become UNKNOWN (0) instead of raising."""
    try:
        return enum(value)
    except ValueError:
        return enum(0)


def validate_binding(b: AclBinding) -> str | None:
    """Why a binding cannot be created, or None (CreateAcls per-binding INVALID_REQUEST)."""
    if b.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
        return "resource type must be a concrete type"
    if b.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        return "pattern type must be LITERAL or PREFIXED"
    if b.operation in (Operation.UNKNOWN, Operation.ANY):
        return "operation must be a concrete operation"
    if b.permission not in (Permission.ALLOW, Permission.DENY):
        return "permission type must be ALLOW or DENY"
    if not b.resource_name:
        return "resource name must not be empty"
    if b.pattern_type is PatternType.PREFIXED and b.resource_name == WILDCARD:
        return "a PREFIXED pattern cannot be the wildcard"
    if b.resource_type is ResourceType.CLUSTER and b.resource_name != CLUSTER_NAME:
        return f"the cluster resource is named {CLUSTER_NAME!r}"
    kind, sep, name = b.principal.partition(":")
    if not sep or not kind or not name:
        return f"principal {b.principal!r} is not of the form Type:name"
    if not b.host:
        return "host must not be empty (use '*')"
    return None


class Authorizer:
    def __init__(
        self,
        data_dir: Path | None,
        *,
        super_users: Iterable[str] = (),
        allow_everyone_if_no_acl_found: bool = True,
    ) -> None:
        self.super_users = frozenset(super_users)
        self.allow_if_no_acl = allow_everyone_if_no_acl_found
        self._journal = KeyedJournal(data_dir / "__acls" / "acls.journal") if data_dir else None
        self._bindings: dict[str, AclBinding] = {}
        if self._journal is not None:
            for key, v in self._journal.items("a"):
                self._bindings[key] = AclBinding(
                    ResourceType(v[0]), v[1], PatternType(v[2]), v[3], v[4], Operation(v[5]), Permission(v[6])
                )
        self._reindex()

    def _reindex(self) -> None:
        """Bindings by resource type: every request is authorized, so lookups stay short. Runs after
        every change, and bumps :attr:`version` (encoded DescribeAcls answers are cached by it)."""
        self.version = next(_VERSIONS)
        self._by_type: dict[ResourceType, list[AclBinding]] = {}
        for b in self._bindings.values():
            self._by_type.setdefault(b.resource_type, []).append(b)

    def bindings(self) -> list[AclBinding]:
        return list(self._bindings.values())

    def authorize(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType, name: str
    ) -> bool:
        if principal in self.super_users:
            return True
        on_resource = [b for b in self._by_type.get(resource_type, ()) if _resource_matches(b, name)]
        if not on_resource:
            return self.allow_if_no_acl
        mine = [
            b
            for b in on_resource
            if b.principal in (principal, WILDCARD_PRINCIPAL) and b.host in (host, WILDCARD)
        ]
        if any(b.permission is Permission.DENY and b.operation in (operation, Operation.ALL) for b in mine):
            return False
        allowed_by = _IMPLIED_BY.get(operation, frozenset({operation})) | {Operation.ALL}
        return any(b.permission is Permission.ALLOW and b.operation in allowed_by for b in mine)

    def authorize_any(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType
    ) -> bool:
        """Whether some resource of the type could be allowed (Kafka's authorizeByResourceType)."""
        if principal in self.super_users:
            return True
        mine = [
            b
            for b in self._by_type.get(resource_type, ())
            if b.principal in (principal, WILDCARD_PRINCIPAL) and b.host in (host, WILDCARD)
        ]
        allowed_by = _IMPLIED_BY.get(operation, frozenset({operation})) | {Operation.ALL}
        denied_all = any(
            b.permission is Permission.DENY
            and b.operation in (operation, Operation.ALL)
            and b.resource_name == WILDCARD
            and b.pattern_type is PatternType.LITERAL
            for b in mine
        )
        if denied_all:
            return False
        return any(b.permission is Permission.ALLOW and b.operation in allowed_by for b in mine)

    def create(self, bindings: Sequence[AclBinding]) -> list[tuple[Err, str | None]]:
        results: list[tuple[Err, str | None]] = []
        changes: list[tuple[str, object]] = []
        for b in bindings:
            reason = validate_binding(b)
            if reason is not None:
                results.append((Err.INVALID_REQUEST, reason))
                continue
            self._bindings[b.key()] = b
            changes.append(
                (
                    b.key(),
                    [
                        int(b.resource_type),
                        b.resource_name,
                        int(b.pattern_type),
                        b.principal,
                        b.host,
                        int(b.operation),
                        int(b.permission),
                    ],
                )
            )
            results.append((Err.NONE, None))
        if self._journal is not None:
            self._journal.put_many(changes)
        self._reindex()
        return results

    def describe(self, f: AclFilter) -> list[AclBinding]:
        if f.matches_everything():  # a full listing (a plan's): no per-binding test
            return list(self._bindings.values())
        return [b for b in self._bindings.values() if f.matches(b)]

    def delete(self, filters: Sequence[AclFilter]) -> list[tuple[Err, str | None, list[AclBinding]]]:
        results: list[tuple[Err, str | None, list[AclBinding]]] = []
        changes: list[tuple[str, object]] = []
        for f in filters:
            reason = f.validate()
            if reason is not None:
                results.append((Err.INVALID_REQUEST, reason, []))
                continue
            gone = self.describe(f)
            for b in gone:
                self._bindings.pop(b.key(), None)
                changes.append((b.key(), None))
            results.append((Err.NONE, None, gone))
        if self._journal is not None:
            self._journal.put_many(changes)
        self._reindex()
        return results

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
