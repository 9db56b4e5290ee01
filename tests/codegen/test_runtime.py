"""Runtime pieces that need no broker: causal headers, delivery settings, retry, stores, settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evtctl.runtime import context
from evtctl.runtime.binding import producer_config
from evtctl.runtime.idempotency import MemoryIdempotencyStore, SqliteIdempotencyStore
from evtctl.runtime.retry import RetryPolicy
from evtctl.runtime.settings import ClientSettings

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def _headers(**kw: object) -> dict[str, str]:
    hs = context.standard_headers(
        event_id="e-2",
        event_type="OrderPaid",
        schema_id=7,
        schema_version=3,
        producer="svc",
        **kw,  # type: ignore[arg-type]
    )
    return {k: v.decode() for k, v in hs}


def test_a_new_event_starts_its_own_correlation_and_trace() -> None:
    h = _headers()
    assert h["event-id"] == "e-2" and h["correlation-id"] == "e-2" and "causation-id" not in h
    assert h["event-type"] == "OrderPaid" and h["schema-id"] == "7" and h["schema-version"] == "3"
    assert h["producer"] == "svc" and TRACEPARENT.match(h["traceparent"])


def test_events_sent_while_handling_carry_the_cause() -> None:
    parent_trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    incoming = context.EventContext.from_headers(
        [("event-id", b"e-1"), ("correlation-id", b"corr-0"), ("traceparent", parent_trace.encode())],
        fallback_id="t/0/5",
    )
    with context.handling(incoming):
        h = _headers()
    assert h["correlation-id"] == "corr-0" and h["causation-id"] == "e-1"
    trace_id, span_id = h["traceparent"].split("-")[1:3]
    assert trace_id == "0af7651916cd43dd8448eb211c80319c" and span_id != "b7ad6b7169203331"
    assert context.current_event.get() is None  # reset after the handler
    fallback = context.EventContext.from_headers([], fallback_id="t/0/5")
    assert fallback.event_id == fallback.correlation_id == "t/0/5"


def test_invalid_traceparent_starts_a_new_trace() -> None:
    assert TRACEPARENT.match(context.child_traceparent("garbage"))
    zero = "00-" + "0" * 32 + "-b7ad6b7169203331-01"
    assert context.child_traceparent(zero).split("-")[1] != "0" * 32


def test_delivery_settings_follow_the_guarantee() -> None:
    assert producer_config("at-least-once") == {"acks": "all", "enable.idempotence": True}
    assert producer_config("at-most-once") == {"acks": 1, "enable.idempotence": False, "retries": 0}
    assert producer_config("effectively-once", transactional_id="tx")["transactional.id"] == "tx"
    with pytest.raises(ValueError, match="transactional id"):
        producer_config("effectively-once")


def test_retry_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.1, multiplier=2.0, max_backoff=0.3, jitter=0.0)
    assert [policy.delay(a) for a in range(1, 5)] == [0.1, 0.2, 0.3, 0.3]
    jittered = RetryPolicy(initial_backoff=1.0, jitter=0.1)
    assert all(0.9 <= jittered.delay(1) <= 1.1 for _ in range(50))


def test_sqlite_idempotency_store_survives_a_restart(tmp_path: Path) -> None:
    store = SqliteIdempotencyStore(tmp_path / "ids.sqlite3")
    assert not store.seen("g1", "e-1")
    store.mark("g1", "e-1")
    store.mark("g1", "e-1")  # marking twice is harmless
    store.close()
    reopened = SqliteIdempotencyStore(tmp_path / "ids.sqlite3")
    assert reopened.seen("g1", "e-1") and not reopened.seen("g2", "e-1")
    memory = MemoryIdempotencyStore()
    memory.mark("g", "x")
    assert memory.seen("g", "x") and not memory.seen("g", "y")
    with pytest.raises(ValueError, match="identifier"):
        SqliteIdempotencyStore(tmp_path / "x.sqlite3", table="x; DROP TABLE y")


def test_settings_read_credentials_from_the_named_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_USER", "alice")
    monkeypatch.setenv("SHOP_PASSWORD", "s3cret")
    monkeypatch.setenv("EVTCTL_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    s = ClientSettings(
        bootstrap_servers="kafka:9092",
        registry_url="http://registry",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username_env="SHOP_USER",
        sasl_password_env="SHOP_PASSWORD",
    ).with_env()
    conf = s.kafka_config()
    assert conf["bootstrap.servers"] == "127.0.0.1:19092" and s.registry_url == "http://registry"
    assert (conf["sasl.username"], conf["sasl.password"], conf["sasl.mechanism"]) == (
        "alice",
        "s3cret",
        "SCRAM-SHA-512",
    )
