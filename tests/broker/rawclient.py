"""A minimal synchronous Kafka client for protocol-level tests.

Requests and responses are encoded/decoded with kafka-python's protocol classes (generated from Apache
Kafka's message specs), which serve as an independent oracle for our broker's codec. Record batches come
from kafka-python's ``DefaultRecordBatchBuilder``.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

from kafka.record.default_records import DefaultRecordBatchBuilder

TIMEOUT = 15.0


class RawClient:
    def __init__(self, bootstrap: str, timeout: float = TIMEOUT) -> None:
        host, _, port = bootstrap.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def recv_frame(self) -> bytes | None:
        """One response frame, or None if the broker closed the connection."""
        head = self._recv_exact(4)
        if head is None:
            return None
        size = struct.unpack(">i", head)[0]
        return self._recv_exact(size)

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def request(self, req: Any, response_cls: Any, version: int) -> Any:
        self.correlation_id += 1
        req.with_header(correlation_id=self.correlation_id, client_id="raw-test")
        data = req.encode(version=version, header=True, framed=True)
        self.sock.sendall(bytes(data))
        frame = self.recv_frame()
        assert frame is not None, "broker closed the connection"
        assert struct.unpack(">i", frame[:4])[0] == self.correlation_id
        return response_cls.decode(frame, version=version, header=True)

    def is_closed_by_peer(self, wait: float = 5.0) -> bool:
        """True once the broker has closed this connection (bounded wait)."""
        self.sock.settimeout(0.2)
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline:
                try:
                    data = self.sock.recv(65536)
                except TimeoutError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return True
                if not data:
                    return True
            return False
        finally:
            self.sock.settimeout(TIMEOUT)


def build_batch(
    values: list[bytes],
    *,
    keys: list[bytes | None] | None = None,
    compression: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    timestamps: list[int] | None = None,
) -> bytes:
    builder = DefaultRecordBatchBuilder(
        2, compression, False, producer_id, producer_epoch, base_sequence, 1 << 30
    )
    now = int(time.time() * 1000)
    for i, value in enumerate(values):
        key = keys[i] if keys else None
        ts = timestamps[i] if timestamps else now
        builder.append(i, timestamp=ts, key=key, value=value, headers=[])
    return bytes(builder.build())
