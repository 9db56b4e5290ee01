"""Connection settings for generated clients, from the workspace context or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Where the cluster and registry are, and how to authenticate (secrets only via env var names)."""

    bootstrap_servers: str
    registry_url: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username_env: str | None = None
    sasl_password_env: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    local: bool = False  # a `local` context: the workspace's embedded reference broker + registry

    def kafka_config(self) -> dict[str, Any]:
        """librdkafka properties common to producers and consumers."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            config["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username_env:
            config["sasl.username"] = os.environ.get(self.sasl_username_env, "")
        if self.sasl_password_env:
            config["sasl.password"] = os.environ.get(self.sasl_password_env, "")
        for key, value in (
            ("ssl.ca.location", self.ssl_ca_location),
            ("ssl.certificate.location", self.ssl_certificate_location),
            ("ssl.key.location", self.ssl_key_location),
        ):
            if value:
                config[key] = value
        config.update(self.extra)
        return config

    def with_env(self, prefix: str = "EVTCTL_") -> ClientSettings:
        """Override the endpoints from ``{prefix}BOOTSTRAP_SERVERS`` / ``{prefix}REGISTRY_URL``.

        A ``local`` context without endpoints resolves them from the workspace's embedded broker
        (found from the working directory), starting it like ``evtctl broker up`` if needed.
        """
        resolved = replace(
            self,
            bootstrap_servers=os.environ.get(f"{prefix}BOOTSTRAP_SERVERS", self.bootstrap_servers),
            registry_url=os.environ.get(f"{prefix}REGISTRY_URL", self.registry_url),
        )
        if resolved.local and not (resolved.bootstrap_servers and resolved.registry_url):
            from evtctl.broker.daemon import ensure_local_broker, state_dir

            endpoints = ensure_local_broker(state_dir())
            resolved = replace(
                resolved,
                bootstrap_servers=resolved.bootstrap_servers or endpoints.bootstrap,
                registry_url=resolved.registry_url or endpoints.registry_url,
            )
        return resolved
