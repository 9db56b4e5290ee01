"""Security audit log: one JSON object per line for every authentication result and every denial.

Fields: ``ts`` (UTC ISO-8601), ``event`` (``authentication`` | ``authorization``), ``result``
(``success`` | ``failure`` | ``denied``), ``principal``, ``client`` (``host:port``), ``listener``, and for
authentication ``mechanism`` and ``reason``, for authorization ``operation``, ``resource_type``,
``resource_name``, ``api_key``. Lines are flushed as written (a reader tailing the file sees them at
once); passwords and SASL tokens are never written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO


class AuditLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - broker lifetime

    def write(
        self, event: str, result: str, principal: str, client: tuple[str, int], listener: str, **fields: Any
    ) -> None:
        if self._file is None:
            return
        now = time.time()
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
            "event": event,
            "result": result,
            "principal": principal,
            "client": f"{client[0]}:{client[1]}",
            "listener": listener,
            **fields,
        }
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
