"""The raw DescribeConfigs path: version choice, and the fast parser against the spec-compiled codec."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from evtctl.broker.protocol.codec import codec
from evtctl.cluster import wire


def _entry(name: str, value: str | None, source: int, synonyms: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "read_only": False,
        "config_source": source,
        "is_default": source == 5,
        "is_sensitive": value is None,
        "synonyms": [{"name": f"log.{name}.{i}", "value": "syn-value", "source": 4} for i in range(synonyms)],
        "config_type": 3,
        "documentation": "some documentation" if synonyms else None,
    }


def _response(version: int) -> tuple[bytes, dict[str, wire.TopicConfigs]]:
    full = [_entry(f"config.{i}", str(i * 1000), 5, synonyms=i % 3) for i in range(40)]
    results = [
        # dense answers (our broker, Kafka): only DYNAMIC_TOPIC_CONFIG entries are overrides
        {"name": "orders", "configs": [*full[:10], _entry("retention.ms", "3600000", 1, 2), *full[10:]]},
        {"name": "plain", "configs": full},
        {"name": "secret", "configs": [*full, _entry("ssl.password", None, 1)]},
        # sparse answer (Tansu): the few stored values are labelled DEFAULT_CONFIG or UNKNOWN
        {"name": "tansu", "configs": [_entry("cleanup.policy", "compact", 5), _entry("x.y", "7", 0)]},
        {"name": "other", "error_code": 29, "error_message": "not authorized", "configs": []},
    ]
    body = {
        "throttle_time_ms": 0,
        "results": [
            {
                "error_code": r.get("error_code", 0),
                "error_message": r.get("error_message"),
                "resource_type": 2,
                "resource_name": r["name"],
                "configs": r["configs"],
            }
            for r in results
        ],
    }
    expected = {
        "orders": wire.TopicConfigs(0, None, (("retention.ms", "3600000"),)),
        "plain": wire.TopicConfigs(0, None, ()),
        "secret": wire.TopicConfigs(0, None, ()),  # a null (sensitive) value is never an override
        "tansu": wire.TopicConfigs(0, None, (("cleanup.policy", "compact"), ("x.y", "7"))),
        "other": wire.TopicConfigs(29, "not authorized", ()),
    }
    return bytes(codec("DescribeConfigsResponse", version).encode(body)), expected


@pytest.mark.parametrize("version", [1, 2, 3])
def test_parser_keeps_exactly_the_overrides(version: int) -> None:
    data, expected = _response(version)
    parsed = wire.parse_describe_topic_configs(wire.Reader(data), version, sparse_below=17)
    assert parsed == expected


@pytest.mark.parametrize("version", [1, 2, 3])
def test_shared_configs_arrays_parse_like_fresh_ones(version: int) -> None:
    """Topics whose configs arrays repeat byte for byte are recognised from recently parsed arrays;
    with more distinct arrays than are remembered, and in shuffled order, every topic still gets
    exactly its own overrides."""
    import random

    full = [_entry(f"config.{i}", str(i), 5, synonyms=i % 2) for i in range(20)]
    variants = [
        [*full[:i], _entry("retention.ms", str(1000 * i), 1), *full[i:]] if i % 3 else full for i in range(12)
    ]
    rng = random.Random(7)
    order = [rng.randrange(len(variants)) for _ in range(300)]
    body = {
        "throttle_time_ms": 0,
        "results": [
            {
                "error_code": 0,
                "error_message": None,
                "resource_type": 2,
                "resource_name": f"t{n}",
                "configs": variants[v],
            }
            for n, v in enumerate(order)
        ],
    }
    data = bytes(codec("DescribeConfigsResponse", version).encode(body))
    parsed = wire.parse_describe_topic_configs(wire.Reader(data), version, sparse_below=10)
    expected = {
        f"t{n}": wire.TopicConfigs(0, None, (("retention.ms", str(1000 * v)),) if v % 3 else ())
        for n, v in enumerate(order)
    }
    assert parsed == expected


@pytest.mark.parametrize("version", [1, 3])
def test_truncated_answer_is_an_error_not_a_short_result(version: int) -> None:
    """Cut anywhere, the answer fails as ValueError or struct.error (the caller then falls back to
    librdkafka), never as a short result or another exception."""
    data, _ = _response(version)
    for cut in range(len(data)):
        with pytest.raises((ValueError, struct.error)):
            wire.parse_describe_topic_configs(wire.Reader(data[:cut]), version, sparse_below=17)


def test_request_decodes_as_the_spec_says() -> None:
    for version in (1, 2, 3):
        body = wire.describe_topic_configs_request(["a", "b.c"], version)
        decoded = codec("DescribeConfigsRequest", version).decode(body)
        assert [
            (r["resource_type"], r["resource_name"], r["configuration_keys"]) for r in decoded["resources"]
        ] == [
            (2, "a", None),
            (2, "b.c", None),
        ]
        assert decoded["include_synonyms"] is False


@pytest.mark.parametrize(
    ("advertised", "chosen"),
    [((0, 4), 2), ((0, 1), 1), ((3, 4), 3), ((4, 4), None), ((0, 0), None), (None, None), ((1, 2), 2)],
)
def test_version_choice(advertised: tuple[int, int] | None, chosen: int | None) -> None:
    assert wire.describe_configs_version(advertised) == chosen


def test_acl_parser_against_the_codec() -> None:
    body = {
        "throttle_time_ms": 0,
        "error_code": 0,
        "error_message": None,
        "resources": [
            {
                "resource_type": 2,
                "resource_name": "orders",
                "pattern_type": 3,
                "acls": [
                    {"principal": "User:a", "host": "*", "operation": 3, "permission_type": 3},
                    {"principal": "User:b", "host": "10.0.0.1", "operation": 4, "permission_type": 2},
                ],
            },
            {
                "resource_type": 4,
                "resource_name": "kafka-cluster",
                "pattern_type": 4,
                "acls": [{"principal": "User:ops", "host": "*", "operation": 14, "permission_type": 3}],
            },
            {"resource_type": 9, "resource_name": "future", "pattern_type": 3, "acls": []},
        ],
    }
    data = bytes(codec("DescribeAclsResponse", 1).encode(body))
    assert wire.parse_describe_acls_v1(wire.Reader(data)) == (
        0,
        None,
        [
            ("User:a", "TOPIC", "orders", "LITERAL", "READ", "ALLOW", "*"),
            ("User:b", "TOPIC", "orders", "LITERAL", "WRITE", "DENY", "10.0.0.1"),
            ("User:ops", "CLUSTER", "kafka-cluster", "PREFIXED", "DESCRIBE_TOKENS", "ALLOW", "*"),
        ],
    )
    for cut in range(len(data)):
        with pytest.raises((ValueError, struct.error)):
            wire.parse_describe_acls_v1(wire.Reader(data[:cut]))
    request = codec("DescribeAclsRequest", 1).decode(wire.describe_all_acls_v1())
    assert request == {
        "resource_type_filter": 1,
        "resource_name_filter": None,
        "pattern_type_filter": 1,
        "principal_filter": None,
        "host_filter": None,
        "operation": 1,
        "permission_type": 1,
    }
