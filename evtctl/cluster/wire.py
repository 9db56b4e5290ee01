"""A minimal Kafka request/response exchange on a raw socket, for the few admin APIs librdkafka
does not expose (ApiVersions, client quotas). Non-flexible (v0) encodings only; no SASL: SASL
listeners go through kafka-python instead (see evtctl.cluster.kafka)."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evtctl.cluster.connection import ClusterConfig


def _str(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _nstr(value: str | None) -> bytes:
    return struct.pack(">h", -1) if value is None else _str(value)


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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def connect(config: ClusterConfig, host: str, port: int) -> socket.socket:
    raw = socket.create_connection((host, port), timeout=config.timeout)
    if not config.uses_tls:
        return raw
    ctx = ssl.create_default_context(cafile=config.ca_file)
    if config.cert_file:
        ctx.load_cert_chain(config.cert_file, config.key_file)
    return ctx.wrap_socket(raw, server_hostname=host)


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
