"""Standard event headers and the causal context propagated from a handled event to what it emits.

While a generated consumer runs a handler it sets :data:`current_event`; every event the handler
sends through a generated producer then carries the same correlation id, the handled event's id as
causation id, and a W3C ``traceparent`` continuing the handled event's trace.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from evtctl.runtime.wire import header_value

EVENT_ID = "event-id"
EVENT_TYPE = "event-type"
SCHEMA_VERSION = "schema-version"
SCHEMA_ID = "schema-id"
CORRELATION_ID = "correlation-id"
CAUSATION_ID = "causation-id"
TRACEPARENT = "traceparent"
PRODUCER = "producer"
STANDARD_HEADERS = (
    EVENT_ID,
    EVENT_TYPE,
    SCHEMA_VERSION,
    SCHEMA_ID,
    CORRELATION_ID,
    CAUSATION_ID,
    TRACEPARENT,
)

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class EventContext:
    """Identity and causality of one event (as read from its headers)."""

    event_id: str
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    event_type: str | None = None

    @classmethod
    def from_headers(
        cls, headers: Iterable[tuple[str, bytes | str | None]] | None, *, fallback_id: str
    ) -> EventContext:
        def text(name: str) -> str | None:
            raw = header_value(headers, name)
            return raw.decode("utf-8", errors="replace") if raw is not None else None

        event_id = text(EVENT_ID) or fallback_id
        return cls(
            event_id=event_id,
            correlation_id=text(CORRELATION_ID) or event_id,
            causation_id=text(CAUSATION_ID),
            traceparent=text(TRACEPARENT),
            event_type=text(EVENT_TYPE),
        )


current_event: contextvars.ContextVar[EventContext | None] = contextvars.ContextVar(
    "evtctl_current_event", default=None
)


@contextmanager
def handling(event: EventContext) -> Iterator[EventContext]:
    """Make ``event`` the cause of everything sent inside the block."""
    token = current_event.set(event)
    try:
        yield event
    finally:
        current_event.reset(token)


def new_event_id() -> str:
    return str(uuid.uuid4())


def child_traceparent(parent: str | None) -> str:
    """A traceparent for a new span: same trace as ``parent`` when it is valid, else a new trace."""
    match = _TRACEPARENT.match(parent or "")
    if match and match.group(2) != "0" * 32:
        trace_id, flags = match.group(2), match.group(4)
    else:
        trace_id, flags = secrets.token_hex(16), "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def standard_headers(
    *, event_id: str, event_type: str, schema_id: int, schema_version: int | None, producer: str | None
) -> list[tuple[str, bytes]]:
    """The headers every generated producer writes, continuing the current event's causality."""
    cause = current_event.get()
    headers = [
        (EVENT_ID, event_id.encode()),
        (EVENT_TYPE, event_type.encode()),
        (SCHEMA_ID, str(schema_id).encode()),
        (CORRELATION_ID, (cause.correlation_id if cause else event_id).encode()),
        (TRACEPARENT, child_traceparent(cause.traceparent if cause else None).encode()),
    ]
    if schema_version is not None:
        headers.append((SCHEMA_VERSION, str(schema_version).encode()))
    if cause is not None:
        headers.append((CAUSATION_ID, cause.event_id.encode()))
    if producer:
        headers.append((PRODUCER, producer.encode()))
    return headers
