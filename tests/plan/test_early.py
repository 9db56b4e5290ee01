"""The early read (evtctl.plan.early): connecting and reading from evtctl.yaml alone, in a child
process or on threads, then narrowed by the plan, gives the same plan and live state as reading
after the manifests loaded; failures fall back to the usual path and its errors."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from evtctl.errors import BackendError
from evtctl.plan.desired import desired_state
from evtctl.plan.early import start_early
from evtctl.plan.session import make_plan
from tests.plan.helpers import apply_ws, open_target, plan_result
from tests.plan.workspace import Ws, avro_record
from tests.support.broker import BrokerProcess


@pytest.fixture(params=["fork", "thread"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """fork: this process single-threaded (as the CLI is); thread: another thread alive, so
    start_early must not fork."""
    if request.param == "fork":
        deadline = time.monotonic() + 20  # reads of an earlier test may still be finishing
        while threading.active_count() != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        if threading.active_count() != 1:
            pytest.skip("this test process runs other threads: forking is not safe here")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    if request.param == "thread":
        other.start()
    yield request.param
    stop.set()
    if other.is_alive():
        other.join(5)


def _early_plan(ws: Ws) -> object:
    loaded = ws.load()
    early = start_early(loaded.config, None)
    opened = early.take(loaded)
    assert opened is not None
    target, reads = opened
    try:
        return make_plan(desired_state(loaded, env={}), target, early=reads)
    finally:
        target.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_early_read_plans_like_a_read_after_loading(ws: Ws, broker: BrokerProcess, mode: str) -> None:
    mine = ws.topic("e1", 1, retention_ms="2d")
    schema = ws.schema("e1.avsc", avro_record("E1", ("id", "string")))
    ws.add("Subject", ws.name("e1"), {"topic": mine, "value": {"schema": schema}, "compatibility": "FULL"})
    assert apply_ws(ws).ok
    client = SchemaRegistryClient({"url": broker.registry_url})
    client.set_compatibility(f"{mine}-value", "NONE")  # drift the early read must see
    other = f"zz-{ws.prefix}other-value"
    client.register_schema(other, Schema(avro_record("Other", ("x", "long")), "AVRO"))
    client.set_compatibility(other, "FORWARD")
    ws.topic("e2", 1)
    early = _early_plan(ws)
    later = plan_result(ws)
    assert early.plan.to_json() == later.plan.to_json()  # type: ignore[attr-defined]
    assert early.fingerprint == later.fingerprint  # type: ignore[attr-defined]
    assert {c.address for c in later.plan.changes} == {f"topic/{ws.name('e2')}", f"subject/{mine}-value"}


def test_unreachable_cluster_falls_back_to_the_usual_error(ws: Ws, mode: str) -> None:
    ws.config["spec"]["contexts"]["test"]["bootstrapServers"] = [f"127.0.0.1:{_closed_port()}"]
    ws.write()
    ws.topic("u1", 1)
    loaded = ws.load()
    assert start_early(loaded.config, None).take(loaded) is None
    with pytest.raises(BackendError, match="could not read the API versions"):
        open_target(ws)


def test_a_kind_that_failed_early_is_read_again_with_its_error(ws: Ws, mode: str) -> None:
    ws.config["spec"]["contexts"]["test"]["registryUrl"] = f"http://127.0.0.1:{_closed_port()}"
    ws.write()
    path = ws.schema("f1.avsc", avro_record("F1", ("id", "string")))
    ws.add("Subject", ws.name("f1"), {"topic": ws.topic("f1", 1), "value": {"schema": path}})
    with pytest.raises(BackendError) as early:
        _early_plan(ws)
    with pytest.raises(BackendError) as later:
        plan_result(ws)
    assert type(early.value) is type(later.value)
    assert early.value.message.split(":")[0] == later.value.message.split(":")[0]


def test_packed_reads_come_back_equal() -> None:
    """What the reader child sends (plain tuples) unpacks to exactly the resources it read."""
    import pickle

    from evtctl.plan.early import _pack, _unpack
    from evtctl.plan.state import AclBindingState, SchemaRef, SchemaVersion, SubjectState, TopicState

    topics = {
        "a": TopicState("a", 3, 1, (("retention.ms", "1000"),)),
        "b": TopicState("b", 1, 1, ()),
    }
    acl = AclBindingState("User:x", "TOPIC", "a", "PREFIXED", "READ", "ALLOW", "10.0.0.1")
    acls = {acl.key: acl}
    money = SchemaVersion(1, "AVRO", '{"type":"fixed"}', '{"type":"fixed"}', (), 7)
    order = SchemaVersion(2, "AVRO", '{"type":"record"}', "canon", (SchemaRef("Money", "money-value", 1),), 9)
    subjects = (
        {
            "money-value": SubjectState("money-value", (money,)),
            "orders-value": SubjectState("orders-value", (money, order), "FULL"),
        },
        "BACKWARD",
    )
    for kind, value in (("topic", topics), ("acl", acls), ("subject", subjects), ("quota", {})):
        travelled = pickle.loads(pickle.dumps(_pack(kind, value)))
        assert _unpack(kind, travelled) == value, kind
