"""The registry over https (and mutual TLS): evtctl's and Confluent's clients verify it with the test CA."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from evtctl.registry import RegistryClient, RegistryError
from tests.broker_security.certs import make_pki
from tests.registry.support import RegistryProcess

SCHEMA = json.dumps({"type": "record", "name": "T", "fields": [{"name": "t", "type": "long"}]})


def test_https_with_basic_auth_and_client_certificates(
    tmp_path: Path, registry_factory: Callable[..., RegistryProcess]
) -> None:
    pki = make_pki(tmp_path)
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"users": {"alice": "s3cret"}, "super_users": ["alice"]}))
    proc = registry_factory(
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--auth-config", str(auth)
    )
    assert proc.url.startswith("https://127.0.0.1:")
    with RegistryClient(proc.url, username="alice", password="s3cret", ca_file=pki.ca) as client:
        schema_id = client.register("tls-value", SCHEMA)
    with RegistryClient(proc.url, username="alice", password="s3cret", retries=0) as untrusting:
        with pytest.raises(RegistryError) as info:
            untrusting.subjects()  # the test CA is not in the default trust store
        assert "could not reach" in info.value.message
    confluent = SchemaRegistryClient(
        {"url": proc.url, "ssl.ca.location": str(pki.ca), "basic.auth.user.info": "alice:s3cret"}
    )
    assert confluent.get_latest_version("tls-value").schema_id == schema_id
    assert confluent.register_schema("tls2-value", Schema(SCHEMA, "AVRO")) == schema_id

    mutual = registry_factory(
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
        "--tls-ca",
        str(pki.ca),
        name="mtls",
    )
    with RegistryClient(mutual.url, ca_file=pki.ca, retries=0) as no_cert, pytest.raises(RegistryError):
        no_cert.subjects()
    with RegistryClient(mutual.url, ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key) as ok:
        assert ok.subjects() == []
