"""Plugging security into the running broker: authorizer, SASL connection gate, audit, quotas.

``install(broker)`` runs from the handler registry's start hooks, before the broker accepts connections;
it is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evtctl.broker.auth.acl import Authorizer, Operation, ResourceType
from evtctl.broker.auth.audit import AuditLog
from evtctl.broker.auth.config import SecurityConfig
from evtctl.broker.auth.scram import CredentialStore
from evtctl.broker.context import ConnectionState, RequestContext
from evtctl.broker.protocol.codec import Message
from evtctl.broker.quotas import CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, QuotaManager

if TYPE_CHECKING:
    from evtctl.broker.server import Broker

PLUGIN_KEY = "security"
PRODUCE, FETCH = 0, 1


@dataclass
class Security:
    config: SecurityConfig
    credentials: CredentialStore
    acls: Authorizer
    audit: AuditLog
    quotas: QuotaManager


class AclAuthorizerAdapter:
    """Implements the broker's ``Authorizer`` protocol on top of :class:`Authorizer`, auditing denials."""

    def __init__(self, security: Security) -> None:
        self.security = security

    def authorize(
        self, ctx: RequestContext, operation: str, resource_type: str, name: str, pattern: str = "LITERAL"
    ) -> bool:
        try:
            op, rtype = Operation[operation], ResourceType[resource_type]
        except KeyError:
            return False
        host = ctx.client_address[0]
        acls = self.security.acls
        allowed = acls.authorize(ctx.principal, host, op, rtype, name)
        if not allowed and op is Operation.IDEMPOTENT_WRITE and rtype is ResourceType.CLUSTER:
            # KIP-679: WRITE on any topic or transactional id implies idempotent writes.
            allowed = acls.authorize_any(ctx.principal, host, Operation.WRITE, ResourceType.TOPIC) or (
                acls.authorize_any(ctx.principal, host, Operation.WRITE, ResourceType.TRANSACTIONAL_ID)
            )
        if not allowed:
            self.security.audit.write(
                "authorization",
                "denied",
                ctx.principal,
                ctx.client_address,
                ctx.listener,
                operation=operation,
                resource_type=resource_type,
                resource_name=name,
                api_key=ctx.api_key,
            )
        return allowed


def security_of(broker: Broker) -> Security:
    sec = broker.plugins.get(PLUGIN_KEY)
    if sec is None:
        sec = install(broker)
    assert isinstance(sec, Security)
    return sec


def ensure_installed(ctx: RequestContext) -> Security:
    return security_of(ctx.broker)


def install(broker: Broker) -> Security:
    existing = broker.plugins.get(PLUGIN_KEY)
    if isinstance(existing, Security):
        return existing
    cfg: SecurityConfig = getattr(broker.cfg, "security", None) or SecurityConfig()
    data_dir = broker.data_dir
    creds = CredentialStore(data_dir)
    for user, password in cfg.bootstrap_users.items():
        if creds.get(user, "SCRAM-SHA-256") is None:
            creds.set_password(user, password)
    sec = Security(
        config=cfg,
        credentials=creds,
        acls=Authorizer(
            data_dir, super_users=cfg.super_users, allow_everyone_if_no_acl_found=cfg.allow_if_no_acl
        ),
        audit=AuditLog(cfg.audit_log or data_dir / "security-audit.log"),
        quotas=QuotaManager(data_dir),
    )
    broker.plugins[PLUGIN_KEY] = sec
    broker.authorizer = AclAuthorizerAdapter(sec)

    def on_connection(conn: ConnectionState, listener: Any) -> None:
        proto = getattr(listener, "security_protocol", "PLAINTEXT")
        if proto.startswith("SASL_"):
            conn.authenticated = False
        elif proto == "SSL":
            # The TLS handshake is this listener's authentication (failed handshakes never get here).
            conn.principal = _tls_principal(conn) or conn.principal
            sec.audit.write(
                "authentication",
                "success",
                conn.principal,
                conn.client_address,
                conn.listener,
                mechanism="SSL",
            )

    broker.plugins["on_connection"] = on_connection
    _wrap_for_quotas(broker, sec)
    return sec


def _tls_principal(conn: ConnectionState) -> str | None:
    """``User:<subject DN>`` from a verified client certificate, the DN in RFC 2253 form (last RDN
    first, e.g. ``CN=alice,O=acme``), as Kafka's default principal builder names TLS clients."""
    obj = conn.extra.get("ssl_object")
    if not isinstance(obj, ssl.SSLObject | ssl.SSLSocket):
        return None
    cert = obj.getpeercert()
    if not cert:
        return None
    rdns = [f"{k}={v}" for rdn in reversed(cert.get("subject", ())) for k, v in rdn]
    names = {
        "commonName": "CN",
        "organizationName": "O",
        "organizationalUnitName": "OU",
        "countryName": "C",
        "localityName": "L",
        "stateOrProvinceName": "ST",
    }
    for long, short in names.items():
        rdns = [r.replace(f"{long}=", f"{short}=", 1) if r.startswith(long + "=") else r for r in rdns]
    return "User:" + ",".join(rdns) if rdns else None


Handler = Callable[[RequestContext, Message], Awaitable[Message | None]]


def _records_size(items: Any, outer: str, inner: str) -> int:
    total = 0
    for t in items or ():
        for p in t.get(outer) or ():
            records = p.get(inner)
            if records is not None:
                with contextlib.suppress(TypeError):  # a file-slice response without len()
                    total += len(records)
    return total


def _wrap_for_quotas(broker: Broker, sec: Security) -> None:
    """Every handler accounts request time; Produce and Fetch also bytes. A no-op without quotas."""
    registry = broker.registry
    for api in registry.all():
        registry.replace(api.api_key, _quota_wrapper(sec.quotas, api.api_key, api.handle))


# KIP-219: from these versions on the client backs off by itself after a throttled response, so the
# broker answers at once and mutes the connection instead of delaying the response.
_CLIENT_SIDE_THROTTLE = {PRODUCE: 6, FETCH: 8}
_MUTED_UNTIL = "quota_muted_until"
_PARKING_APIS = frozenset({PRODUCE, FETCH, 11, 14, 26})  # + JoinGroup, SyncGroup, EndTxn


def _quota_wrapper(quotas: QuotaManager, api_key: int, inner: Handler) -> Handler:
    async def handle(ctx: RequestContext, request: Message) -> Message | None:
        if not quotas.enabled:
            return await inner(ctx, request)
        muted = ctx.connection.extra.get(_MUTED_UNTIL, 0.0) - time.monotonic()
        if muted > 0:
            await asyncio.sleep(muted)  # the connection is muted: its next request waits
        started = time.monotonic()
        response = await inner(ctx, request)
        user = ctx.principal.partition(":")[2]
        client = ctx.client_id or ""
        # Time parked waiting (long-poll fetch, fsync, a rebalance) is not handler time, as in Kafka's
        # purgatory; those APIs are left out of request_percentage.
        busy = 0.0 if api_key in _PARKING_APIS else time.monotonic() - started
        throttle = quotas.record(user, client, REQUEST_PERCENTAGE, busy * 100)
        if api_key == PRODUCE:
            size = _records_size(request.get("topic_data"), "partition_data", "records")
            throttle = max(throttle, quotas.record(user, client, PRODUCER_BYTE_RATE, size))
        elif api_key == FETCH and response is not None:
            size = _records_size(response.get("responses"), "partitions", "records")
            throttle = max(throttle, quotas.record(user, client, CONSUMER_BYTE_RATE, size))
        if throttle and response is not None:
            response["throttle_time_ms"] = max(int(response.get("throttle_time_ms") or 0), throttle)
            if ctx.api_version >= _CLIENT_SIDE_THROTTLE.get(api_key, 1 << 15):
                ctx.connection.extra[_MUTED_UNTIL] = time.monotonic() + throttle / 1000
            else:
                await asyncio.sleep(throttle / 1000)  # older clients: delay the response itself
        return response

    return handle
