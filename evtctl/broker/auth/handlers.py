"""Wire handlers: SASL, ACL admin, SCRAM credential admin, client quotas.

SaslHandshake 0-1 (v0: bare SASL tokens follow), SaslAuthenticate 0-2, CreateAcls/DescribeAcls/DeleteAcls 0-3,
DescribeUserScramCredentials 0, AlterUserScramCredentials 0, DescribeClientQuotas 0-1,
AlterClientQuotas 0-1. Admin APIs need the Kafka cluster permissions (ALTER / DESCRIBE on the
cluster for ACLs and credentials, ALTER_CONFIGS / DESCRIBE_CONFIGS for quotas).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from evtctl.broker.auth.acl import (
    CLUSTER_NAME,
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    parse_enum,
)
from evtctl.broker.auth.plugin import Security, ensure_installed, install
from evtctl.broker.auth.scram import (
    MAX_ITERATIONS,
    MECHANISM_BY_ID,
    MECHANISMS,
    MIN_ITERATIONS,
    PlainServer,
    SaslError,
    ScramServer,
    credential_from_salted,
)
from evtctl.broker.context import ConnectionState, RequestContext
from evtctl.broker.groups.codes import Err
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import (
    Chunk,
    Message,
    Raw,
    array_prefix,
    element_writer,
    is_flexible,
    write_uvarint,
)
from evtctl.broker.server import RAW_SASL_KEY

SASL_KEY = "sasl"


# ------------------------------------------------------------------ SASL
def _is_sasl_listener(ctx: RequestContext) -> bool:
    return ctx.listener.startswith("SASL_")


async def sasl_handshake(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    enabled = list(sec.config.sasl_mechanisms)
    conn = ctx.connection
    if not _is_sasl_listener(ctx) or conn.authenticated or SASL_KEY in conn.extra:
        return {"error_code": Err.ILLEGAL_SASL_STATE, "mechanisms": enabled}
    mechanism = req["mechanism"]
    if mechanism not in enabled:
        sec.audit.write(
            "authentication",
            "failure",
            ctx.principal,
            ctx.client_address,
            ctx.listener,
            mechanism=mechanism,
            reason="unsupported mechanism",
        )
        return {"error_code": Err.UNSUPPORTED_SASL_MECHANISM, "mechanisms": enabled}
    server: ScramServer | PlainServer = (
        PlainServer(sec.credentials) if mechanism == "PLAIN" else ScramServer(sec.credentials, mechanism)
    )
    conn.extra[SASL_KEY] = server
    conn.extra["sasl_mechanism"] = mechanism
    if ctx.api_version == 0:
        conn.extra[RAW_SASL_KEY] = _raw_sasl(sec, conn)
    return {"error_code": 0, "mechanisms": enabled}


async def _evaluate(
    sec: Security, conn: ConnectionState, server: ScramServer | PlainServer, token: bytes
) -> bytes:
    """One SASL token through the connection's exchange, audited; raises :class:`SaslError` on failure.
    Shared by SaslAuthenticate (after a v1 handshake) and bare tokens (after a v0 handshake)."""
    mechanism = conn.extra.get("sasl_mechanism")
    try:
        if isinstance(server, PlainServer):
            # PLAIN derives the salted password (thousands of PBKDF2 rounds): keep it off the event loop.
            reply = await asyncio.to_thread(server.evaluate, token)
        else:
            reply = server.evaluate(token)
    except SaslError as err:
        conn.extra[SASL_KEY] = None  # the exchange is over; a new handshake is not allowed either
        sec.audit.write(
            "authentication",
            "failure",
            f"User:{server.user}" if server.user else conn.principal,
            conn.client_address,
            conn.listener,
            mechanism=mechanism,
            reason=err.message,
        )
        raise
    if server.complete:
        conn.principal = f"User:{server.user}"
        conn.authenticated = True
        sec.audit.write(
            "authentication",
            "success",
            conn.principal,
            conn.client_address,
            conn.listener,
            mechanism=mechanism,
        )
    return reply


async def sasl_authenticate(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    conn = ctx.connection
    server = conn.extra.get(SASL_KEY)
    if conn.authenticated or not isinstance(server, ScramServer | PlainServer) or server.complete:
        return {
            "error_code": Err.ILLEGAL_SASL_STATE,
            "error_message": "SaslAuthenticate is not expected now",
            "auth_bytes": b"",
        }
    try:
        reply = await _evaluate(sec, conn, server, req["auth_bytes"])
    except SaslError as err:
        return {"error_code": err.code, "error_message": err.message, "auth_bytes": b""}
    return {"error_code": 0, "error_message": None, "auth_bytes": reply, "session_lifetime_ms": 0}


def _raw_sasl(sec: Security, conn: ConnectionState) -> Callable[[bytes], Awaitable[list[Chunk] | None]]:
    """After SaslHandshake v0 (KIP-43) the client sends bare size-prefixed SASL tokens, without request
    headers, and gets bare size-prefixed replies until the exchange completes; a failure closes the
    connection (there is no frame to carry an error). The server loop calls this instead of decoding
    a request while ``conn.extra[RAW_SASL_KEY]`` is set."""

    async def token(data: bytes) -> list[Chunk] | None:
        server = conn.extra.get(SASL_KEY)
        if not isinstance(server, ScramServer | PlainServer):
            return None
        try:
            reply = await _evaluate(sec, conn, server, data)
        except SaslError:
            conn.extra.pop(RAW_SASL_KEY, None)
            return None
        if server.complete:
            conn.extra.pop(RAW_SASL_KEY, None)  # Kafka requests resume with the next frame
        return [len(reply).to_bytes(4, "big") + reply]

    return token


def _cluster_denied(**empty: Any) -> Message:
    """The answer to a cluster-level admin request the principal may not make."""
    return {
        "throttle_time_ms": 0,
        "error_code": Err.CLUSTER_AUTHORIZATION_FAILED,
        "error_message": "not authorized",
        **empty,
    }


# ------------------------------------------------------------------ ACLs
def _binding(c: Message) -> AclBinding:
    return AclBinding(
        parse_enum(ResourceType, c["resource_type"]),
        c["resource_name"],
        parse_enum(PatternType, c.get("resource_pattern_type", 3)),
        c["principal"],
        c["host"],
        parse_enum(Operation, c["operation"]),
        parse_enum(Permission, c["permission_type"]),
    )


def _filter(f: Message) -> AclFilter:
    return AclFilter(
        parse_enum(ResourceType, f["resource_type_filter"]),
        f.get("resource_name_filter"),
        parse_enum(PatternType, f.get("pattern_type_filter", 3)),
        f.get("principal_filter"),
        f.get("host_filter"),
        parse_enum(Operation, f["operation"]),
        parse_enum(Permission, f["permission_type"]),
    )


def _acl_admin_allowed(ctx: RequestContext, operation: str) -> bool:
    ensure_installed(ctx)
    return ctx.authorize(operation, "CLUSTER", CLUSTER_NAME)


async def create_acls(ctx: RequestContext, req: Message) -> Message:
    creations = req["creations"]
    if not _acl_admin_allowed(ctx, "ALTER"):
        denied = {"error_code": Err.CLUSTER_AUTHORIZATION_FAILED, "error_message": "not authorized"}
        return {"throttle_time_ms": 0, "results": [dict(denied) for _ in creations]}
    results = ensure_installed(ctx).acls.create([_binding(c) for c in creations])
    return {"throttle_time_ms": 0, "results": [{"error_code": e, "error_message": msg} for e, msg in results]}


# Encoded resources arrays of DescribeAcls answers, by (ACL store version, API version, filter): a plan
# describes every binding each time, and the answer changes only when bindings are created or deleted,
# which bumps the version. Bounded: cleared past ACL_CACHE entries.
_DESCRIBED: dict[tuple[int, int, AclFilter], Raw] = {}
ACL_CACHE = 16


async def describe_acls(ctx: RequestContext, req: Message) -> Message:
    if not _acl_admin_allowed(ctx, "DESCRIBE"):
        return _cluster_denied(resources=[])
    f = _filter(req)
    reason = f.validate()
    if reason is not None:
        return {
            "throttle_time_ms": 0,
            "error_code": Err.INVALID_REQUEST,
            "error_message": reason,
            "resources": [],
        }
    acls = ensure_installed(ctx).acls
    key = (acls.version, ctx.api_version, f)
    resources = _DESCRIBED.get(key)
    if resources is None:
        resources = _encode_acl_resources(acls.describe(f), ctx.api_version)
        if len(_DESCRIBED) >= ACL_CACHE:
            _DESCRIBED.clear()
        _DESCRIBED[key] = resources
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "resources": resources}


_INT8 = struct.Struct(">b")
_INT16 = struct.Struct(">h")


def _encode_acl_resources(bindings: list[AclBinding], version: int) -> Raw:
    """The resources array of a DescribeAcls answer: bindings grouped by resource pattern, sorted.

    Encoded here rather than by the generic codec (a cache miss after every ACL change would cost
    ~100 ms for 20,000 bindings): a resource is its type, name, pattern type (v1+), the array of its
    bindings and, at flexible versions, an empty tagged-field section. Tests compare the bytes with
    the generic codec's. The (principal, host, operation, permission) elements repeat across
    resources: each is encoded once per call, by the generic element writer."""
    flexible = is_flexible("DescribeAclsResponse", version)
    write_acl = element_writer("DescribeAclsResponse", version, "resources", "acls")
    encoded: dict[tuple[str, str, int, int], bytes] = {}
    grouped: dict[tuple[int, str, int], list[bytes]] = {}
    for b in bindings:
        acl = (b.principal, b.host, b.operation, b.permission)
        element = encoded.get(acl)
        if element is None:
            out = bytearray()
            write_acl(
                out, {"principal": acl[0], "host": acl[1], "operation": acl[2], "permission_type": acl[3]}
            )
            element = encoded[acl] = bytes(out)
        grouped.setdefault((b.resource_type, b.resource_name, b.pattern_type), []).append(element)
    with_pattern = version >= 1
    tail = b"\x00" if flexible else b""
    parts = [array_prefix(len(grouped), flexible)]
    for (rt, name, pt), elements in sorted(grouped.items()):
        data = name.encode()
        if flexible:
            size = bytearray()
            write_uvarint(size, len(data) + 1)
            parts += (_INT8.pack(rt), bytes(size), data)
        else:
            parts += (_INT8.pack(rt), _INT16.pack(len(data)), data)
        if with_pattern:
            parts.append(_INT8.pack(pt))
        parts.append(array_prefix(len(elements), flexible))
        parts += elements
        parts.append(tail)
    return Raw(b"".join(parts))


async def delete_acls(ctx: RequestContext, req: Message) -> Message:
    filters = req["filters"]
    if not _acl_admin_allowed(ctx, "ALTER"):
        return {
            "throttle_time_ms": 0,
            "filter_results": [
                {
                    "error_code": Err.CLUSTER_AUTHORIZATION_FAILED,
                    "error_message": "not authorized",
                    "matching_acls": [],
                }
                for _ in filters
            ],
        }
    results = ensure_installed(ctx).acls.delete([_filter(f) for f in filters])
    out = []
    for err, msg, gone in results:
        out.append(
            {
                "error_code": err,
                "error_message": msg,
                "matching_acls": [
                    {
                        "error_code": 0,
                        "error_message": None,
                        "resource_type": b.resource_type,
                        "resource_name": b.resource_name,
                        "pattern_type": b.pattern_type,
                        "principal": b.principal,
                        "host": b.host,
                        "operation": b.operation,
                        "permission_type": b.permission,
                    }
                    for b in gone
                ],
            }
        )
    return {"throttle_time_ms": 0, "filter_results": out}


# ------------------------------------------------------------------ SCRAM credentials
async def describe_scram(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    if not ctx.authorize("DESCRIBE", "CLUSTER", CLUSTER_NAME):
        return _cluster_denied(results=[])
    known = sec.credentials.users()
    requested = req.get("users")
    names = sorted(known) if requested is None else [u["name"] for u in requested]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    results: list[Message] = []
    for name in dict.fromkeys(names):
        if seen[name] > 1:
            results.append(
                {
                    "user": name,
                    "error_code": Err.DUPLICATE_RESOURCE,
                    "error_message": "user listed more than once",
                    "credential_infos": [],
                }
            )
        elif name not in known:
            results.append(
                {
                    "user": name,
                    "error_code": Err.RESOURCE_NOT_FOUND,
                    "error_message": "attempt to describe a user credential that does not exist",
                    "credential_infos": [],
                }
            )
        else:
            results.append(
                {
                    "user": name,
                    "error_code": 0,
                    "error_message": None,
                    "credential_infos": [
                        {"mechanism": MECHANISMS[mech][0], "iterations": it} for mech, it in known[name]
                    ],
                }
            )
    return {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "results": results}


async def alter_scram(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    users = list(
        dict.fromkeys([d["name"] for d in req["deletions"]] + [u["name"] for u in req["upsertions"]])
    )
    if not ctx.authorize("ALTER", "CLUSTER", CLUSTER_NAME):
        return {
            "throttle_time_ms": 0,
            "results": [
                {"user": u, "error_code": Err.CLUSTER_AUTHORIZATION_FAILED, "error_message": "not authorized"}
                for u in users
            ],
        }
    errors: dict[str, tuple[Err, str]] = {}
    touched: set[tuple[str, int]] = set()

    def fail(user: str, err: Err, msg: str) -> None:
        errors.setdefault(user, (err, msg))

    for d in req["deletions"]:
        key = (d["name"], d["mechanism"])
        if key in touched:
            fail(
                d["name"], Err.DUPLICATE_RESOURCE, "a user credential cannot be altered twice in one request"
            )
        touched.add(key)
        mech = MECHANISM_BY_ID.get(d["mechanism"])
        if not d["name"]:
            fail(d["name"], Err.UNACCEPTABLE_CREDENTIAL, "username must not be empty")
        elif mech is None:
            fail(d["name"], Err.UNSUPPORTED_SASL_MECHANISM, "unknown SCRAM mechanism")
        elif sec.credentials.get(d["name"], mech) is None:
            fail(d["name"], Err.RESOURCE_NOT_FOUND, "attempt to delete a user credential that does not exist")
    for u in req["upsertions"]:
        key = (u["name"], u["mechanism"])
        if key in touched:
            fail(
                u["name"], Err.DUPLICATE_RESOURCE, "a user credential cannot be altered twice in one request"
            )
        touched.add(key)
        if not u["name"]:
            fail(u["name"], Err.UNACCEPTABLE_CREDENTIAL, "username must not be empty")
        elif MECHANISM_BY_ID.get(u["mechanism"]) is None:
            fail(u["name"], Err.UNSUPPORTED_SASL_MECHANISM, "unknown SCRAM mechanism")
        elif not MIN_ITERATIONS <= u["iterations"] <= MAX_ITERATIONS:
            fail(
                u["name"],
                Err.UNACCEPTABLE_CREDENTIAL,
                f"iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}",
            )
        elif not u["salt"] or not u["salted_password"]:
            fail(u["name"], Err.UNACCEPTABLE_CREDENTIAL, "salt and salted password must not be empty")
    for d in req["deletions"]:
        if d["name"] not in errors:
            sec.credentials.delete(d["name"], MECHANISM_BY_ID[d["mechanism"]])
    for u in req["upsertions"]:
        if u["name"] not in errors:
            mech = MECHANISM_BY_ID[u["mechanism"]]
            sec.credentials.put(
                u["name"],
                mech,
                credential_from_salted(
                    MECHANISMS[mech][1], bytes(u["salt"]), u["iterations"], bytes(u["salted_password"])
                ),
            )
    return {
        "throttle_time_ms": 0,
        "results": [
            {
                "user": user,
                "error_code": errors.get(user, (Err.NONE, ""))[0],
                "error_message": errors[user][1] if user in errors else None,
            }
            for user in users
        ],
    }


# ------------------------------------------------------------------ client quotas
def _entity_out(entity: tuple[tuple[str, str | None], ...]) -> list[Message]:
    return [{"entity_type": t, "entity_name": n} for t, n in entity]


async def describe_client_quotas(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    if not ctx.authorize("DESCRIBE_CONFIGS", "CLUSTER", CLUSTER_NAME):
        return _cluster_denied(entries=None)
    components = [(c["entity_type"], c["match_type"], c.get("match")) for c in req["components"]]
    for etype, match_type, _ in components:
        if etype not in ("user", "client-id") or match_type not in (0, 1, 2):
            return {
                "throttle_time_ms": 0,
                "error_code": Err.INVALID_REQUEST,
                "error_message": f"invalid quota filter component {etype!r}/{match_type}",
                "entries": None,
            }
    found = sec.quotas.describe(components, bool(req.get("strict")))
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "entries": [
            {
                "entity": _entity_out(entity),
                "values": [{"key": k, "value": v} for k, v in sorted(values.items())],
            }
            for entity, values in found
        ],
    }


async def alter_client_quotas(ctx: RequestContext, req: Message) -> Message:
    sec = ensure_installed(ctx)
    allowed = ctx.authorize("ALTER_CONFIGS", "CLUSTER", CLUSTER_NAME)
    out = []
    for entry in req["entries"]:
        entity: Any = tuple((e["entity_type"], e.get("entity_name")) for e in entry["entity"])
        if not allowed:
            err, msg = Err.CLUSTER_AUTHORIZATION_FAILED, "not authorized"
        else:
            problem = sec.quotas.alter(
                entity,
                [(o["key"], o["value"], o["remove"]) for o in entry["ops"]],
                validate_only=bool(req.get("validate_only")),
            )
            err, msg = (Err.INVALID_REQUEST, problem) if problem else (Err.NONE, "")
        out.append({"error_code": err, "error_message": msg or None, "entity": _entity_out(entity)})
    return {"throttle_time_ms": 0, "entries": out}


def register(registry: HandlerRegistry) -> None:
    registry.register(17, "SaslHandshake", (0, 1), sasl_handshake)
    registry.register(36, "SaslAuthenticate", (0, 2), sasl_authenticate)
    registry.register(30, "CreateAcls", (0, 3), create_acls)
    registry.register(29, "DescribeAcls", (0, 3), describe_acls)
    registry.register(31, "DeleteAcls", (0, 3), delete_acls)
    registry.register(50, "DescribeUserScramCredentials", (0, 0), describe_scram)
    registry.register(51, "AlterUserScramCredentials", (0, 0), alter_scram)
    registry.register(48, "DescribeClientQuotas", (0, 1), describe_client_quotas)
    registry.register(49, "AlterClientQuotas", (0, 1), alter_client_quotas)
    registry.on_start(install)
