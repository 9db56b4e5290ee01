"""Client quotas: producer/consumer byte rates and request percentage per user and client id.

Entities and precedence follow Kafka (most specific first): user+client, user+default client, user,
default user+client, default user+default client, default user, client, default client. Each quota is a
token bucket per (entity, key) holding one second's worth of credit; a request that takes the bucket
below zero is throttled for the time the deficit takes to refill (capped), reported in
``throttle_time_ms`` and applied by delaying the response, as Kafka did before KIP-219 and as every
client honours. Quotas are durable in the internal journal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evtctl.broker.groups.store import KeyedJournal

PRODUCER_BYTE_RATE = "producer_byte_rate"
CONSUMER_BYTE_RATE = "consumer_byte_rate"
REQUEST_PERCENTAGE = "request_percentage"
QUOTA_KEYS = frozenset({PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE})
ENTITY_TYPES = ("user", "client-id")
MAX_THROTTLE_MS = 30_000

# An entity is a sorted tuple of (type, name) with name None for <default>.
Entity = tuple[tuple[str, str | None], ...]


def entity_key(entity: Entity) -> str:
    return "q" + json.dumps(sorted(entity), separators=(",", ":"))


def candidate_entities(user: str, client_id: str) -> list[Entity]:
    """Kafka's quota precedence for a (user, client id) pair, most specific first."""
    u, c = ("user", user), ("client-id", client_id)
    du, dc = ("user", None), ("client-id", None)
    order: list[Entity] = [(c, u), (dc, u), (u,), (c, du), (dc, du), (du,), (c,), (dc,)]
    return [tuple(sorted(e)) for e in order]


@dataclass
class _Bucket:
    rate: float
    tokens: float
    stamp: float

    def charge(self, amount: float, now: float) -> float:
        """Take ``amount``; return the throttle in seconds if the bucket went below zero."""
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= amount
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class QuotaManager:
    def __init__(self, data_dir: Path | None) -> None:
        self._journal = KeyedJournal(data_dir / "__quotas" / "quotas.journal") if data_dir else None
        self._quotas: dict[Entity, dict[str, float]] = {}
        self._buckets: dict[tuple[Entity, str], _Bucket] = {}
        self.throttled_ms_total: dict[str, int] = {}
        if self._journal is not None:
            for key, value in self._journal.items("q"):
                entity = tuple((t, n) for t, n in json.loads(key[1:]))
                self._quotas[entity] = {k: float(v) for k, v in value.items()}

    @property
    def enabled(self) -> bool:
        return bool(self._quotas)

    def quota_for(self, user: str, client_id: str, key: str) -> tuple[Entity, float] | None:
        for entity in candidate_entities(user, client_id):
            quotas = self._quotas.get(entity)
            if quotas and key in quotas:
                return entity, quotas[key]
        return None

    def record(self, user: str, client_id: str, key: str, amount: float) -> int:
        """Account ``amount`` (bytes, or handler seconds x 100 for percentages); return throttle ms."""
        found = self.quota_for(user, client_id, key)
        if found is None:
            return 0
        entity, limit = found
        # A bucket is shared by every client the entity covers, keyed by the resolved names.
        names = tuple((t, user if t == "user" else client_id) for t, _ in entity)
        bucket_key = (names, key)
        now = time.monotonic()
        bucket = self._buckets.get(bucket_key)
        if bucket is None or bucket.rate != limit:
            bucket = self._buckets[bucket_key] = _Bucket(limit, limit, now)
        throttle_ms = min(int(bucket.charge(amount, now) * 1000), MAX_THROTTLE_MS)
        if throttle_ms:
            self.throttled_ms_total[key] = self.throttled_ms_total.get(key, 0) + throttle_ms
        return throttle_ms

    def describe(
        self, components: Sequence[tuple[str, int, str | None]], strict: bool
    ) -> list[tuple[Entity, dict[str, float]]]:
        """Filter: (entity_type, match_type 0=exact 1=default 2=any, match)."""
        out = []
        for entity, quotas in self._quotas.items():
            types = dict(entity)
            ok = True
            for etype, match_type, match in components:
                if etype not in types:
                    ok = False
                    break
                name = types[etype]
                if (match_type == 0 and name != match) or (match_type == 1 and name is not None):
                    ok = False
                    break
            if ok and strict and len(types) != len(components):
                ok = False
            if ok:
                out.append((entity, dict(quotas)))
        return out

    def alter(
        self, entity: Entity, ops: Iterable[tuple[str, float, bool]], *, validate_only: bool
    ) -> str | None:
        """Apply (key, value, remove) ops; return an error message or None."""
        types = [t for t, _ in entity]
        if not entity or len(set(types)) != len(types) or any(t not in ENTITY_TYPES for t in types):
            return f"invalid quota entity {[list(p) for p in entity]}"
        current = dict(self._quotas.get(entity, {}))
        for key, value, remove in ops:
            if key not in QUOTA_KEYS:
                return f"unknown quota key {key!r}"
            if remove:
                current.pop(key, None)
            elif value <= 0:
                return f"quota {key} must be positive"
            else:
                current[key] = value
        if validate_only:
            return None
        entity = tuple(sorted(entity))
        if current:
            self._quotas[entity] = current
        else:
            self._quotas.pop(entity, None)
        if self._journal is not None:
            self._journal.put(entity_key(entity), current or None)
        return None

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
