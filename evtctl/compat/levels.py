"""Compatibility levels with Confluent Schema Registry semantics, and the result cache."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence

from evtctl.compat.model import CompatReport, FormatChecker, ParsedSchema, Violation
from evtctl.errors import UsageError

LEVELS: tuple[str, ...] = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)


def normalize_level(level: str) -> str:
    value = level.strip().upper().replace("-", "_")
    if value not in LEVELS:
        raise UsageError(f"unknown compatibility level '{level}'", help="use one of " + ", ".join(LEVELS))
    return value


def directions(level: str) -> tuple[bool, bool]:
    """(backward, forward) checks a level asks for."""
    base = level.removesuffix("_TRANSITIVE")
    return base in ("BACKWARD", "FULL"), base in ("FORWARD", "FULL")


# (reader fingerprint, writer fingerprint, reader is the new schema) -> violations; bounded LRU so
# a long-running registry does not grow without limit.
_CACHE_SIZE = 65536
_cache: OrderedDict[tuple[str, str, str, bool], tuple[Violation, ...]] = OrderedDict()


def _pair(
    checker: FormatChecker, reader: ParsedSchema, writer: ParsedSchema, reader_is_new: bool
) -> tuple[Violation, ...]:
    key = (reader.schema_type, reader.fingerprint, writer.fingerprint, reader_is_new)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    result = tuple(checker.check(reader, writer, reader_is_new=reader_is_new))
    _cache[key] = result
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return result


def clear_cache() -> None:
    _cache.clear()


def run_level(
    checker: FormatChecker, candidate: ParsedSchema, history: Sequence[ParsedSchema], level: str
) -> CompatReport:
    level = normalize_level(level)
    backward, forward = directions(level)
    if not history or not (backward or forward):
        return CompatReport(True, [], level, ())
    # Non-transitive levels compare with the latest version only, as Confluent does.
    indexes = range(len(history)) if level.endswith("_TRANSITIVE") else range(len(history) - 1, len(history))
    violations: list[Violation] = []
    for i in indexes:
        old = history[i]
        if old.schema_type != candidate.schema_type:
            raise UsageError(
                f"version {i + 1} is {old.schema_type} but the candidate is {candidate.schema_type}",
                help="a subject's versions must all use one schema type",
            )
        found: list[Violation] = []
        if backward:
            found += _pair(checker, candidate, old, True)
        if forward:
            found += _pair(checker, old, candidate, False)
        violations += [dataclasses.replace(v, version_index=i) for v in found]
    return CompatReport(not violations, violations, level, tuple(indexes))
