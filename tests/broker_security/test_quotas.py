"""Client quotas: managed over the wire, enforced on a real librdkafka producer with throttle_time_ms."""

from __future__ import annotations

import json

from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from evtctl.broker.groups.codes import Err
from tests.broker_security.conftest import USERS, SecureBroker
from tests.broker_security.test_wire_abuse import admin_wire, scram_login

RATE = 100_000.0  # bytes/s


def _produce_and_watch_throttle(conf: dict[str, object], topic: str, total: int) -> int:
    """Produce ``total`` bytes; return the largest broker throttle librdkafka reported (ms)."""
    seen: list[int] = [0]

    def on_stats(raw: str) -> None:
        for b in json.loads(raw)["brokers"].values():
            seen.append(int(b.get("throttle", {}).get("max", 0)))

    p = Producer(
        {**conf, "statistics.interval.ms": 100, "stats_cb": on_stats, "linger.ms": 5, "batch.size": 20_000}
    )
    chunk = b"x" * 5_000
    for _ in range(total // len(chunk)):
        p.produce(topic, chunk)
        p.poll(0)
    assert p.flush(60) == 0
    for _ in range(5):
        p.poll(0.15)  # let the last statistics arrive
    return max(seen)


def test_byte_rate_quotas_throttle_only_their_entity(secure: SecureBroker) -> None:
    admin = AdminClient(secure.conf("admin"))
    admin.create_topics([NewTopic("metered", 1, 1)])["metered"].result(15)
    for fut in admin.create_acls(
        [
            AclBinding(
                ResourceType.TOPIC,
                "metered",
                ResourcePatternType.LITERAL,
                f"User:{u}",
                "*",
                AclOperation.WRITE,
                AclPermissionType.ALLOW,
            )
            for u in ("alice", "bob")
        ]
    ).values():
        fut.result(15)
    wire = admin_wire(secure)
    entity = [{"entity_type": "user", "entity_name": "alice"}]
    bad = wire.request(
        "AlterClientQuotas",
        1,
        {
            "entries": [
                {"entity": entity, "ops": [{"key": "no_such_quota", "value": 1.0, "remove": False}]},
                {
                    "entity": [{"entity_type": "planet", "entity_name": "x"}],
                    "ops": [{"key": "producer_byte_rate", "value": 1.0, "remove": False}],
                },
            ],
            "validate_only": False,
        },
    )
    assert [e["error_code"] for e in bad["entries"]] == [Err.INVALID_REQUEST, Err.INVALID_REQUEST]
    ok = wire.request(
        "AlterClientQuotas",
        1,
        {
            "entries": [
                {"entity": entity, "ops": [{"key": "producer_byte_rate", "value": RATE, "remove": False}]}
            ],
            "validate_only": False,
        },
    )
    assert ok["entries"][0]["error_code"] == 0
    described = wire.request(
        "DescribeClientQuotas",
        1,
        {"components": [{"entity_type": "user", "match_type": 0, "match": "alice"}], "strict": False},
    )
    assert described["error_code"] == 0
    assert [(v["key"], v["value"]) for e in described["entries"] for v in e["values"]] == [
        ("producer_byte_rate", RATE)
    ]
    wire.close()

    total = 400_000  # four seconds' worth of alice's quota
    alice_throttle = _produce_and_watch_throttle(secure.conf("alice"), "metered", total)
    bob_throttle = _produce_and_watch_throttle(secure.conf("bob"), "metered", total)
    assert bob_throttle == 0
    # Throttled, and by no more than the whole excess over one second's burst could justify.
    assert 0 < alice_throttle <= (total - RATE) / RATE * 1000 + 1000

    # Consumer side: a consumer_byte_rate for a client id; the throttle is the overdraft over the rate.
    for fut in admin.create_acls(
        [
            AclBinding(
                ResourceType.TOPIC,
                "metered",
                ResourcePatternType.LITERAL,
                "User:alice",
                "*",
                AclOperation.READ,
                AclPermissionType.ALLOW,
            ),
        ]
    ).values():
        fut.result(15)
    wire = admin_wire(secure)
    set_consumer = wire.request(
        "AlterClientQuotas",
        1,
        {
            "entries": [
                {
                    "entity": [{"entity_type": "client-id", "entity_name": "slow-reader"}],
                    "ops": [{"key": "consumer_byte_rate", "value": RATE, "remove": False}],
                }
            ],
            "validate_only": False,
        },
    )
    assert set_consumer["entries"][0]["error_code"] == 0
    wire.close()
    reader, _, replies = scram_login(secure, "alice", USERS["alice"], client_id="slow-reader")
    assert replies[-1]["error_code"] == 0
    fetch = {
        "replica_id": -1,
        "max_wait_ms": 0,
        "min_bytes": 1,
        "max_bytes": 10_000_000,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "forgotten_topics_data": [],
        "rack_id": "",
        "topics": [
            {
                "topic": "metered",
                "partitions": [
                    {
                        "partition": 0,
                        "current_leader_epoch": -1,
                        "fetch_offset": 0,
                        "last_fetched_epoch": -1,
                        "log_start_offset": -1,
                        "partition_max_bytes": 10_000_000,
                    }
                ],
            }
        ],
    }
    first = reader.request("Fetch", 12, fetch)
    size = len(first["responses"][0]["partitions"][0]["records"])
    assert size >= 2 * total * 0.9  # alice's and bob's bytes
    expected_ms = (size - RATE) / RATE * 1000  # one second of credit, then the overdraft at RATE
    assert abs(first["throttle_time_ms"] - expected_ms) < 200
    # Another client id of the same user is not limited.
    free, _, _ = scram_login(secure, "alice", USERS["alice"], client_id="fast-reader")
    assert free.request("Fetch", 12, fetch)["throttle_time_ms"] == 0
    free.close()
    reader.close()
