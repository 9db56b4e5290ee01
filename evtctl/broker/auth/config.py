"""Security settings of the broker (flags of ``evtctl broker start``; see docs/broker-security.md)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class ListenerSpec:
    security_protocol: str  # one of SECURITY_PROTOCOLS; also the listener's name
    host: str
    port: int


@dataclass
class SecurityConfig:
    listeners: list[ListenerSpec] = field(default_factory=list)  # besides the PLAINTEXT --listen
    sasl_mechanisms: tuple[str, ...] = SASL_MECHANISMS
    bootstrap_users: dict[str, str] = field(default_factory=dict)  # created at start if absent
    super_users: tuple[str, ...] = ()
    allow_everyone_if_no_acl_found: bool | None = None  # None: true unless a listener authenticates
    audit_log: Path | None = None  # default <data-dir>/security-audit.log
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None  # verify client certificates against this CA
    tls_client_auth: str = "none"  # none | requested | required

    @property
    def authenticates(self) -> bool:
        return any(lst.security_protocol != "PLAINTEXT" for lst in self.listeners)

    @property
    def allow_if_no_acl(self) -> bool:
        if self.allow_everyone_if_no_acl_found is not None:
            return self.allow_everyone_if_no_acl_found
        return not self.authenticates

    def server_ssl_context(self) -> ssl.SSLContext:
        """TLS context for SSL / SASL_SSL listeners (TLS 1.2+; client certificates per tls_client_auth)."""
        if self.tls_cert is None:
            raise ValueError("an SSL or SASL_SSL listener needs --tls-cert (and --tls-key)")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.tls_cert, self.tls_key)
        if self.tls_client_auth != "none":
            if self.tls_ca is None:
                raise ValueError("--tls-client-auth needs --tls-ca to verify client certificates")
            ctx.load_verify_locations(self.tls_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if self.tls_client_auth == "required" else ssl.CERT_OPTIONAL
        return ctx


def listener_configs(sec: SecurityConfig) -> list[Any]:
    """The broker's extra ``ListenerConfig`` objects for the secured listeners."""
    from evtctl.broker.config import ListenerConfig

    out = []
    for spec in sec.listeners:
        ctx = sec.server_ssl_context() if spec.security_protocol in ("SSL", "SASL_SSL") else None
        out.append(
            ListenerConfig(
                spec.security_protocol,
                spec.host,
                spec.port,
                security_protocol=spec.security_protocol,
                ssl_context=ctx,
            )
        )
    return out


def apply_security_flags(
    cfg: Any,
    *,
    sasl_listen: str | None,
    ssl_listen: str | None,
    sasl_ssl_listen: str | None,
    sasl_mechanisms: str,
    sasl_user: list[str],
    super_users: list[str],
    allow_everyone: bool | None,
    audit_log: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    tls_client_auth: str,
) -> None:
    """Fill ``cfg.security`` and the secured listeners from ``broker start`` flags (UsageError: exit 2)."""
    from evtctl.cli.broker import parse_hostport
    from evtctl.errors import Location, UsageError

    def usage(flag: str, message: str, help: str | None = None) -> UsageError:
        return UsageError(f"{flag}: {message}", location=Location(context=flag), help=help)

    listeners = []
    for flag, value, proto in (
        ("--sasl-listen", sasl_listen, "SASL_PLAINTEXT"),
        ("--ssl-listen", ssl_listen, "SSL"),
        ("--sasl-ssl-listen", sasl_ssl_listen, "SASL_SSL"),
    ):
        if value:
            host, port = parse_hostport(value, flag, 0)
            listeners.append(ListenerSpec(proto, host, port))
    mechanisms = tuple(m.strip().upper() for m in sasl_mechanisms.split(",") if m.strip())
    for m in mechanisms:
        if m not in SASL_MECHANISMS:
            raise usage(
                "--sasl-mechanisms", f"unknown mechanism {m!r}", "choose from " + ", ".join(SASL_MECHANISMS)
            )
    users = {}
    for item in sasl_user:
        name, sep, password = item.partition("=")
        if not sep or not name or not password:
            raise usage("--sasl-user", f"{item!r} is not NAME=PASSWORD")
        users[name] = password
    supers = tuple(p.strip() for item in super_users for p in item.split(";") if p.strip())
    for p in supers:
        if ":" not in p:
            raise usage("--super-users", f"{p!r} is not a principal like User:admin")
    if tls_client_auth not in ("none", "requested", "required"):
        raise usage("--tls-client-auth", f"{tls_client_auth!r} is not none, requested or required")
    sec = SecurityConfig(
        listeners=listeners,
        sasl_mechanisms=mechanisms,
        bootstrap_users=users,
        super_users=supers,
        allow_everyone_if_no_acl_found=allow_everyone,
        audit_log=audit_log,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_ca=tls_ca,
        tls_client_auth=tls_client_auth,
    )
    try:
        cfg.extra_listeners.extend(listener_configs(sec))
    except (ValueError, OSError, ssl.SSLError) as err:
        raise usage(
            "--tls-cert", str(err), "give --tls-cert and --tls-key (PEM files) for TLS listeners"
        ) from None
    cfg.security = sec
