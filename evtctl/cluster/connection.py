"""How to reach a cluster and its registry: bootstrap, security, secrets from the environment only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evtctl.errors import Location, UsageError


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    bootstrap: str  # "host:port[,host:port...]"
    registry_url: str | None = None
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    registry_username: str | None = None
    registry_password: str | None = None
    timeout: float = 15.0

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.upper() in ("SSL", "SASL_SSL")

    def bootstrap_hosts(self) -> list[tuple[str, int]]:
        out = []
        for item in self.bootstrap.split(","):
            host, _, port = item.strip().rpartition(":")
            out.append((host.strip("[]") or "127.0.0.1", int(port)))
        return out

    def librdkafka(self) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
            "socket.timeout.ms": int(self.timeout * 1000),
            "client.id": "evtctl",
            # a plan must never create what it looks at (Tansu and many brokers auto-create on Metadata)
            "allow.auto.create.topics": False,
            "log_level": 0,  # errors reach the caller as results; keep stderr for evtctl
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.username or ""
            conf["sasl.password"] = self.password or ""
        if self.ca_file:
            conf["ssl.ca.location"] = self.ca_file
        if self.cert_file:
            conf["ssl.certificate.location"] = self.cert_file
        if self.key_file:
            conf["ssl.key.location"] = self.key_file
        return conf

    def kafka_python(self) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap.split(","),
            "security_protocol": self.security_protocol,
            "client_id": "evtctl",
            "request_timeout_ms": int(self.timeout * 1000),
        }
        if self.sasl_mechanism:
            conf["sasl_mechanism"] = self.sasl_mechanism
            conf["sasl_plain_username"] = self.username
            conf["sasl_plain_password"] = self.password
        if self.ca_file:
            conf["ssl_cafile"] = self.ca_file
        if self.cert_file:
            conf["ssl_certfile"] = self.cert_file
        if self.key_file:
            conf["ssl_keyfile"] = self.key_file
        return conf


def secret_from_env(
    var: str | None, what: str, env: Mapping[str, str] | None = None, location: Location | None = None
) -> str | None:
    """Read a secret from the environment variable the context names; never from the file itself."""
    if not var:
        return None
    value = (env if env is not None else os.environ).get(var)
    if value is None:
        raise UsageError(
            f"the context needs {what} from the environment variable {var}, which is not set",
            location=location,
            help=f"export {var}=... before running evtctl",
        )
    return value
