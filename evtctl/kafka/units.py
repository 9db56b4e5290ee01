"""Human units for durations and sizes, as manifests write them.

``7d`` and ``604800000`` are the same retention: every consumer of a config value (manifest
validation, the broker, plan's diff) goes through :func:`parse_duration_ms` / :func:`parse_bytes`
so a unit change is never a diff.
"""

from __future__ import annotations

import re

_DURATION_UNITS_MS: dict[str, int] = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
}
_SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_INFINITE = {"-1", "infinite", "unlimited", "forever", "none"}
_NUM_UNIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class UnitError(ValueError):
    """A value that is not a valid duration or size; the message says what is accepted."""


def _parse(
    value: object, units: dict[str, int], default_unit: str, what: str, *, allow_infinite: bool
) -> int:
    """One number with an optional unit suffix; ``what`` names the kind and its examples."""
    if isinstance(value, bool):
        raise UnitError(f"expected {what}, got {value!r}")
    if isinstance(value, int):
        if value < 0 and not (allow_infinite and value == -1):
            raise UnitError(f"must not be negative, got {value}")
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _INFINITE:
            if allow_infinite:
                return -1
            raise UnitError(f"{value!r} is not allowed here: give a finite value")
        match = _NUM_UNIT.match(text)
        if match:
            number, unit = match.group(1), match.group(2) or default_unit
            if unit in units:
                total = float(number) * units[unit]
                if total < 0:
                    raise UnitError(f"must not be negative, got {value!r}")
                if total != int(total):
                    raise UnitError(f"{value!r} is not a whole number of {default_unit}")
                return int(total)
    raise UnitError(f"expected {what}, got {value!r}")


def parse_duration_ms(value: object, *, allow_infinite: bool = False) -> int:
    """``"7d"`` -> 604800000; ints pass through; ``-1``/``infinite`` only when ``allow_infinite``."""
    what = "a duration such as 500ms, 30s, 15m, 12h, 7d or 2w"
    return _parse(value, _DURATION_UNITS_MS, "ms", what, allow_infinite=allow_infinite)


def parse_bytes(value: object, *, allow_infinite: bool = False) -> int:
    """``"1GiB"`` -> 1073741824, ``"1GB"`` -> 10**9; ints pass through."""
    what = "a size such as 512KiB, 100MiB, 1GiB or 1GB"
    return _parse(value, _SIZE_UNITS, "b", what, allow_infinite=allow_infinite)


def format_duration_ms(ms: int) -> str:
    """The shortest exact human form: 604800000 -> ``7d``; -1 -> ``infinite``."""
    if ms == -1:
        return "infinite"
    for unit in ("w", "d", "h", "m", "s"):
        factor = _DURATION_UNITS_MS[unit]
        if ms and ms % factor == 0:
            return f"{ms // factor}{unit}"
    return f"{ms}ms"


def format_bytes(size: int) -> str:
    """The shortest exact binary form: 1073741824 -> ``1GiB``; -1 -> ``unlimited``."""
    if size == -1:
        return "unlimited"
    for unit in ("tib", "gib", "mib", "kib"):
        factor = _SIZE_UNITS[unit]
        if size and size % factor == 0:
            return f"{size // factor}{unit[0].upper()}iB"
    return str(size)
