"""Every acknowledged write survives kill -9; a torn last record is cut, real damage refuses to start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.registry.support import RegistryProcess, start_registry_process
from tests.support.broker import start_broker

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _schema(name: str, extra: int) -> str:
    fields = [{"name": "id", "type": "string"}] + [
        {"name": f"f{i}", "type": "int", "default": i} for i in range(extra)
    ]
    return json.dumps({"type": "record", "name": name, "fields": fields})


def dump(http: httpx.Client) -> dict[str, Any]:
    """Everything a client can observe: subjects (incl. soft-deleted), versions, ids, configs, modes."""
    state: dict[str, Any] = {"global": http.get("/config").json(), "mode": http.get("/mode").json()}
    subjects = http.get("/subjects", params={"deleted": "true"}).json()
    state["live"] = http.get("/subjects").json()
    for subject in subjects:
        versions = http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}).json()
        state[subject] = {
            "versions": [
                http.get(f"/subjects/{subject}/versions/{v}", params={"deleted": "true"}).json()
                for v in versions
            ],
            "config": http.get(f"/config/{subject}").json(),
            "mode": http.get(f"/mode/{subject}").json(),
        }
    ids = {v["id"] for s in subjects for v in state[s]["versions"]}
    state["ids"] = {i: http.get(f"/schemas/ids/{i}").json() for i in sorted(ids)}
    return state


def populate(http: httpx.Client, n: int) -> None:
    for s in range(n):
        subject = f"orders{s}-value"
        for v in range(3):
            assert (
                http.post(
                    f"/subjects/{subject}/versions",
                    content=json.dumps({"schema": _schema("Order", v)}),
                    headers=CT,
                ).status_code
                == 200
            )
        http.put(f"/config/{subject}", content=json.dumps({"compatibility": "FULL"}), headers=CT)
        http.put(f"/mode/{subject}", content=json.dumps({"mode": "READWRITE"}), headers=CT)
    http.put("/config", content=json.dumps({"compatibility": "FORWARD"}), headers=CT)
    http.delete("/subjects/orders0-value/versions/1")
    http.delete("/subjects/orders1-value")
    http.delete("/subjects/orders1-value", params={"permanent": "true"})
    http.delete("/subjects/orders2-value")


def test_everything_survives_kill_9(registry_factory: Callable[..., RegistryProcess]) -> None:
    proc = registry_factory()
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        populate(http, 6)
        before = dump(http)
    assert before["orders3-value"]["config"]["compatibilityLevel"] == "FULL"
    proc.kill()
    proc.start()
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        after = dump(http)
        assert after == before
        # ids keep counting from where they were, nothing is reused
        new_id = http.post(
            "/subjects/fresh-value/versions", content=json.dumps({"schema": _schema("Fresh", 0)}), headers=CT
        ).json()["id"]
        assert new_id > max(before["ids"])


def test_torn_last_record_is_cut_and_damage_refuses_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = start_registry_process(data)
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        populate(http, 3)
        before = dump(http)
    proc.kill()
    log = data / "_schemas" / "registry.log"
    intact = log.read_bytes()
    # a write torn by the crash: no newline, never acknowledged
    log.write_bytes(intact + b'{"op":"register","subject":"torn-value","ver')
    proc.start()
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        assert dump(http) == before
    proc.stop()
    assert log.read_bytes() == intact
    # damage before the last record is corruption: refuse with the line instead of dropping data
    lines = intact.split(b"\n")
    lines[1] = b"garbage"
    log.write_bytes(b"\n".join(lines))
    try:
        proc.start()
    except RuntimeError as exc:
        assert "registry.log:2" in str(exc)
    else:
        proc.stop()
        raise AssertionError("the registry started on a damaged log")


def test_broker_hosted_registry_survives_kill_9(tmp_path: Path) -> None:
    """The registry the broker hosts keeps its data next to the broker's log."""
    broker = start_broker(tmp_path)
    try:
        assert broker.registry_url
        with httpx.Client(base_url=broker.registry_url, timeout=30.0) as http:
            populate(http, 3)
            before = dump(http)
        broker.restart(kill=True)
        assert broker.registry_url
        with httpx.Client(base_url=broker.registry_url, timeout=30.0) as http:
            assert dump(http) == before
        assert (broker.data_dir / "_schemas" / "registry.log").exists()
    finally:
        broker.stop()
