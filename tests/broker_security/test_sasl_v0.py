"""SaslHandshake v0 (KIP-43): after the handshake the SASL tokens travel as bare size-prefixed frames
without Kafka headers, then Kafka requests resume on the same connection. Spoken byte by byte to a real
broker process; failures close the connection and are audited like v1."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.admin import AclOperation, ResourceType
from kafka.net.sasl.scram import ScramClient

from tests.broker_security.conftest import USERS, SecureBroker
from tests.broker_security.test_sasl_acl_clients import allow, grant, make_topics
from tests.broker_security.wire import WireClient, read_token, send_token

METADATA_ALL = {"topics": None, "allow_auto_topic_creation": False}


def _v0_handshake(secure: SecureBroker, mechanism: str) -> WireClient:
    client = WireClient(secure.sasl_bootstrap)
    hs = client.request("SaslHandshake", 0, {"mechanism": mechanism})
    assert hs["error_code"] == 0 and mechanism in hs["mechanisms"], hs
    return client


def _audit(secure: SecureBroker, mechanism: str) -> list[dict[str, object]]:
    events = [json.loads(line) for line in secure.audit_lines]
    return [e for e in events if e["event"] == "authentication" and e.get("mechanism") == mechanism]


def _assert_metadata_answered(client: WireClient, secure: SecureBroker) -> None:
    md = client.request("Metadata", 12, METADATA_ALL)
    port = int(secure.sasl_bootstrap.rsplit(":", 1)[1])
    assert [b["port"] for b in md["brokers"]] == [port]  # the listener this client is on


def test_api_versions_advertise_sasl_handshake_0_to_1(secure: SecureBroker) -> None:
    c = WireClient(secure.sasl_bootstrap)
    r = c.request("ApiVersions", 3, {"client_software_name": "t", "client_software_version": "1"})
    [hs] = [k for k in r["api_keys"] if k["api_key"] == 17]
    assert (hs["min_version"], hs["max_version"]) == (0, 1)
    c.close()


def test_v0_plain_then_kafka_requests(secure: SecureBroker) -> None:
    c = _v0_handshake(secure, "PLAIN")
    send_token(c, b"\x00alice\x00" + USERS["alice"].encode())
    assert read_token(c) == b""  # PLAIN success: an empty bare frame
    _assert_metadata_answered(c, secure)
    # The exchange is over: a second handshake on the same connection is refused (as with v1).
    assert c.request("SaslHandshake", 0, {"mechanism": "PLAIN"})["error_code"] != 0
    c.close()
    [ok] = _audit(secure, "PLAIN")
    assert (ok["result"], ok["principal"]) == ("success", "User:alice")


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_v0_scram_then_kafka_requests(secure: SecureBroker, mech: str) -> None:
    c = _v0_handshake(secure, mech)
    scram = ScramClient("bob", USERS["bob"], mech)
    send_token(c, scram.first_message())
    server_first = read_token(c)
    assert server_first.startswith(b"r=")
    scram.process_server_first_message(server_first)
    send_token(c, scram.final_message())
    server_final = read_token(c)
    scram.process_server_final_message(server_final)  # raises unless the server proved the key
    _assert_metadata_answered(c, secure)
    c.close()
    [ok] = _audit(secure, mech)
    assert (ok["result"], ok["principal"]) == ("success", "User:bob")


def test_v0_wrong_password_closes_the_connection(secure: SecureBroker) -> None:
    c = _v0_handshake(secure, "PLAIN")
    send_token(c, b"\x00alice\x00not-the-password")
    assert c.closed_by_peer()
    c.close()

    c = _v0_handshake(secure, "SCRAM-SHA-256")
    scram = ScramClient("alice", "not-the-password", "SCRAM-SHA-256")
    send_token(c, scram.first_message())
    scram.process_server_first_message(read_token(c))  # an unknown proof only fails at the end
    send_token(c, scram.final_message())
    assert c.closed_by_peer()
    c.close()

    # Malformed tokens (an empty frame, a garbage client-first) close the connection as well.
    for mech, token in (("PLAIN", b""), ("SCRAM-SHA-256", b"\xff\x00garbage")):
        c = _v0_handshake(secure, mech)
        send_token(c, token)
        assert c.closed_by_peer()
        c.close()

    failures = [e for m in ("PLAIN", "SCRAM-SHA-256") for e in _audit(secure, m) if e["result"] == "failure"]
    assert {e["principal"] for e in failures} >= {"User:alice"}
    assert len(failures) == 4
    assert not any("not-the-password" in line for line in secure.audit_lines)

    # The broker keeps serving: a correct v0 login still works.
    c = _v0_handshake(secure, "PLAIN")
    send_token(c, b"\x00alice\x00" + USERS["alice"].encode())
    assert read_token(c) == b""
    _assert_metadata_answered(c, secure)
    c.close()


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256"])
def test_kafka_python_pinned_to_an_old_broker_uses_v0(secure: SecureBroker, mech: str) -> None:
    """kafka-python told the broker is 0.11 (before KIP-152) sends SaslHandshake v0 and bare tokens,
    then produces over the same connections."""
    from kafka import KafkaProducer
    from kafka.protocol.broker_version_data import BrokerVersionData
    from kafka.protocol.sasl import SaslHandshakeRequest

    # The premise: for a 0.11 broker kafka-python picks SaslHandshake v0.
    assert BrokerVersionData((0, 11)).api_version(SaslHandshakeRequest(mechanism=mech, max_version=1)) == 0
    make_topics(secure, "v0-topic")  # through confluent-kafka, i.e. SaslHandshake v1
    grant(secure, allow(ResourceType.TOPIC, "v0-topic", "alice", AclOperation.WRITE))
    before = len(secure.audit_lines)
    producer = KafkaProducer(
        bootstrap_servers=secure.sasl_bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mech,
        sasl_plain_username="alice",
        sasl_plain_password=USERS["alice"],
        api_version=(0, 11),
        max_block_ms=15000,
    )
    try:
        first = producer.send("v0-topic", b"x", partition=0).get(15)
        second = producer.send("v0-topic", b"y", partition=0).get(15)
    finally:
        producer.close()
    assert second.offset == first.offset + 1
    events = [json.loads(line) for line in secure.audit_lines[before:]]
    auth = [e for e in events if e["event"] == "authentication"]
    assert auth and all(
        (e["result"], e["principal"], e["mechanism"]) == ("success", "User:alice", mech) for e in auth
    )
