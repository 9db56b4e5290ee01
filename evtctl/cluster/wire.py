"""A minimal Kafka request/response exchange on a raw socket, for the few admin APIs librdkafka
does not expose (ApiVersions, client quotas) and for DescribeConfigs of every topic, which librdkafka
turns into one Python object per config entry (seconds for 10,000 topics) while evtctl needs only
the dynamic overrides. Non-flexible encodings only. On a SASL listener the connection authenticates
first (PLAIN, SCRAM: evtctl.cluster.sasl); other mechanisms go through kafka-python or librdkafka
instead (see evtctl.cluster.kafka)."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evtctl.cluster import sasl
from evtctl.cluster.connection import ClusterConfig


def _str(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _nstr(value: str | None) -> bytes:
    return struct.pack(">h", -1) if value is None else _str(value)


def _bytes(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _one(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def int8(self) -> int:
        return int(self._one(">b"))

    def int16(self) -> int:
        return int(self._one(">h"))

    def int32(self) -> int:
        return int(self._one(">i"))

    def float64(self) -> float:
        return float(self._one(">d"))

    def nstr(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        text = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return text

    def str(self) -> str:
        return self.nstr() or ""

    def blob(self) -> bytes:
        n = self.int32()
        if n < 0:
            return b""
        data = self.data[self.pos : self.pos + n]
        if len(data) != n:
            raise ValueError("truncated bytes field")
        self.pos += n
        return data


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def connect(
    config: ClusterConfig, host: str, port: int, versions: Mapping[int, tuple[int, int]] | None = None
) -> socket.socket:
    """A connection to ``host:port`` ready for admin requests: TLS when the context uses it, then SASL
    when it names a mechanism (``versions``: the broker's advertised API versions, which pick the
    SaslAuthenticate version). Raises what :func:`authenticate` raises; the socket is closed then."""
    raw = socket.create_connection((host, port), timeout=config.timeout)
    sock = raw
    try:
        if config.uses_tls:
            ctx = ssl.create_default_context(cafile=config.ca_file)
            if config.cert_file:
                ctx.load_cert_chain(config.cert_file, config.key_file)
            sock = ctx.wrap_socket(raw, server_hostname=host)
        if config.sasl_mechanism:
            authenticate(sock, config, versions or {})
    except BaseException:
        sock.close()
        raw.close()
        raise
    return sock


# ---- SaslHandshake (key 17) v1 and SaslAuthenticate (key 36) v0-1 (KIP-152) ----------------------

SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
SASL_AUTHENTICATION_FAILED = 58  # Kafka's error code for rejected credentials


def sasl_authenticate_version(versions: Mapping[int, tuple[int, int]]) -> int | None:
    """v1 (adds the session lifetime) where advertised, else v0; None without SaslHandshake v1 (the
    v0 handshake sends bare tokens, not spoken here) or SaslAuthenticate v0-1 (v2+ is flexible)."""
    handshake, auth = versions.get(SASL_HANDSHAKE), versions.get(SASL_AUTHENTICATE)
    if handshake is None or not handshake[0] <= 1 <= handshake[1] or auth is None or auth[0] > 1:
        return None
    return min(auth[1], 1)


def authenticate(sock: socket.socket, config: ClusterConfig, versions: Mapping[int, tuple[int, int]]) -> None:
    """Authenticate a fresh connection the way Kafka clients do: SaslHandshake v1 naming the mechanism,
    then each of the mechanism's tokens in a SaslAuthenticate request.

    Raises sasl.SaslError when it cannot be done here (the caller falls back to librdkafka, which
    reports a wrong password the usual way), sasl.ServerProofError when the broker did not prove it
    holds the SCRAM credential, OSError / ValueError / struct.error for network or decoding failures.
    A v1 session lifetime is not tracked: the connection serves one request right away."""
    mechanism = config.sasl_mechanism or ""
    if not sasl.supports(mechanism):
        raise sasl.SaslError(f"the raw socket does not speak SASL mechanism {mechanism}")
    version = sasl_authenticate_version(versions)
    if version is None:
        raise sasl.SaslError("the broker advertises no SaslHandshake v1 with SaslAuthenticate v0-1")
    r = exchange(sock, SASL_HANDSHAKE, 1, _str(mechanism), correlation_id=1)
    error = r.int16()
    enabled = [r.str() for _ in range(max(r.int32(), 0))]
    if error:
        raise sasl.SaslError(
            f"SaslHandshake for {mechanism} failed with error {error} (enabled: {', '.join(enabled)})"
        )
    steps = sasl.conversation(mechanism, config.username or "", config.password or "")
    token = next(steps)
    correlation_id = 2
    while True:
        r = exchange(sock, SASL_AUTHENTICATE, version, _bytes(token), correlation_id=correlation_id)
        error, message = r.int16(), r.nstr()
        reply = r.blob()
        if error == SASL_AUTHENTICATION_FAILED:
            raise sasl.CredentialsRejected(message or "authentication failed")
        if error:
            raise sasl.SaslError(f"SaslAuthenticate failed with error {error}: {message or ''}".rstrip(": "))
        try:
            token = steps.send(reply)
        except StopIteration:
            return
        correlation_id += 1


def exchange(sock: socket.socket, api_key: int, version: int, body: bytes, correlation_id: int = 1) -> Reader:
    """Send one request (header v1) and return a reader positioned after the response header (v0)."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + _nstr("evtctl") + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = Reader(_recv_exact(sock, size))
    if reader.int32() != correlation_id:
        raise ValueError("correlation id mismatch")
    return reader


@dataclass(frozen=True, slots=True)
class QuotaEntry:
    entity: tuple[tuple[str, str | None], ...]
    values: tuple[tuple[str, float], ...]


def describe_client_quotas_v0() -> bytes:
    return struct.pack(">ib", 0, 0)  # no filter components, not strict: every entity


def parse_describe_client_quotas_v0(r: Reader) -> tuple[int, str | None, list[QuotaEntry]]:
    r.int32()  # throttle
    error, message = r.int16(), r.nstr()
    entries: list[QuotaEntry] = []
    for _ in range(max(r.int32(), 0)):
        entity = tuple((r.str(), r.nstr()) for _ in range(r.int32()))
        values = tuple((r.str(), r.float64()) for _ in range(r.int32()))
        entries.append(QuotaEntry(entity, values))
    return error, message, entries


def alter_client_quotas_v0(
    entries: Iterable[tuple[Iterable[tuple[str, str | None]], Mapping[str, float | None]]],
) -> bytes:
    items = list(entries)
    out = bytearray(struct.pack(">i", len(items)))
    for entity, ops in items:
        ent = list(entity)
        out += struct.pack(">i", len(ent))
        for etype, name in ent:
            out += _str(etype) + _nstr(name)
        out += struct.pack(">i", len(ops))
        for key, value in sorted(ops.items()):
            out += _str(key) + struct.pack(
                ">db", 0.0 if value is None else float(value), 1 if value is None else 0
            )
    out += struct.pack(">b", 0)  # validate_only
    return bytes(out)


def parse_alter_client_quotas_v0(r: Reader) -> list[tuple[int, str | None]]:
    r.int32()  # throttle
    results = []
    for _ in range(r.int32()):
        error, message = r.int16(), r.nstr()
        for _ in range(r.int32()):
            r.str()
            r.nstr()
        results.append((error, message))
    return results


# ---- DescribeConfigs (key 32) for topics, non-flexible versions 1-3 -------------------------------

DESCRIBE_CONFIGS = 32
DESCRIBE_CONFIGS_VERSIONS = (1, 3)  # v0 has no config source; v4 is flexible (not spoken here)
TOPIC_RESOURCE = 2
DYNAMIC_TOPIC_CONFIG = 1
SPARSE_SOURCES = (0, 5)  # UNKNOWN_CONFIG, DEFAULT_CONFIG: a sparse answer's per-topic values

_h = struct.Struct(">h").unpack_from
_i = struct.Struct(">i").unpack_from


def describe_configs_version(advertised: tuple[int, int] | None) -> int | None:
    """The version to speak given the broker's (min, max) for DescribeConfigs; None: none we speak.
    v2 is preferred: v3 adds only the config type and documentation, which are not needed."""
    if advertised is None:
        return None
    lo, hi = (
        max(advertised[0], DESCRIBE_CONFIGS_VERSIONS[0]),
        min(advertised[1], DESCRIBE_CONFIGS_VERSIONS[1]),
    )
    if lo > hi:
        return None
    return min(max(lo, 2), hi)


def describe_topic_configs_request(names: Iterable[str], version: int) -> bytes:
    """Every config of every topic in ``names``; no synonyms, no documentation (smaller answers)."""
    from evtctl.broker.protocol.codec import codec

    resources = [
        {"resource_type": TOPIC_RESOURCE, "resource_name": n, "configuration_keys": None} for n in names
    ]
    body = {"resources": resources, "include_synonyms": False, "include_documentation": False}
    return bytes(codec("DescribeConfigsRequest", version).encode(body))


@dataclass(frozen=True, slots=True)
class TopicConfigs:
    error_code: int
    error_message: str | None
    overrides: tuple[tuple[str, str], ...]  # (name, value) of the per-topic values


def parse_describe_topic_configs(r: Reader, version: int, sparse_below: int) -> dict[str, TopicConfigs]:
    """The per-topic overrides of a DescribeConfigs response, decoding only what is kept.

    An entry counts when its source is DYNAMIC_TOPIC_CONFIG, or, in a sparse answer (fewer than
    ``sparse_below`` entries: a broker such as Tansu that reports only the configs it stores, labelled
    DEFAULT_CONFIG or UNKNOWN), when its source is one of those. The other entries (broker defaults,
    the bulk of a 10 MB answer) are skipped by their lengths without decoding their strings."""
    if not 1 <= version <= 3:
        raise ValueError(f"DescribeConfigs v{version} is not parsed here")
    try:
        return _parse_describe_topic_configs(r, version, sparse_below)
    except IndexError:  # indexing past the end: a truncated answer
        raise ValueError("truncated DescribeConfigs response") from None


def _parse_describe_topic_configs(r: Reader, version: int, sparse_below: int) -> dict[str, TopicConfigs]:
    data = r.data
    pos = r.pos + 4  # throttle
    out: dict[str, TopicConfigs] = {}
    recent: list[tuple[bytes, tuple[tuple[str, str], ...]]] = []  # (array bytes, its overrides)
    (results,) = _i(data, pos)
    pos += 4
    for _ in range(results):
        (error,) = _h(data, pos)
        (n,) = _h(data, pos + 2)
        pos += 4
        message = None
        if n >= 0:
            message = data[pos : pos + n].decode()
            pos += n
        pos += 1  # resource type
        (n,) = _h(data, pos)
        name = data[pos + 2 : pos + 2 + n].decode()
        pos += 2 + n
        # Topics share their configs arrays byte for byte (every default entry, and the few override
        # sets a cluster's tooling writes), and an array's parse depends on its bytes alone: an
        # array equal to one parsed recently is recognised by a memory compare instead.
        for i, (seen, seen_kept) in enumerate(recent):
            if data.startswith(seen, pos):
                pos += len(seen)
                out[name] = TopicConfigs(error, message, seen_kept)
                if i:
                    recent.insert(0, recent.pop(i))
                break
        else:
            start = pos
            pos, kept = _parse_config_entries(data, pos, version, sparse_below)
            recent.insert(0, (data[start:pos], kept))
            del recent[_RECENT_ARRAYS:]
            out[name] = TopicConfigs(error, message, kept)
    if pos > len(data):
        raise ValueError("truncated DescribeConfigs response")
    return out


_RECENT_ARRAYS = 8


def _parse_config_entries(
    data: bytes, pos: int, version: int, sparse_below: int
) -> tuple[int, tuple[tuple[str, str], ...]]:
    """One topic's configs array from ``pos``: where it ends, and the overrides it holds."""
    h, i32 = _h, _i
    documented = version >= 3
    (count,) = i32(data, pos)
    pos += 4
    sparse = count < sparse_below
    kept: list[tuple[str, str]] = []
    # the hot loop of a plan on a large cluster: ~35 entries per topic, few of them kept
    for _ in range(count):
        (n,) = h(data, pos)
        name_at = pos + 2
        pos = name_at + n
        (v,) = h(data, pos)
        value_at = pos + 2
        pos = value_at + v if v > 0 else value_at
        source = data[pos + 1]  # after read_only; int8 read unsigned: -1 never matches
        (synonyms,) = i32(data, pos + 3)  # after read_only, source, is_sensitive
        pos += 7
        for _ in range(synonyms):
            (sn,) = h(data, pos)
            pos += 2 + sn
            (sv,) = h(data, pos)
            pos += 3 + sv if sv > 0 else 3
        if documented:
            (d,) = h(data, pos + 1)  # after config_type
            pos += 3 + d if d > 0 else 3
        if v >= 0 and (source == DYNAMIC_TOPIC_CONFIG or (sparse and source in SPARSE_SOURCES)):
            kept.append((data[name_at : name_at + n].decode(), data[value_at : value_at + v].decode()))
    return pos, tuple(kept)


# ---- DescribeAcls (key 29) v1: every binding ------------------------------------------------------

DESCRIBE_ACLS = 29
DESCRIBE_ACLS_VERSION = 1  # v1 adds the pattern type; v2+ is flexible (not spoken here)
# Kafka's enum codes (org.apache.kafka.common.resource / acl), by the names evtctl uses
RESOURCE_TYPES = (
    "UNKNOWN",
    "ANY",
    "TOPIC",
    "GROUP",
    "CLUSTER",
    "TRANSACTIONAL_ID",
    "DELEGATION_TOKEN",
    "USER",
)
PATTERN_TYPES = ("UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED")
ACL_OPERATIONS = (
    "UNKNOWN",
    "ANY",
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
)
PERMISSIONS = ("UNKNOWN", "ANY", "DENY", "ALLOW")


def describe_all_acls_v1() -> bytes:
    """A match-any filter: every resource type, name, pattern, principal, host, operation, permission."""
    return struct.pack(">bhbhhbb", 1, -1, 1, -1, -1, 1, 1)


def _enum(names: tuple[str, ...], code: int) -> str:
    return names[code] if 0 <= code < len(names) else str(code)


def parse_describe_acls_v1(
    r: Reader,
) -> tuple[int, str | None, list[tuple[str, str, str, str, str, str, str]]]:
    """(error, message, bindings as (principal, resource type, name, pattern, operation, permission,
    host)). One tuple per binding: 20,000 ACLs parse in a fraction of what librdkafka's objects cost."""
    try:
        return _parse_describe_acls_v1(r)
    except IndexError:  # indexing past the end: a truncated answer
        raise ValueError("truncated DescribeAcls response") from None


def _parse_describe_acls_v1(
    r: Reader,
) -> tuple[int, str | None, list[tuple[str, str, str, str, str, str, str]]]:
    r.int32()  # throttle
    error, message = r.int16(), r.nstr()
    data = r.data
    pos = r.pos
    h, i32 = _h, _i
    out: list[tuple[str, str, str, str, str, str, str]] = []
    (resources,) = i32(data, pos)
    pos += 4
    for _ in range(resources):
        rtype = _enum(RESOURCE_TYPES, data[pos])
        (n,) = h(data, pos + 1)
        name = data[pos + 3 : pos + 3 + n].decode()
        pos += 3 + n
        pattern = _enum(PATTERN_TYPES, data[pos])
        (count,) = i32(data, pos + 1)
        pos += 5
        for _ in range(count):
            (n,) = h(data, pos)
            principal = data[pos + 2 : pos + 2 + n].decode()
            pos += 2 + n
            (n,) = h(data, pos)
            host = data[pos + 2 : pos + 2 + n].decode()
            pos += 2 + n
            op, perm = data[pos], data[pos + 1]
            pos += 2
            out.append(
                (principal, rtype, name, pattern, _enum(ACL_OPERATIONS, op), _enum(PERMISSIONS, perm), host)
            )
    if pos > len(data):
        raise ValueError("truncated DescribeAcls response")
    return error, message, out
