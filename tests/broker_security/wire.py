"""A minimal raw Kafka client for protocol-abuse tests (bad SASL exchanges, replays, ACL filters).

Requests are encoded and responses decoded with the broker's spec-driven codec, used here only as a
message (de)serializer: what is under test is the broker process on the other end of the socket.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from evtctl.broker.protocol.codec import codec, is_flexible, write_uvarint

API = {
    "Fetch": 1,
    "SaslHandshake": 17,
    "SaslAuthenticate": 36,
    "Metadata": 3,
    "ApiVersions": 18,
    "DescribeAcls": 29,
    "CreateAcls": 30,
    "DeleteAcls": 31,
    "DescribeClientQuotas": 48,
    "AlterClientQuotas": 49,
}


class WireClient:
    def __init__(self, bootstrap: str, timeout: float = 10.0, client_id: str = "wire-test") -> None:
        self.client_id = client_id.encode()
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def request(self, name: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
        self.correlation += 1
        header = bytearray(struct.pack(">hhi", API[name], version, self.correlation))
        header += struct.pack(">h", len(self.client_id)) + self.client_id
        if is_flexible(f"{name}Request", version):
            write_uvarint(header, 0)  # no tagged fields in header v2
        payload = bytes(codec(f"{name}Request", version).encode(body, header))
        self.send_raw(payload)
        return self.read_response(name, version)

    def read_response(self, name: str, version: int) -> dict[str, Any]:
        size = struct.unpack(">i", self._read(4))[0]
        data = self._read(size)
        pos = 4  # correlation id
        if name != "ApiVersions" and is_flexible(f"{name}Response", version):
            pos += 1  # empty tagged fields of response header v1
        return codec(f"{name}Response", version).decode(data, pos)

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return buf

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionError, TimeoutError, OSError):
            return True


def sasl_login(client: WireClient, mechanism: str, tokens: list[bytes]) -> list[dict[str, Any]]:
    hs = client.request("SaslHandshake", 1, {"mechanism": mechanism})
    assert hs["error_code"] == 0, hs
    return [client.request("SaslAuthenticate", 2, {"auth_bytes": t}) for t in tokens]


def send_token(client: WireClient, token: bytes) -> None:
    """A bare SASL token (after SaslHandshake v0): size-prefixed, no request header."""
    client.send_raw(token)


def read_token(client: WireClient) -> bytes:
    """A bare size-prefixed SASL reply (after SaslHandshake v0)."""
    size = struct.unpack(">i", client._read(4))[0]
    return client._read(size)
