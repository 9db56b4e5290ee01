"""Registry requests of a plan, counted on the wire by a pass-through proxy in front of the real
embedded registry: the live read is a fixed number of requests. Subject levels come with ``GET
/config`` (the ``subjectConfigs`` extension of evtctl's registry); with the proxy stripping that
parameter (as a Confluent registry, which ignores it) they are one level read per subject the plan
can change (declared or in the managed scope), never one per subject in the registry."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from evtctl.plan.session import load_plan, save_plan, staleness
from evtctl.plan.state import fingerprint
from tests.plan.helpers import apply_ws, open_target, plan_result
from tests.plan.workspace import Ws, avro_record
from tests.support.broker import BrokerProcess


class CountingProxy:
    """Forwards every request to ``upstream`` and records ``(method, path)``; answers 404 for the
    paths in ``hidden`` (a registry without that endpoint)."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[tuple[str, str]] = []
        self.hidden: set[str] = set()
        self.confluent = False  # drop evtctl's subjectConfigs parameter: a registry without the extension
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                with lock:
                    proxy.requests.append((self.command, urlsplit(self.path).path))
                if urlsplit(self.path).path in proxy.hidden:
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                target = self.path
                if proxy.confluent:
                    parts = urlsplit(target)
                    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "subjectConfigs"]
                    target = parts.path + ("?" + urlencode(query) if query else "")
                req = urllib.request.Request(upstream + target, data=body, method=self.command)
                for h in ("Content-Type", "Accept", "Authorization"):
                    if self.headers.get(h):
                        req.add_header(h, self.headers[h])
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, ctype, data = resp.status, resp.headers.get("Content-Type"), resp.read()
                except urllib.error.HTTPError as err:
                    status, ctype, data = err.code, err.headers.get("Content-Type"), err.read()
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def take(self) -> Counter[str]:
        """The requests so far by kind (a subject-level ``/config/{s}`` is ``level``), then reset."""
        out: Counter[str] = Counter()
        for method, path in self.requests:
            kind = "level" if path.startswith("/config/") else path
            out[f"{method} {kind}"] += 1
        self.requests.clear()
        return out


@pytest.fixture
def proxy(broker: BrokerProcess) -> Iterator[CountingProxy]:
    assert broker.registry_url
    p = CountingProxy(broker.registry_url.rstrip("/"))
    yield p
    p.close()


def declare_subjects(ws: Ws, start: int, stop: int, compatibility: str | None = None) -> None:
    for i in range(start, stop):
        topic = ws.topic(f"rr{i}", 1)
        path = ws.schema(f"rr{i}.avsc", avro_record(f"Rr{i}", ("id", "string")))
        spec: dict[str, object] = {"topic": topic, "value": {"schema": path}}
        if compatibility:
            spec["compatibility"] = compatibility
        ws.add("Subject", ws.name(f"rr{i}"), spec)


def registry_requests_of_a_plan(ws: Ws, proxy: CountingProxy, changes: int = 0) -> Counter[str]:
    proxy.take()
    result = plan_result(ws)
    assert len(result.plan.changes) == changes and not result.plan.errors
    return proxy.take()


@pytest.mark.parametrize("registry", ["evtctl", "confluent"])
def test_registry_requests_do_not_grow_with_the_number_of_subjects(
    ws: Ws, broker: BrokerProcess, proxy: CountingProxy, registry: str
) -> None:
    proxy.confluent = registry == "confluent"
    ws.config["spec"]["contexts"]["test"]["registryUrl"] = proxy.url
    ws.write()
    declare_subjects(ws, 0, 3, "FULL")
    assert apply_ws(ws).ok
    small = registry_requests_of_a_plan(ws, proxy)

    declare_subjects(ws, 3, 40)  # the manifest default level, BACKWARD
    assert apply_ws(ws).ok
    # subjects outside the managed scope, registered by someone else: never read one by one
    client = SchemaRegistryClient({"url": broker.registry_url})
    foreign = [f"foreign-{ws.prefix}{i}-value" for i in range(25)]
    for i, subject in enumerate(foreign):
        client.register_schema(subject, Schema(avro_record(f"F{i}", ("x", "long")), "AVRO"))
        client.set_compatibility(subject, "NONE")
    large = registry_requests_of_a_plan(ws, proxy)

    # a fixed set; without the extension plus one concurrent level read per declared subject (every
    # declared subject has a level to compare, and the Confluent API reads levels one subject at a
    # time); none for the foreign subjects or those other tests left in the registry
    per_subject = registry == "confluent"
    assert (small["GET level"], large["GET level"]) == ((3, 40) if per_subject else (0, 0))
    fixed = {k: v for k, v in large.items() if k != "GET level"}
    assert fixed == {k: v for k, v in small.items() if k != "GET level"}
    assert fixed == {"GET /config": 1, "GET /schemas": 1, "GET /subjects": 1}

    # a plan with a new version to check makes the same requests
    path = ws.schema("rr7.avsc", avro_record("Rr7", ("id", "string"), ("note", ["null", "string"])))
    ws.add("Subject", ws.name("rr7"), {"topic": ws.name("rr7"), "value": {"schema": path}})
    evolved = registry_requests_of_a_plan(ws, proxy, changes=1)
    assert evolved["GET level"] == (40 if per_subject else 0)
    assert {k: v for k, v in evolved.items() if k != "GET level"} == fixed


@pytest.mark.parametrize("registry", ["evtctl", "confluent"])
def test_a_level_changed_out_of_band_is_planned_back(
    ws: Ws, broker: BrokerProcess, proxy: CountingProxy, registry: str
) -> None:
    proxy.confluent = registry == "confluent"
    ws.config["spec"]["contexts"]["test"]["registryUrl"] = proxy.url
    ws.write()
    declare_subjects(ws, 0, 3, "FULL")
    assert apply_ws(ws).ok
    assert registry_requests_of_a_plan(ws, proxy)["GET level"] == (3 if proxy.confluent else 0)
    client = SchemaRegistryClient({"url": broker.registry_url})
    drifted = f"{ws.name('rr1')}-value"
    client.set_compatibility(drifted, "NONE")  # out of band, behind evtctl's back
    result = plan_result(ws)
    changes = {c.address: c for c in result.plan.changes}
    assert list(changes) == [f"subject/{drifted}"]
    fields = {f.field: (f.before, f.after) for f in changes[f"subject/{drifted}"].fields}
    assert fields["compatibility"] == ("NONE", "FULL")


def test_saved_plan_checks_the_levels_it_read_and_only_those(
    ws: Ws, broker: BrokerProcess, tmp_path: Path
) -> None:
    declare_subjects(ws, 0, 2, "BACKWARD")
    assert apply_ws(ws).ok
    client = SchemaRegistryClient({"url": broker.registry_url})
    stranger = f"stranger-{ws.prefix}value"
    client.register_schema(stranger, Schema(avro_record("Stranger", ("x", "long")), "AVRO"))
    ws.topic("rr-new", 1)
    result = plan_result(ws)
    assert [c.address for c in result.plan.changes] == [f"topic/{ws.name('rr-new')}"]
    assert result.level_subjects is not None and stranger not in result.level_subjects
    path = tmp_path / "plan.json"
    save_plan(path, result, context="test", workspace=str(ws.root))
    saved = load_plan(path)

    def stale() -> list[str]:
        target = open_target(ws)
        try:
            return staleness(saved.fingerprint, fingerprint(saved.read_live(target)))
        finally:
            target.close()

    # a level the plan never read (outside the scope, undeclared) cannot make it stale...
    client.set_compatibility(stranger, "NONE")
    assert stale() == []
    # ...one it read does
    declared = f"{ws.name('rr0')}-value"
    client.set_compatibility(declared, "NONE")
    assert any(declared in line for line in stale())


def test_a_registry_without_bulk_schemas_is_read_per_subject(ws: Ws, proxy: CountingProxy) -> None:
    ws.config["spec"]["contexts"]["test"]["registryUrl"] = proxy.url
    ws.write()
    declare_subjects(ws, 0, 4)
    assert apply_ws(ws).ok
    proxy.hidden.add("/schemas")
    proxy.confluent = True  # an older registry: no GET /schemas, no subject levels with GET /config
    requests = registry_requests_of_a_plan(ws, proxy)  # still a converged, empty plan
    assert requests["GET /schemas"] == 1  # asked once, then per subject
    assert requests["GET level"] == 4
    per_subject = sum(v for k, v in requests.items() if k.startswith("GET /subjects/"))
    assert per_subject >= 2 * 4  # versions list + each version, for at least this workspace's subjects
