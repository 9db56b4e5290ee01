"""TLS listeners (SSL and SASL_SSL) with confluent-kafka and kafka-python, throwaway certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.broker_groups.helpers import create_topic
from tests.broker_security.certs import Pki, make_pki
from tests.broker_security.conftest import USERS
from tests.support.broker import BrokerProcess, start_broker
from tests.support.tansu import free_port


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[BrokerProcess, Pki, str, str]]:
    pki = make_pki(tmp_path)
    ssl_port, sasl_ssl_port = free_port(), free_port()
    proc = start_broker(
        tmp_path,
        "--registry-listen",
        "off",
        "--ssl-listen",
        f"127.0.0.1:{ssl_port}",
        "--sasl-ssl-listen",
        f"127.0.0.1:{sasl_ssl_port}",
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--tls-ca",
        str(pki.ca),
        "--tls-client-auth",
        "requested",
        "--sasl-user",
        f"alice={USERS['alice']}",
        "--allow-everyone-if-no-acl-found",
    )
    yield proc, pki, f"127.0.0.1:{ssl_port}", f"127.0.0.1:{sasl_ssl_port}"
    proc.stop()


def test_confluent_over_ssl_and_sasl_ssl(tls: tuple[BrokerProcess, Pki, str, str]) -> None:
    proc, pki, ssl_addr, sasl_ssl_addr = tls
    create_topic(proc.bootstrap, "tls", 1)
    ssl_conf = {
        "bootstrap.servers": ssl_addr,
        "security.protocol": "SSL",
        "ssl.ca.location": str(pki.ca),
        "ssl.certificate.location": str(pki.client_cert),
        "ssl.key.location": str(pki.client_key),
    }
    sasl_conf = {
        "bootstrap.servers": sasl_ssl_addr,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(pki.ca),
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": USERS["alice"],
    }
    for i, conf in enumerate((ssl_conf, sasl_conf)):
        p = Producer(conf)
        p.produce("tls", f"m{i}".encode())
        assert p.flush(15) == 0
    c = Consumer({**sasl_conf, "group.id": "tls-g"})
    c.assign([TopicPartition("tls", 0, 0)])
    got = []
    for _ in range(100):
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg.value())
        if len(got) == 2:
            break
    c.close()
    assert got == [b"m0", b"m1"]
    # A client that does not trust the broker's CA cannot connect.
    errors: list[object] = []
    bad = Producer(
        {
            "bootstrap.servers": ssl_addr,
            "security.protocol": "SSL",
            "error_cb": errors.append,
            "message.timeout.ms": 2000,
        }
    )
    delivery: list[object] = []
    bad.produce("tls", b"x", on_delivery=lambda err, msg: delivery.append(err))
    bad.flush(5)
    assert delivery and delivery[0] is not None  # never delivered
    assert any("SSL" in str(e) or "certificate" in str(e) for e in errors)


def test_kafka_python_over_sasl_ssl(tls: tuple[BrokerProcess, Pki, str, str]) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    proc, pki, _, sasl_ssl_addr = tls
    create_topic(proc.bootstrap, "kp-tls", 1)
    common = {
        "bootstrap_servers": sasl_ssl_addr,
        "security_protocol": "SASL_SSL",
        "ssl_cafile": str(pki.ca),
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice",
        "sasl_plain_password": USERS["alice"],
    }
    producer = KafkaProducer(**common)
    producer.send("kp-tls", b"hello").get(15)
    producer.close()
    consumer = KafkaConsumer("kp-tls", auto_offset_reset="earliest", consumer_timeout_ms=5000, **common)
    got = []
    for record in consumer:
        got.append(record.value)
        break
    consumer.close()
    assert got == [b"hello"]


def test_client_certificate_becomes_the_principal(tmp_path: Path) -> None:
    """The mapping from a verified client certificate to a Kafka principal (the broker core hands the
    TLS object to the connection hook as ``conn.extra["ssl_object"]``)."""
    import socket
    import ssl
    import threading

    from evtctl.broker.auth.config import SecurityConfig
    from evtctl.broker.auth.plugin import _tls_principal
    from evtctl.broker.context import ConnectionState

    pki = make_pki(tmp_path)
    server_ctx = SecurityConfig(
        tls_cert=pki.server_cert, tls_key=pki.server_key, tls_ca=pki.ca, tls_client_auth="required"
    ).server_ssl_context()
    client_ctx = ssl.create_default_context(cafile=str(pki.ca))
    client_ctx.load_cert_chain(pki.client_cert, pki.client_key)
    a, b = socket.socketpair()
    with a, b:
        client_done = threading.Thread(
            target=lambda: client_ctx.wrap_socket(b, server_hostname="localhost").close()
        )
        client_done.start()
        server_side = server_ctx.wrap_socket(a, server_side=True)
        conn = ConnectionState(("127.0.0.1", 1), listener="SSL")
        conn.extra["ssl_object"] = server_side
        assert _tls_principal(conn) == "User:CN=alice,O=evtctl-test"
        client_done.join(10)
        assert _tls_principal(ConnectionState(("127.0.0.1", 2), listener="SSL")) is None


def test_client_certificate_principal_end_to_end(tmp_path: Path) -> None:
    """With ACLs enforced and only the certificate's DN as super user, a client authenticated by
    its certificate may create and write topics, and one without a certificate may not."""
    from confluent_kafka.admin import AdminClient, NewTopic

    pki = make_pki(tmp_path)
    ssl_port = free_port()
    proc = start_broker(
        tmp_path,
        "--registry-listen",
        "off",
        "--ssl-listen",
        f"127.0.0.1:{ssl_port}",
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--tls-ca",
        str(pki.ca),
        "--tls-client-auth",
        "requested",
        "--super-users",
        "User:CN=alice,O=evtctl-test",
        "--no-allow-everyone-if-no-acl-found",
    )
    try:
        base = {
            "bootstrap.servers": f"127.0.0.1:{ssl_port}",
            "security.protocol": "SSL",
            "ssl.ca.location": str(pki.ca),
        }
        alice = {
            **base,
            "ssl.certificate.location": str(pki.client_cert),
            "ssl.key.location": str(pki.client_key),
        }
        admin = AdminClient(alice)
        for future in admin.create_topics([NewTopic("certs", 1, 1)]).values():
            future.result(timeout=15)
        p = Producer(alice)
        p.produce("certs", b"by certificate")
        assert p.flush(15) == 0
        denied: list[object] = []
        anonymous = Producer({**base, "message.timeout.ms": 3000})
        anonymous.produce("certs", b"x", on_delivery=lambda err, msg: denied.append(err))
        anonymous.flush(10)
        assert denied and denied[0] is not None and "AUTHORIZATION" in str(denied[0]).upper()
    finally:
        proc.stop()
