"""Retry and dead-letter policy of a consumer, as declared in the manifest."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Headers written on a dead-lettered record (the original key, value and headers are kept as-is).
DLQ_REASON = "dlq-reason"
DLQ_ERROR_TYPE = "dlq-error-type"
DLQ_ATTEMPTS = "dlq-attempts"
DLQ_ORIGINAL_TOPIC = "dlq-original-topic"
DLQ_ORIGINAL_PARTITION = "dlq-original-partition"
DLQ_ORIGINAL_OFFSET = "dlq-original-offset"
DLQ_CONSUMER_GROUP = "dlq-consumer-group"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` handler calls in total, sleeping an exponential, jittered backoff in between."""

    max_attempts: int = 3
    initial_backoff: float = 0.1
    multiplier: float = 2.0
    max_backoff: float = 10.0
    jitter: float = 0.1  # fraction of the delay, so replicas do not retry in lock step

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True, slots=True)
class DeadLetterPolicy:
    """Where exhausted events go; ``topic=None`` means failures stop the consumer instead."""

    topic: str | None
    reason_header: str = DLQ_REASON
    include_stack: bool = False
