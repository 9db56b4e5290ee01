"""Malformed SASL exchanges, replayed SCRAM messages, requests before authentication and ACL filter
abuse, spoken byte by byte to a real broker process: the right errors, nothing leaked, still serving."""

from __future__ import annotations

import json

from kafka.net.sasl.scram import ScramClient

from evtctl.broker.groups.codes import Err
from tests.broker_security.conftest import USERS, SecureBroker
from tests.broker_security.wire import WireClient, sasl_login


def scram_login(
    secure: SecureBroker, user: str, password: str, mech: str = "SCRAM-SHA-256", client_id: str = "wire-test"
) -> tuple[WireClient, list[bytes], list[dict[str, object]]]:
    client = WireClient(secure.sasl_bootstrap, client_id=client_id)
    scram = ScramClient(user, password, mech)
    first = scram.first_message()
    hs = client.request("SaslHandshake", 1, {"mechanism": mech})
    assert hs["error_code"] == 0 and mech in hs["mechanisms"]
    r1 = client.request("SaslAuthenticate", 2, {"auth_bytes": first})
    replies = [r1]
    sent = [first]
    if r1["error_code"] == 0:
        scram.process_server_first_message(r1["auth_bytes"])
        final = scram.final_message()
        sent.append(final)
        replies.append(client.request("SaslAuthenticate", 2, {"auth_bytes": final}))
    return client, sent, replies


def test_requests_before_authentication_close_the_connection(secure: SecureBroker) -> None:
    c = WireClient(secure.sasl_bootstrap)
    assert (
        c.request("ApiVersions", 3, {"client_software_name": "t", "client_software_version": "1"})[
            "error_code"
        ]
        == 0
    )
    c.send_raw(b"\x00\x03\x00\x0c\x00\x00\x00\x07\x00\x01x\x00\x00\x00\x00\x00\x00")  # Metadata v12
    assert c.closed_by_peer()
    c.close()


def test_bad_handshakes_and_malformed_tokens(secure: SecureBroker) -> None:
    c = WireClient(secure.sasl_bootstrap)
    r = c.request("SaslAuthenticate", 2, {"auth_bytes": b"n,,n=alice,r=abc"})
    assert r["error_code"] == Err.ILLEGAL_SASL_STATE  # no handshake yet
    hs = c.request("SaslHandshake", 1, {"mechanism": "GSSAPI"})
    assert hs["error_code"] == Err.UNSUPPORTED_SASL_MECHANISM
    assert set(hs["mechanisms"]) == {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
    c.close()
    for token in (
        b"",
        b"\xff\xfe\x00",
        b"p=tls-server-end-point,,n=alice,r=x",
        b"n,,n=alice",
        b"n,,n=a=ZZ,r=x",
    ):
        c = WireClient(secure.sasl_bootstrap)
        [reply] = sasl_login(c, "SCRAM-SHA-256", [token])
        assert reply["error_code"] in (Err.ILLEGAL_SASL_STATE, Err.SASL_AUTHENTICATION_FAILED)
        # The exchange is over: another token is refused, other requests close the connection.
        again = c.request("SaslAuthenticate", 2, {"auth_bytes": b"n,,n=alice,r=abc"})
        assert again["error_code"] == Err.ILLEGAL_SASL_STATE
        c.close()
    # PLAIN with the wrong shape or wrong password.
    for token in (b"alice", b"\x00alice\x00wrong", b"\x00\x00", b"x\x00alice\x00" + USERS["alice"].encode()):
        c = WireClient(secure.sasl_bootstrap)
        [reply] = sasl_login(c, "PLAIN", [token])
        assert reply["error_code"] == Err.SASL_AUTHENTICATION_FAILED
        c.close()
    # On the plain listener there is no SASL.
    plain = WireClient(secure.proc.bootstrap)
    assert plain.request("SaslHandshake", 1, {"mechanism": "PLAIN"})["error_code"] == Err.ILLEGAL_SASL_STATE
    plain.close()


def test_replayed_scram_messages_are_rejected(secure: SecureBroker) -> None:
    ok, sent, replies = scram_login(secure, "alice", USERS["alice"])
    assert [r["error_code"] for r in replies] == [0, 0]
    assert replies[1]["auth_bytes"].startswith(b"v=")
    assert ok.request("Metadata", 12, {"topics": None, "allow_auto_topic_creation": False})["brokers"]
    ok.close()
    # Replay the captured client-first and client-final on a fresh connection.
    replay = WireClient(secure.sasl_bootstrap)
    r1, r2 = sasl_login(replay, "SCRAM-SHA-256", sent)
    assert r1["error_code"] == 0  # the server answers with a new nonce...
    assert r2["error_code"] == Err.SASL_AUTHENTICATION_FAILED  # ...so the old proof is worthless
    replay.send_raw(b"\x00\x03\x00\x0c\x00\x00\x00\x07\x00\x01x\x00\x00\x00\x00\x00\x00")
    assert replay.closed_by_peer()
    replay.close()


def test_wrong_password_and_unknown_user_look_the_same(secure: SecureBroker) -> None:
    _, _, wrong = scram_login(secure, "alice", "nope")
    _, _, unknown = scram_login(secure, "nobody-here", "nope")
    assert wrong[-1]["error_code"] == unknown[-1]["error_code"] == Err.SASL_AUTHENTICATION_FAILED
    assert wrong[-1]["error_message"] == unknown[-1]["error_message"]
    assert wrong[0]["auth_bytes"].count(b",") == unknown[0]["auth_bytes"].count(b",") == 2  # r=,s=,i=
    # The broker still serves everyone.
    good, _, replies = scram_login(secure, "bob", USERS["bob"], "SCRAM-SHA-512")
    assert replies[-1]["error_code"] == 0
    good.close()
    audit = "\n".join(secure.audit_lines)
    assert "nope" not in audit and USERS["bob"] not in audit


def admin_wire(secure: SecureBroker, user: str = "admin") -> WireClient:
    client, _, replies = scram_login(secure, user, USERS[user])
    assert replies[-1]["error_code"] == 0
    return client


ANY_FILTER = {
    "resource_type_filter": 1,
    "resource_name_filter": None,
    "pattern_type_filter": 1,
    "principal_filter": None,
    "host_filter": None,
    "operation": 1,
    "permission_type": 1,
}


def test_acl_filter_abuse(secure: SecureBroker) -> None:
    adm = admin_wire(secure)
    created = adm.request(
        "CreateAcls",
        3,
        {
            "creations": [
                {
                    "resource_type": 2,
                    "resource_name": "ok",
                    "resource_pattern_type": 3,
                    "principal": "User:alice",
                    "host": "*",
                    "operation": 3,
                    "permission_type": 3,
                },
                {
                    "resource_type": 2,
                    "resource_name": "x",
                    "resource_pattern_type": 2,
                    "principal": "User:alice",
                    "host": "*",
                    "operation": 3,
                    "permission_type": 3,
                },  # MATCH is a filter, not a pattern
                {
                    "resource_type": 2,
                    "resource_name": "x",
                    "resource_pattern_type": 3,
                    "principal": "alice",
                    "host": "*",
                    "operation": 3,
                    "permission_type": 3,
                },  # principal without a type
                {
                    "resource_type": 1,
                    "resource_name": "x",
                    "resource_pattern_type": 3,
                    "principal": "User:a",
                    "host": "*",
                    "operation": 1,
                    "permission_type": 1,
                },  # ANY everything
                {
                    "resource_type": 77,
                    "resource_name": "x",
                    "resource_pattern_type": 3,
                    "principal": "User:a",
                    "host": "*",
                    "operation": 3,
                    "permission_type": 3,
                },  # unknown resource type
            ]
        },
    )
    assert [r["error_code"] for r in created["results"]] == [0] + [Err.INVALID_REQUEST] * 4
    for bad in (
        {"resource_type_filter": 0},
        {"pattern_type_filter": 2, "resource_name_filter": None},
        {"operation": 0},
        {"permission_type": 0},
        {"resource_type_filter": 99},
    ):
        r = adm.request("DescribeAcls", 3, {**ANY_FILTER, **bad})
        assert r["error_code"] == Err.INVALID_REQUEST and r["resources"] == []
    everything = adm.request("DescribeAcls", 3, ANY_FILTER)
    assert [(res["resource_name"], len(res["acls"])) for res in everything["resources"]] == [("ok", 1)]
    adm.close()

    alice = admin_wire(secure, "alice")
    denied = alice.request("DescribeAcls", 3, ANY_FILTER)
    assert denied["error_code"] == Err.CLUSTER_AUTHORIZATION_FAILED and denied["resources"] == []
    deleted = alice.request("DeleteAcls", 3, {"filters": [ANY_FILTER]})
    assert deleted["filter_results"][0]["error_code"] == Err.CLUSTER_AUTHORIZATION_FAILED
    assert deleted["filter_results"][0]["matching_acls"] == []
    quotas = alice.request("DescribeClientQuotas", 1, {"components": [], "strict": False})
    assert quotas["error_code"] == Err.CLUSTER_AUTHORIZATION_FAILED
    alice.close()

    adm = admin_wire(secure)
    assert len(adm.request("DescribeAcls", 3, ANY_FILTER)["resources"]) == 1  # nothing was deleted
    gone = adm.request("DeleteAcls", 3, {"filters": [{**ANY_FILTER, "resource_type_filter": 0}, ANY_FILTER]})
    codes = [(f["error_code"], len(f["matching_acls"])) for f in gone["filter_results"]]
    assert codes == [(Err.INVALID_REQUEST, 0), (0, 1)]
    adm.close()
    events = [json.loads(line) for line in secure.audit_lines]
    assert any(
        e["event"] == "authorization" and e["principal"] == "User:alice" and e["resource_type"] == "CLUSTER"
        for e in events
    )
