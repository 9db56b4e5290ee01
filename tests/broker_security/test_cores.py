"""Authorizer and SASL mechanisms without a network (kafka-python's ScramClient as the peer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.net.sasl.scram import ScramClient

from evtctl.broker.auth.acl import (
    AclBinding,
    AclFilter,
    Authorizer,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from evtctl.broker.auth.scram import CredentialStore, PlainServer, SaslError, ScramServer
from evtctl.broker.groups.codes import Err

T, G = ResourceType.TOPIC, ResourceType.GROUP
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED


def acl(
    rt: ResourceType,
    name: str,
    pt: PatternType,
    principal: str,
    op: Operation,
    perm: Permission = Permission.ALLOW,
    host: str = "*",
) -> AclBinding:
    return AclBinding(rt, name, pt, principal, host, op, perm)


def test_authorizer_semantics(tmp_path: Path) -> None:
    az = Authorizer(tmp_path, super_users=["User:admin"], allow_everyone_if_no_acl_found=False)
    results = az.create(
        [
            acl(T, "orders", LIT, "User:alice", Operation.READ),
            acl(T, "tenant-a.", PRE, "User:alice", Operation.ALL),
            acl(T, "tenant-a.secret", LIT, "User:alice", Operation.READ, Permission.DENY),
            acl(T, "*", LIT, "User:*", Operation.DESCRIBE_CONFIGS),
            acl(T, "cfg", LIT, "User:bob", Operation.ALTER_CONFIGS),
            acl(G, "g1", LIT, "User:bob", Operation.READ, host="10.0.0.1"),
            acl(T, "*", PRE, "User:x", Operation.READ),  # invalid: PREFIXED wildcard
            acl(T, "t", LIT, "nobody", Operation.READ),  # invalid principal
        ]
    )
    assert [e for e, _ in results] == [Err.NONE] * 6 + [Err.INVALID_REQUEST] * 2
    ok = az.authorize
    assert ok("User:alice", "h", Operation.READ, T, "orders")
    assert ok("User:alice", "h", Operation.DESCRIBE, T, "orders")  # READ implies DESCRIBE
    assert not ok("User:alice", "h", Operation.WRITE, T, "orders")
    assert ok("User:alice", "h", Operation.WRITE, T, "tenant-a.x")  # PREFIXED + ALL
    assert not ok("User:alice", "h", Operation.READ, T, "tenant-a.secret")  # DENY wins
    assert ok("User:alice", "h", Operation.WRITE, T, "tenant-a.secret")  # DENY only for READ
    assert ok("User:carol", "h", Operation.DESCRIBE_CONFIGS, T, "anything")  # wildcard resource+principal
    assert ok("User:bob", "h", Operation.DESCRIBE_CONFIGS, T, "cfg")
    assert not ok("User:carol", "h", Operation.READ, T, "no-acls-here")  # allow.everyone... false
    assert ok("User:admin", "h", Operation.DELETE, T, "orders")  # super user
    assert ok("User:bob", "10.0.0.1", Operation.READ, G, "g1")
    assert not ok("User:bob", "10.0.0.2", Operation.READ, G, "g1")
    # Durable: a new authorizer over the same directory sees the same bindings.
    assert len(Authorizer(tmp_path).bindings()) == 6


def test_acl_filters_any_match_and_delete(tmp_path: Path) -> None:
    az = Authorizer(None)
    az.create(
        [
            acl(T, "a.b", LIT, "User:u", Operation.READ),
            acl(T, "a.", PRE, "User:u", Operation.WRITE),
            acl(T, "*", LIT, "User:v", Operation.READ),
            acl(G, "a.b", LIT, "User:u", Operation.READ),
        ]
    )

    def f(rt: ResourceType, name: str | None, pt: PatternType, principal: str | None = None) -> AclFilter:
        return AclFilter(rt, name, pt, principal, None, Operation.ANY, Permission.ANY)

    assert len(az.describe(f(ResourceType.ANY, None, PatternType.ANY))) == 4
    assert len(az.describe(f(T, "a.b", PatternType.ANY))) == 1  # ANY: exact name, any pattern type
    assert len(az.describe(f(T, "a.b", PatternType.MATCH))) == 3  # literal, prefix and wildcard
    assert len(az.describe(f(T, "a.", PRE))) == 1
    assert f(T, None, PatternType.MATCH).validate() is not None
    assert (
        AclFilter(
            ResourceType.UNKNOWN, None, PatternType.ANY, None, None, Operation.ANY, Permission.ANY
        ).validate()
        is not None
    )
    results = az.delete([f(T, "a.b", PatternType.MATCH, "User:u"), f(ResourceType.UNKNOWN, None, LIT)])
    assert [(e, len(gone)) for e, _, gone in results] == [(Err.NONE, 2), (Err.INVALID_REQUEST, 0)]
    assert len(az.bindings()) == 2


def scram_exchange(store: CredentialStore, mech: str, user: str, password: str) -> tuple[ScramServer, bytes]:
    client = ScramClient(user, password, mech)
    server = ScramServer(store, mech)
    client.process_server_first_message(server.evaluate(client.first_message()))
    final = client.final_message()
    client.process_server_final_message(server.evaluate(final))  # verifies server signature
    return server, final


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_success_wrong_password_replay_unknown_user(tmp_path: Path, mech: str) -> None:
    store = CredentialStore(tmp_path)
    store.set_password("alice", "s3cret", iterations=4096)
    server, final = scram_exchange(store, mech, "alice", "s3cret")
    assert server.complete and server.user == "alice"
    with pytest.raises(SaslError) as wrong:
        scram_exchange(store, mech, "alice", "nope")
    with pytest.raises(SaslError) as unknown:
        scram_exchange(store, mech, "mallory", "nope")
    assert wrong.value.code == unknown.value.code == Err.SASL_AUTHENTICATION_FAILED
    assert wrong.value.message == unknown.value.message  # no user enumeration
    # Replay the captured client-final into a new exchange: the server nonce differs.
    fresh = ScramServer(store, mech)
    fresh.evaluate(b"n,,n=alice,r=" + final.split(b"r=")[1].split(b",")[0][:10])
    with pytest.raises(SaslError):
        fresh.evaluate(final)
    with pytest.raises(SaslError) as again:
        server.evaluate(final)  # a finished exchange accepts nothing more
    assert again.value.code == Err.ILLEGAL_SASL_STATE
    # Nothing at rest contains the password.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes()


@pytest.mark.parametrize(
    "bad", [b"", b"\xff\xfe", b"p=tls-unique,,n=a,r=x", b"n,,r=x", b"n,,n=a,r=", b"garbage"]
)
def test_scram_malformed_client_first(tmp_path: Path, bad: bytes) -> None:
    with pytest.raises(SaslError):
        ScramServer(CredentialStore(None), "SCRAM-SHA-256").evaluate(bad)


def test_plain(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.set_password("bob", "pw", iterations=4096)
    ok = PlainServer(store)
    ok.evaluate(b"\x00bob\x00pw")
    assert ok.complete and ok.user == "bob"
    for token in (b"\x00bob\x00wrong", b"bob\x00pw", b"\x00nobody\x00pw", b"\x00\x00"):
        with pytest.raises(SaslError):
            PlainServer(store).evaluate(token)
    # Credentials survive a restart (salted keys only).
    assert CredentialStore(tmp_path).check_password("bob", "pw")


def test_authorize_any_for_idempotent_write() -> None:
    az = Authorizer(None, allow_everyone_if_no_acl_found=False)
    az.create([acl(T, "orders", LIT, "User:alice", Operation.WRITE)])
    assert az.authorize_any("User:alice", "h", Operation.WRITE, T)
    assert not az.authorize_any("User:bob", "h", Operation.WRITE, T)
    assert not az.authorize_any("User:alice", "h", Operation.WRITE, ResourceType.TRANSACTIONAL_ID)
    az.create([acl(T, "*", LIT, "User:alice", Operation.WRITE, Permission.DENY)])
    assert not az.authorize_any("User:alice", "h", Operation.WRITE, T)


def test_quota_precedence_buckets_and_durability(tmp_path: Path) -> None:
    from evtctl.broker.quotas import PRODUCER_BYTE_RATE, QuotaManager

    q = QuotaManager(tmp_path)
    assert q.alter((("user", None),), [(PRODUCER_BYTE_RATE, 1000.0, False)], validate_only=False) is None
    assert (
        q.alter(
            (("user", "alice"), ("client-id", "app")),
            [(PRODUCER_BYTE_RATE, 50.0, False)],
            validate_only=False,
        )
        is None
    )
    assert q.alter((("user", "x"),), [("bogus", 1.0, False)], validate_only=False) is not None
    assert q.alter((("planet", "x"),), [(PRODUCER_BYTE_RATE, 1.0, False)], validate_only=False) is not None
    assert q.alter((("user", "x"),), [(PRODUCER_BYTE_RATE, 9.0, False)], validate_only=True) is None
    # user+client beats the default user; others fall back to <default> user.
    assert q.quota_for("alice", "app", PRODUCER_BYTE_RATE) == (
        (("client-id", "app"), ("user", "alice")),
        50.0,
    )
    assert q.quota_for("bob", "app", PRODUCER_BYTE_RATE) == ((("user", None),), 1000.0)
    assert q.quota_for("x", "app", PRODUCER_BYTE_RATE) == (
        (("user", None),),
        1000.0,
    )  # validate_only kept out
    # One second of credit, then throttle proportional to the overdraft.
    assert q.record("bob", "c", PRODUCER_BYTE_RATE, 1000) == 0
    throttle = q.record("bob", "c", PRODUCER_BYTE_RATE, 500)
    assert 400 <= throttle <= 500
    # Default-user buckets are per user: carol has her own credit.
    assert q.record("carol", "c", PRODUCER_BYTE_RATE, 1000) == 0
    assert q.record("nobody", "c", "consumer_byte_rate", 10**9) == 0  # no quota for that key
    q.close()
    again = QuotaManager(tmp_path)
    assert {e for e, _ in again.describe([("user", 2, None)], strict=False)} == {
        (("user", None),),
        (("client-id", "app"), ("user", "alice")),
    }
    assert [e for e, _ in again.describe([("user", 1, None)], strict=True)] == [(("user", None),)]
