"""evtctl's registry client against the real registry, and its retry policy against a flaky server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from evtctl.registry import RegistryClient, RegistryError, SchemaReference
from tests.registry.support import RegistryProcess

V1 = json.dumps({"type": "record", "name": "Ev", "namespace": "c", "fields": [{"name": "a", "type": "int"}]})
V2 = json.dumps(
    {
        "type": "record",
        "name": "Ev",
        "namespace": "c",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}],
    }
)
V2_OK = json.dumps(
    {
        "type": "record",
        "name": "Ev",
        "namespace": "c",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""}],
    }
)


@pytest.fixture
def client(shared_registry: RegistryProcess) -> Iterator[RegistryClient]:
    with RegistryClient(shared_registry.url) as c:
        yield c


def test_client_round_trip(client: RegistryClient) -> None:
    s = "client-ev-value"
    assert client.get_latest(s) is None
    assert client.lookup(s, V1) is None
    schema_id = client.register(s, V1)
    assert client.register(s, V1) == schema_id
    assert client.subjects(prefix="client-ev") == [s]
    assert client.versions(s) == [1]
    got = client.get_version(s, 1)
    assert (got.subject, got.version, got.id, got.schema_type) == (s, 1, schema_id, "AVRO")
    assert json.loads(client.get_version_schema(s, "latest")) == json.loads(V1)
    found = client.lookup(s, V1)
    assert found is not None and found.version == 1
    bad = client.test_compatibility(s, V2, verbose=True)
    assert not bad.compatible and any("b" in m for m in bad.messages)
    assert client.test_compatibility(s, V2_OK, version=None).compatible
    with pytest.raises(RegistryError) as info:
        client.register(s, V2)
    assert info.value.error_code == 409 and "POST /subjects/client-ev-value/versions" in info.value.render()
    id2 = client.register(s, V2_OK)
    assert client.schema_by_id(id2).schema == V2_OK
    assert client.subjects_by_id(id2) == [s]
    assert client.versions_by_id(id2) == [(s, 2)]
    assert sorted(client.schema_types()) == ["AVRO", "JSON", "PROTOBUF"]


def test_client_config_mode_and_deletes(client: RegistryClient) -> None:
    s = "client-cfg-value"
    client.register(s, V1)
    assert client.get_config(s) is None
    assert client.get_config(s, default_to_global=True) == "BACKWARD"
    assert client.set_config("full", s) == "FULL"
    assert client.get_config(s) == "FULL"
    assert client.delete_config(s) == "FULL"
    assert client.get_mode(s) is None
    assert client.set_mode("readonly", s) == "READONLY"
    with pytest.raises(RegistryError) as info:
        client.register(s, V2_OK)
    assert info.value.error_code == 42205
    assert client.delete_mode(s) == "READONLY"
    assert client.get_mode() == "READWRITE"
    assert client.delete_version(s, 1) == 1
    with pytest.raises(RegistryError) as info:
        client.delete_version(s, 1)
    assert info.value.error_code == 40406
    assert client.versions(s, deleted=True) == [1]
    assert client.delete_subject(s, permanent=True) == [1]
    assert client.get_latest(s) is None


def test_client_references(client: RegistryClient) -> None:
    base = json.dumps(
        {"type": "record", "name": "Addr", "namespace": "c", "fields": [{"name": "z", "type": "string"}]}
    )
    user = json.dumps(
        {"type": "record", "name": "User", "namespace": "c", "fields": [{"name": "home", "type": "c.Addr"}]}
    )
    client.register("client-addr", base)
    ref = SchemaReference("c.Addr", "client-addr", 1)
    uid = client.register("client-user-value", user, references=[ref])
    assert client.get_version("client-user-value").references == (ref,)
    assert client.referenced_by("client-addr", 1) == [uid]
    assert client.schema_by_id(uid).references == (ref,)


class _Flaky(BaseHTTPRequestHandler):
    """Answers from a script: 503 and 429 (Retry-After) before the real answer."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, headers, body = self.script.pop(0) if self.script else (200, {}, b"[]")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_retries_5xx_and_429_then_succeeds(flaky: str) -> None:
    _Flaky.script = [
        (503, {}, b'{"error_code":50003,"message":"busy"}'),
        (429, {"Retry-After": "0"}, b""),
        (200, {}, b'["a-value"]'),
    ]
    with RegistryClient(flaky, retries=3, backoff=0.01) as c:
        assert c.subjects() == ["a-value"]
    assert len(_Flaky.seen) == 3


def test_gives_up_after_retries_with_the_registry_error(flaky: str) -> None:
    _Flaky.script = [(500, {}, b'{"error_code":50001,"message":"store broke"}')] * 3
    with RegistryClient(flaky, retries=2, backoff=0.01) as c, pytest.raises(RegistryError) as info:
        c.subjects()
    assert info.value.error_code == 50001 and "store broke" in info.value.message
    assert len(_Flaky.seen) == 3


def test_unreachable_registry_is_a_located_backend_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with (
        RegistryClient(f"http://127.0.0.1:{port}", retries=1, backoff=0.01) as c,
        pytest.raises(RegistryError) as info,
    ):
        c.subjects()
    assert info.value.exit_code == 1
    assert "GET /subjects" in info.value.render() and info.value.help
    with pytest.raises(RegistryError):
        RegistryClient("ftp://example")


def test_comma_separated_urls_fail_over(shared_registry: RegistryProcess) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with RegistryClient(f"http://127.0.0.1:{dead}, {shared_registry.url}", retries=2, backoff=0.01) as c:
        assert sorted(c.schema_types()) == ["AVRO", "JSON", "PROTOBUF"]
        assert c.url == shared_registry.url
