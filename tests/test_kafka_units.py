from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evtctl.kafka import topic_configs
from evtctl.kafka.units import (
    UnitError,
    format_bytes,
    format_duration_ms,
    parse_bytes,
    parse_duration_ms,
)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("500ms", 500), ("30s", 30_000), ("15m", 900_000), ("12h", 43_200_000), ("7d", 604_800_000),
     ("2w", 1_209_600_000), ("1.5h", 5_400_000), (42, 42), ("42", 42)],
)
def test_durations(text: object, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize(("text", "size"), [("1GiB", 2**30), ("1GB", 10**9), ("512KiB", 524_288), ("10", 10)])
def test_sizes(text: object, size: int) -> None:
    assert parse_bytes(text) == size


@pytest.mark.parametrize("bad", ["7x", "", "-5s", True, 1.5, "1.0001ms", None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(UnitError):
        parse_duration_ms(bad)


def test_infinite_only_when_allowed() -> None:
    assert parse_duration_ms("infinite", allow_infinite=True) == -1
    with pytest.raises(UnitError):
        parse_duration_ms("infinite")


@given(st.integers(min_value=0, max_value=2**50))
def test_duration_roundtrip(ms: int) -> None:
    assert parse_duration_ms(format_duration_ms(ms)) == ms


@given(st.integers(min_value=0, max_value=2**50))
def test_bytes_roundtrip(size: int) -> None:
    assert parse_bytes(format_bytes(size)) == size


def test_topic_config_normalization_makes_units_equal() -> None:
    assert topic_configs.normalize("retention.ms", "7d") == topic_configs.normalize("retention.ms", 604800000)
    assert topic_configs.normalize("cleanup.policy", "compact,delete") == "delete,compact"
    assert topic_configs.normalize("unclean.leader.election.enable", False) == "false"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("retention.mss", 1, "did you mean 'retention.ms'"),
        ("min.insync.replicas", 0, "below the minimum 1"),
        ("min.cleanable.dirty.ratio", 2, "above the maximum 1"),
        ("message.timestamp.type", "logappendtime", "did you mean 'LogAppendTime'"),
        ("cleanup.policy", "compacted", "not one of"),
        ("segment.bytes", "3GiB", "does not fit"),
    ],
)
def test_topic_config_errors(name: str, value: object, fragment: str) -> None:
    with pytest.raises(topic_configs.ConfigValueError, match=fragment.replace("(", r"\(")):
        topic_configs.normalize(name, value)


def test_every_default_is_valid() -> None:
    for name, definition in topic_configs.TOPIC_CONFIGS.items():
        assert topic_configs.normalize(name, definition.default) == definition.default, name
