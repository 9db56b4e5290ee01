"""SASL and ACLs with real clients: confluent-kafka (librdkafka) and kafka-python."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.broker_security.conftest import USERS, SecureBroker

LIT, PRE = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED


def admin(secure: SecureBroker) -> AdminClient:
    return AdminClient(secure.conf("admin"))


def grant(secure: SecureBroker, *bindings: AclBinding) -> None:
    client = admin(secure)  # keep the handle alive until the futures resolve
    for fut in client.create_acls(list(bindings), request_timeout=15).values():
        fut.result()


def allow(
    rtype: ResourceType, name: str, user: str, op: AclOperation, pattern: ResourcePatternType = LIT
) -> AclBinding:
    return AclBinding(rtype, name, pattern, f"User:{user}", "*", op, AclPermissionType.ALLOW)


def make_topics(secure: SecureBroker, *names: str) -> None:
    client = admin(secure)
    futs = client.create_topics([NewTopic(n, 2, 1) for n in names])
    for fut in futs.values():
        fut.result(15)


def produce(conf: dict[str, object], topic: str, n: int) -> list[KafkaError | None]:
    errors: list[KafkaError | None] = []
    producer = Producer({**conf, "message.timeout.ms": 10000})
    for i in range(n):
        producer.produce(topic, value=str(i).encode(), on_delivery=lambda err, msg: errors.append(err))
    producer.flush(20)
    return errors


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_confluent_sasl_produce_consume_with_acls(secure: SecureBroker, mechanism: str) -> None:
    make_topics(secure, "payments")
    grant(
        secure,
        allow(ResourceType.TOPIC, "payments", "alice", AclOperation.WRITE),
        allow(ResourceType.TOPIC, "payments", "alice", AclOperation.READ),
        allow(ResourceType.GROUP, "alice-", "alice", AclOperation.READ, PRE),
    )
    assert produce(secure.conf("alice", mechanism), "payments", 10) == [None] * 10
    consumer = Consumer(
        secure.conf("alice", mechanism, **{"group.id": "alice-g", "auto.offset.reset": "earliest"})
    )
    consumer.subscribe(["payments"])
    got = []
    for _ in range(100):
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            got.append(int(msg.value()))
        if len(got) == 10:
            break
    consumer.commit(asynchronous=False)
    consumer.close()
    assert sorted(got) == list(range(10))
    events = [json.loads(line) for line in secure.audit_lines]
    assert any(
        e["event"] == "authentication"
        and e["result"] == "success"
        and e["principal"] == "User:alice"
        and e["mechanism"] == mechanism
        for e in events
    )


def test_acl_denials_reach_clients_as_authorization_errors(secure: SecureBroker) -> None:
    make_topics(secure, "secret")
    errors = produce(secure.conf("bob"), "secret", 1)
    assert errors[0] is not None and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    grant(secure, allow(ResourceType.TOPIC, "secret", "bob", AclOperation.READ))
    consumer = Consumer(secure.conf("bob", **{"group.id": "bob-g"}))
    consumer.subscribe(["secret"])
    error = None
    for _ in range(50):
        msg = consumer.poll(0.2)
        if msg is not None and msg.error():
            error = msg.error()
            break
    consumer.close()
    assert error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    events = [json.loads(line) for line in secure.audit_lines]
    denied = [e for e in events if e["result"] == "denied" and e["principal"] == "User:bob"]
    assert {(e["resource_type"], e["resource_name"]) for e in denied} >= {
        ("TOPIC", "secret"),
        ("GROUP", "bob-g"),
    }
    assert all(e["client"].startswith("127.0.0.1:") and e["operation"] for e in denied)


def test_tenant_isolation(secure: SecureBroker) -> None:
    make_topics(secure, "tenant-a.orders", "tenant-b.orders")
    for t in ("tenant-a", "tenant-b"):
        grant(
            secure,
            allow(ResourceType.TOPIC, f"{t}.", t, AclOperation.ALL, PRE),
            allow(ResourceType.GROUP, f"{t}.", t, AclOperation.ALL, PRE),
        )
    assert produce(secure.conf("tenant-b"), "tenant-b.orders", 3) == [None] * 3
    b = Consumer(secure.conf("tenant-b", **{"group.id": "tenant-b.app"}))
    b.commit(offsets=[TopicPartition("tenant-b.orders", 0, 1)], asynchronous=False)
    b.close()
    b_admin = AdminClient(secure.conf("tenant-b"))
    own = b_admin.describe_consumer_groups(["tenant-b.app"], include_authorized_operations=True)
    ops = set(own["tenant-b.app"].result(10).authorized_operations or ())
    assert ops == {AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE}

    a_conf = secure.conf("tenant-a")
    a_admin = AdminClient(a_conf)
    # See: B's topics and groups are invisible.
    assert set(a_admin.list_topics(timeout=10).topics) == {"tenant-a.orders"}
    assert "tenant-b.app" not in {g.group_id for g in a_admin.list_consumer_groups().result(10).valid}
    # Describe: explicitly asking is refused.
    described = a_admin.describe_consumer_groups(["tenant-b.app"])["tenant-b.app"]
    with pytest.raises(KafkaException) as group_denied:
        described.result(10)
    assert group_denied.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    metadata = a_admin.list_topics(topic="tenant-b.orders", timeout=10).topics["tenant-b.orders"]
    assert metadata.error is not None and metadata.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    configs = a_admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "tenant-b.orders")])
    with pytest.raises(KafkaException) as configs_denied:
        next(iter(configs.values())).result(10)
    assert configs_denied.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # Write: refused.
    errs = produce(a_conf, "tenant-b.orders", 1)
    assert errs[0] is not None and errs[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # Read: refused, both B's data and B's committed offsets.
    a = Consumer({**a_conf, "group.id": "tenant-a.app"})
    a.subscribe(["tenant-b.orders"])
    msg = None
    for _ in range(50):
        msg = a.poll(0.2)
        if msg is not None:
            break
    assert msg is not None and msg.error() is not None
    assert msg.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    a.close()
    offsets = a_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("tenant-b.app")])
    with pytest.raises(KafkaException) as offsets_denied:
        offsets["tenant-b.app"].result(10)
    assert offsets_denied.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    # And A's own world works.
    assert produce(a_conf, "tenant-a.orders", 2) == [None] * 2


def test_wrong_password_and_unknown_user_fail_and_broker_keeps_serving(secure: SecureBroker) -> None:
    for user, password in (("alice", "not-it"), ("mallory", "whatever")):
        errors: list[KafkaError] = []
        p = Producer(
            {
                **secure.conf("alice"),
                "sasl.username": user,
                "sasl.password": password,
                "error_cb": errors.append,
            }
        )
        p.produce("payments", b"x")
        deadline = time.monotonic() + 10
        while not errors and time.monotonic() < deadline:
            p.poll(0.1)
        p.purge()
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
    failures = [json.loads(line) for line in secure.audit_lines if '"failure"' in line]
    assert {f["principal"] for f in failures} >= {"User:alice", "User:mallory"}
    assert all("not-it" not in line and "whatever" not in line for line in secure.audit_lines)
    make_topics(secure, "still-serving")  # the broker keeps serving authenticated clients
    assert "still-serving" in admin(secure).list_topics(timeout=10).topics


def test_kafka_python_scram_and_plain(secure: SecureBroker) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    make_topics(secure, "kp")
    grant(
        secure,
        allow(ResourceType.TOPIC, "kp", "alice", AclOperation.ALL),
        allow(ResourceType.GROUP, "kp-g", "alice", AclOperation.ALL),
    )
    common = {
        "bootstrap_servers": secure.sasl_bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_plain_username": "alice",
        "sasl_plain_password": USERS["alice"],
    }
    # kafka-python is idempotent by default: WRITE on a topic implies IDEMPOTENT_WRITE (KIP-679).
    producer = KafkaProducer(sasl_mechanism="SCRAM-SHA-512", **common)
    for i in range(5):
        producer.send("kp", str(i).encode()).get(15)
    producer.close()
    consumer = KafkaConsumer(
        "kp",
        group_id="kp-g",
        auto_offset_reset="earliest",
        consumer_timeout_ms=8000,
        sasl_mechanism="PLAIN",
        **common,
    )
    got = []
    for record in consumer:
        got.append(int(record.value))
        if len(got) == 5:
            break
    consumer.commit()
    consumer.close()
    assert sorted(got) == list(range(5))
