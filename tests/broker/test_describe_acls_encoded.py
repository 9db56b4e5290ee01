"""DescribeAcls answers (encoded by hand, cached per ACL-store version) equal, byte for byte, the generic
codec's encoding of the answer built as dicts from a model of the bindings: across versions, filters,
creations and deletions, several brokers in one process, and cluster authorization.

In-process: a :class:`Broker` that is never started, its handlers called directly; real clients cover
the wire (tests/broker_security, tests/plan)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evtctl.broker.auth.acl import (
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from evtctl.broker.auth.config import SecurityConfig
from evtctl.broker.auth.handlers import create_acls, delete_acls, describe_acls
from evtctl.broker.auth.plugin import install
from evtctl.broker.config import BrokerConfig
from evtctl.broker.context import ConnectionState, RequestContext
from evtctl.broker.protocol.codec import Message, Raw, generic_codec
from evtctl.broker.server import Broker, encode_response

ADMIN = "User:admin"
T, G, C, X = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW, DENY = Permission.ALLOW, Permission.DENY
LONG = "long-" + "n" * 200  # a two-byte compact length at flexible versions

BINDINGS = [
    AclBinding(T, "orders", LIT, "User:alice", "*", Operation.READ, ALLOW),
    AclBinding(T, "orders", LIT, "User:bob", "10.0.0.1", Operation.WRITE, ALLOW),
    AclBinding(T, "orders", LIT, "User:eve", "*", Operation.ALL, DENY),
    AclBinding(T, "tenant-a.", PRE, "User:alice", "*", Operation.ALL, ALLOW),
    AclBinding(T, "*", LIT, "User:*", "*", Operation.DESCRIBE, ALLOW),
    AclBinding(T, "tøpic-ü", LIT, "User:ünïcode", "*", Operation.READ, ALLOW),
    AclBinding(T, LONG, LIT, "User:alice", "*", Operation.DESCRIBE_CONFIGS, ALLOW),
    AclBinding(G, "orders", LIT, "User:alice", "*", Operation.READ, ALLOW),
    AclBinding(G, "g-", PRE, "User:bob", "*", Operation.READ, ALLOW),
    AclBinding(X, "tx-1", LIT, "User:bob", "*", Operation.WRITE, ALLOW),
]
MORE = [
    AclBinding(T, "orders", LIT, "User:carol", "*", Operation.READ, ALLOW),
    AclBinding(T, "a-new-topic", LIT, "User:alice", "*", Operation.READ, ALLOW),
    AclBinding(G, "g-", PRE, "User:carol", "*", Operation.DESCRIBE, DENY),
]


def _filter(
    rt: ResourceType = ResourceType.ANY,
    name: str | None = None,
    pt: PatternType = PatternType.ANY,
    principal: str | None = None,
    host: str | None = None,
    op: Operation = Operation.ANY,
    perm: Permission = Permission.ANY,
) -> AclFilter:
    return AclFilter(rt, name, pt, principal, host, op, perm)


FILTERS = [
    _filter(),  # a plan's: every binding
    _filter(T),
    _filter(T, "orders", LIT),
    _filter(T, "orders", PatternType.MATCH),
    _filter(T, "tenant-a.x", PatternType.MATCH),
    _filter(T, None, PRE),
    _filter(G),
    _filter(principal="User:alice"),
    _filter(host="10.0.0.1"),
    _filter(op=Operation.READ),
    _filter(perm=DENY),
    _filter(T, "nothing-here", LIT),
]


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Any]:
    made: list[Broker] = []

    def make(name: str = "b") -> Broker:
        security = SecurityConfig(super_users=(ADMIN,), allow_everyone_if_no_acl_found=False)
        broker = Broker(BrokerConfig(tmp_path / name, security=security))
        install(broker)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        sec = broker.plugins["security"]
        for part in (sec.acls, sec.credentials, sec.quotas, sec.audit):
            part.close()


def _ctx(broker: Broker, api_key: int, version: int, principal: str = ADMIN) -> RequestContext:
    conn = ConnectionState(("127.0.0.1", 40000), principal=principal)
    return RequestContext(broker, conn, api_key, version, 1, "t")


def _wire(name: str, version: int, body: Message) -> Message:
    """``body`` as the broker decodes it at ``version`` (defaults filled in, fields of other versions
    dropped)."""
    c = generic_codec(name, version)
    return c.decode(bytes(c.encode(body)))


def _create(broker: Broker, bindings: list[AclBinding], version: int = 1) -> None:
    creations = [
        {
            "resource_type": b.resource_type,
            "resource_name": b.resource_name,
            "resource_pattern_type": b.pattern_type,
            "principal": b.principal,
            "host": b.host,
            "operation": b.operation,
            "permission_type": b.permission,
        }
        for b in bindings
    ]
    req = _wire("CreateAclsRequest", version, {"creations": creations})
    results = asyncio.run(create_acls(_ctx(broker, 30, version), req))["results"]
    assert [r["error_code"] for r in results] == [0] * len(bindings)


def _filter_body(f: AclFilter) -> Message:
    return {
        "resource_type_filter": f.resource_type,
        "resource_name_filter": f.resource_name,
        "pattern_type_filter": f.pattern_type,
        "principal_filter": f.principal,
        "host_filter": f.host,
        "operation": f.operation,
        "permission_type": f.permission,
    }


def _delete(broker: Broker, f: AclFilter) -> int:
    req = _wire("DeleteAclsRequest", 1, {"filters": [_filter_body(f)]})
    (result,) = asyncio.run(delete_acls(_ctx(broker, 31, 1), req))["filter_results"]
    assert result["error_code"] == 0
    return len(result["matching_acls"])


def _frame(version: int, response: Message) -> bytes:
    return b"".join(bytes(c) for c in encode_response("DescribeAcls", version, 1, response))


def _describe(broker: Broker, version: int, f: AclFilter, principal: str = ADMIN) -> tuple[bytes, Message]:
    req = _wire("DescribeAclsRequest", version, _filter_body(f))
    response = asyncio.run(describe_acls(_ctx(broker, 29, version, principal), req))
    return _frame(version, response), response


def _expected(model: dict[AclBinding, None], version: int, f: AclFilter) -> bytes:
    """The answer built as dicts (grouped by resource pattern, sorted), encoded by the generic codec."""
    if version == 0:  # no pattern type in v0 filters: LITERAL
        f = AclFilter(f.resource_type, f.resource_name, LIT, f.principal, f.host, f.operation, f.permission)
    grouped: dict[tuple[int, str, int], list[Message]] = {}
    for b in model:
        if f.matches(b):
            grouped.setdefault((b.resource_type, b.resource_name, b.pattern_type), []).append(
                {
                    "principal": b.principal,
                    "host": b.host,
                    "operation": b.operation,
                    "permission_type": b.permission,
                }
            )
    resources = [
        {"resource_type": rt, "resource_name": name, "pattern_type": pt, "acls": acls}
        for (rt, name, pt), acls in sorted(grouped.items())
    ]
    return _frame(
        version, {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "resources": resources}
    )


def _check_all(broker: Broker, model: dict[AclBinding, None]) -> dict[tuple[int, int], bytes]:
    frames = {}
    for version in range(4):
        for i, f in enumerate(FILTERS):
            frame, response = _describe(broker, version, f)
            assert isinstance(response["resources"], Raw)
            assert frame == _expected(model, version, f), (version, f)
            frames[version, i] = frame
    return frames


def test_bytes_equal_generic_encoding_through_creations_and_deletions(make_broker: Any) -> None:
    broker = make_broker()
    model = dict.fromkeys(BINDINGS)
    _create(broker, BINDINGS)
    first = _check_all(broker, model)
    assert _check_all(broker, model) == first  # again, from the cache

    _create(broker, MORE)
    model.update(dict.fromkeys(MORE))
    after_create = _check_all(broker, model)
    assert after_create[1, 0] != first[1, 0]

    assert _delete(broker, _filter(T, "orders", LIT, principal="User:bob")) == 1
    del model[BINDINGS[1]]
    assert _delete(broker, _filter(G, "g-", PRE)) == 2
    del model[BINDINGS[8]], model[MORE[2]]
    after_delete = _check_all(broker, model)
    assert after_delete[1, 0] != after_create[1, 0]

    # Re-created: at the end of the store's order, as before the cache.
    _create(broker, [BINDINGS[1]])
    model[BINDINGS[1]] = None
    _check_all(broker, model)


def test_answers_are_cached_until_a_change(make_broker: Any) -> None:
    broker = make_broker()
    _create(broker, BINDINGS)
    _, one = _describe(broker, 1, _filter())
    _, two = _describe(broker, 1, _filter())
    assert one["resources"] is two["resources"]
    _, other_version = _describe(broker, 2, _filter())
    assert other_version["resources"] is not one["resources"]
    _create(broker, MORE[:1])
    _, three = _describe(broker, 1, _filter())
    assert three["resources"] is not one["resources"]
    assert _delete(broker, _filter(T, "no-such-topic", LIT)) == 0  # a no-op delete is a change too
    _, four = _describe(broker, 1, _filter())
    assert four["resources"] is not three["resources"] and bytes(four["resources"]) == bytes(
        three["resources"]
    )


def test_brokers_in_one_process_do_not_share_answers(make_broker: Any) -> None:
    a, b = make_broker("a"), make_broker("b")
    _create(a, BINDINGS[:3])
    _create(b, MORE)
    for _ in range(2):
        for broker, model in ((a, dict.fromkeys(BINDINGS[:3])), (b, dict.fromkeys(MORE))):
            for version in range(4):
                assert _describe(broker, version, _filter())[0] == _expected(model, version, _filter())


def test_cluster_authorization_and_invalid_filters_as_before(make_broker: Any) -> None:
    broker = make_broker()
    _create(broker, BINDINGS)
    _describe(broker, 1, _filter())  # an answer in the cache must not leak to the unauthorized
    denied = {
        "throttle_time_ms": 0,
        "error_code": 31,  # CLUSTER_AUTHORIZATION_FAILED
        "error_message": "not authorized",
        "resources": [],
    }
    assert _describe(broker, 1, _filter(), "User:alice")[0] == _frame(1, denied)

    _create(broker, [AclBinding(C, "kafka-cluster", LIT, "User:alice", "*", Operation.DESCRIBE, ALLOW)])
    model = dict.fromkeys(
        [*BINDINGS, AclBinding(C, "kafka-cluster", LIT, "User:alice", "*", Operation.DESCRIBE, ALLOW)]
    )
    for version in range(4):
        assert _describe(broker, version, _filter(), "User:alice")[0] == _expected(model, version, _filter())

    invalid = _filter(T, None, PatternType.MATCH)
    expected: Message = {
        "throttle_time_ms": 0,
        "error_code": 42,  # INVALID_REQUEST
        "error_message": invalid.validate(),
        "resources": [],
    }
    assert _describe(broker, 1, invalid)[0] == _frame(1, expected)
