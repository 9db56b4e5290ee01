"""DescribeConfigs of every config (pre-encoded arrays) answers exactly what the per-key path answers.

A request with ``configuration_keys = null`` takes the broker's pre-encoded path; naming every catalog
config takes the dict path. Both go through kafka-python's protocol classes (an independent decoder),
and their frames are compared byte for byte. In-process tests compare the handler's bytes with the
generic codec's encoding of the answer built as dicts, across versions, flags, config changes,
recreation and per-resource authorization; the request's hand-written reader is compared with the
compiled one."""

from __future__ import annotations

import asyncio
import json
import random
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic
from kafka.protocol.admin import DescribeConfigsRequest, DescribeConfigsResponse

from evtctl.broker.auth.config import SecurityConfig
from evtctl.broker.auth.handlers import create_acls
from evtctl.broker.auth.plugin import install
from evtctl.broker.config import BrokerConfig
from evtctl.broker.context import ANONYMOUS, ConnectionState, RequestContext
from evtctl.broker.handlers.configs import (
    _broker_entries,
    alter_configs,
    describe_configs,
    incremental_alter_configs,
    topic_config_entries,
)
from evtctl.broker.protocol.codec import (
    DecodeError,
    Message,
    MessageCodec,
    RawParts,
    codec,
    generic_codec,
    is_flexible,
)
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.server import Broker, encode_response
from evtctl.kafka.topic_configs import TOPIC_CONFIGS
from tests.broker.rawclient import RawClient
from tests.support.broker import BrokerProcess

WAIT = 30


@pytest.fixture(scope="module")
def topics(broker: BrokerProcess) -> list[str]:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    suffix = uuid.uuid4().hex[:8]
    specs = {
        f"enc-plain-{suffix}": {},
        f"enc-one-{suffix}": {"retention.ms": "3600000"},
        f"enc-two-{suffix}": {"retention.ms": "3600000", "cleanup.policy": "compact"},
        f"enc-three-{suffix}": {
            "retention.ms": "7200000",
            "segment.bytes": "1048576",
            "min.insync.replicas": "1",
        },
    }
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1, config=cfg) for name, cfg in specs.items()]
    )
    for fut in futures.values():
        fut.result(WAIT)
    return list(specs)


def _describe(
    broker: BrokerProcess, names: list[str], version: int, keys: list[str] | None, synonyms: bool
) -> list[Any]:
    res = DescribeConfigsRequest.DescribeConfigsResource
    kwargs: dict[str, Any] = {"include_synonyms": synonyms}
    if version >= 3:
        kwargs["include_documentation"] = True
    req = DescribeConfigsRequest[version](
        resources=[res(resource_type=2, resource_name=n, configuration_keys=keys) for n in names], **kwargs
    )
    with RawClient(broker.bootstrap) as client:
        return list(client.request(req, DescribeConfigsResponse, version).results)


def _plain(results: list[Any]) -> list[Any]:
    return [r.to_dict() if hasattr(r, "to_dict") else r for r in results]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@pytest.mark.parametrize("synonyms", [False, True])
def test_every_config_equals_every_key_named(
    broker: BrokerProcess, topics: list[str], version: int, synonyms: bool
) -> None:
    everything = _describe(broker, topics, version, None, synonyms)
    named = _describe(broker, topics, version, list(TOPIC_CONFIGS), synonyms)
    assert _plain(everything) == _plain(named)
    by_topic = {r.resource_name: {c.name: c for c in r.configs} for r in everything}
    assert set(by_topic[topics[0]]) == set(TOPIC_CONFIGS)
    # an explicit entry is the topic's own (source 1); the shared default entries are untouched
    assert by_topic[topics[1]]["retention.ms"].value == "3600000"
    assert by_topic[topics[1]]["retention.ms"].config_source == 1
    assert by_topic[topics[0]]["retention.ms"].config_source == 5
    assert by_topic[topics[3]]["retention.ms"].value == "7200000"
    assert by_topic[topics[2]]["cleanup.policy"].value == "compact"
    if synonyms:
        assert [s.name for s in by_topic[topics[1]]["retention.ms"].synonyms] == [
            "retention.ms",
            "log.retention.ms",
        ]


@pytest.mark.parametrize("version", range(1, 13))
def test_metadata_of_every_topic_equals_every_topic_named(
    broker: BrokerProcess, topics: list[str], version: int
) -> None:
    """All-topics Metadata (pre-encoded entries) answers exactly what naming each topic answers."""
    from kafka.protocol.metadata import MetadataRequest, MetadataResponse

    def ask(names: list[str] | None) -> list[Any]:
        kwargs: dict[str, Any] = {}
        if version >= 4:
            kwargs["allow_auto_topic_creation"] = False
        if version >= 8:
            kwargs["include_topic_authorized_operations"] = False
        if 8 <= version <= 10:
            kwargs["include_cluster_authorized_operations"] = False
        wanted = None if names is None else [MetadataRequest.MetadataRequestTopic(name=n) for n in names]
        req = MetadataRequest[version](topics=wanted, **kwargs)
        with RawClient(broker.bootstrap) as client:
            return list(client.request(req, MetadataResponse, version).topics)

    everything = {t.name: t for t in ask(None)}
    assert set(topics) <= set(everything)
    # twice: the second answer comes from the cache of encoded entries
    assert {t.name: t for t in ask(None)}.keys() == everything.keys()
    named = ask(topics)
    assert _plain([everything[t.name] for t in named]) == _plain(named)
    assert all(len(everything[n].partitions) == 1 for n in topics)


# ------------------------------------------------------------------ wire: bytes of both paths


def _raw_describe(
    broker: BrokerProcess, names: list[str], version: int, keys: list[str] | None, synonyms: bool
) -> bytes:
    """The response frame (correlation id on) of a DescribeConfigs encoded by the generic codec."""
    body: dict[str, Any] = {
        "resources": [{"resource_type": 2, "resource_name": n, "configuration_keys": keys} for n in names],
        "include_synonyms": synonyms,
        "include_documentation": version >= 3,
    }
    head = struct.pack(">hhih", 32, version, 7, 4) + b"test"
    if is_flexible("DescribeConfigsRequest", version):
        head += b"\x00"
    with RawClient(broker.bootstrap) as client:
        client.send_raw(head + bytes(generic_codec("DescribeConfigsRequest", version).encode(body)))
        frame = client.recv_frame()
    assert frame is not None
    return frame


def _wire_both_paths_equal(broker: BrokerProcess, names: list[str]) -> dict[tuple[int, bool], bytes]:
    frames = {}
    for version in (1, 2, 3, 4):
        for synonyms in (False, True):
            everything = _raw_describe(broker, names, version, None, synonyms)
            # naming every config takes the dict path, encoded by the generic codec
            assert everything == _raw_describe(broker, names, version, list(TOPIC_CONFIGS), synonyms)
            frames[version, synonyms] = everything
    return frames


def test_wire_bytes_equal_after_alter_and_recreate(broker: BrokerProcess) -> None:
    """Every-config answers (cached heads and arrays) stay byte-equal to the generic encoding of the
    dict path through AlterConfigs, IncrementalAlterConfigs and delete + recreate."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    suffix = uuid.uuid4().hex[:8]
    names = [f"wire-a-{suffix}", f"wire-b-{suffix}", f"wire-c-{suffix}"]
    specs = {names[0]: {"retention.ms": "3600000"}, names[1]: {}, names[2]: {"cleanup.policy": "compact"}}

    def create(which: dict[str, dict[str, str]]) -> None:
        new = [NewTopic(n, num_partitions=1, replication_factor=1, config=c) for n, c in which.items()]
        for fut in admin.create_topics(new).values():
            fut.result(WAIT)

    create(specs)
    before = _wire_both_paths_equal(broker, names)

    legacy = ConfigResource("topic", names[0], set_config={"retention.ms": "7200000"})
    for fut in admin.alter_configs([legacy]).values():
        fut.result(WAIT)
    incremental = ConfigResource(
        "topic",
        names[1],
        incremental_configs=[
            ConfigEntry("segment.bytes", "1048576", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    for fut in admin.incremental_alter_configs([incremental]).values():
        fut.result(WAIT)
    for fut in admin.delete_topics([names[2]]).values():
        fut.result(WAIT)
    create({names[2]: {"retention.ms": "60000"}})  # same name, other configs

    after = _wire_both_paths_equal(broker, names)
    assert all(after[k] != before[k] for k in before)
    assert b"7200000" in after[1, False] and b"1048576" in after[1, False] and b"60000" in after[1, False]
    assert b"3600000" not in after[1, False]


# ------------------------------------------------------------------ in-process: bytes vs the generic codec

OVERRIDES = {"log.retention.ms": "86400000"}
SPECS: dict[str, dict[str, str]] = {
    "plain": {},
    "one": {"retention.ms": "3600000"},
    "same-one": {"retention.ms": "3600000"},  # shares the first one's cached array
    "three": {"retention.ms": "7200000", "segment.bytes": "1048576", "min.insync.replicas": "1"},
    "compacted": {"cleanup.policy": "compact"},
}


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Broker]:
    security = SecurityConfig(super_users=("User:admin",), allow_everyone_if_no_acl_found=False)
    b = Broker(BrokerConfig(tmp_path / "data", broker_overrides=dict(OVERRIDES), security=security))
    for name, configs in SPECS.items():
        b.create_topic(name, 1, configs)
    yield b
    sec = b.plugins.get("security")
    if sec is not None:
        for part in (sec.acls, sec.credentials, sec.quotas, sec.audit):
            part.close()
    for plog in b.logs.values():
        plog.close()


def _ctx(broker: Broker, api_key: int, version: int, principal: str = ANONYMOUS) -> RequestContext:
    return RequestContext(
        broker, ConnectionState(("127.0.0.1", 40000), principal=principal), api_key, version, 1, "t"
    )


def _frame(version: int, response: Message) -> bytes:
    return b"".join(bytes(c) for c in encode_response("DescribeConfigs", version, 1, response))


def _request(
    version: int, resources: list[tuple[int, str, list[str] | None]], synonyms: bool, docs: bool
) -> Message:
    """The request as the broker decodes it (registered reader), checked against the compiled one."""
    body = {
        "resources": [
            {"resource_type": t, "resource_name": n, "configuration_keys": k} for t, n, k in resources
        ],
        "include_synonyms": synonyms,
        "include_documentation": docs,
    }
    data = bytes(generic_codec("DescribeConfigsRequest", version).encode(body))
    decoded = codec("DescribeConfigsRequest", version).decode(data)
    assert decoded == generic_codec("DescribeConfigsRequest", version).decode(data)
    return decoded


def _expected(broker: Broker, request: Message, denied: frozenset[str] = frozenset()) -> Message:
    """The answer built as dicts, entries from topic_config_entries (no pre-encoded bytes anywhere)."""
    synonyms = bool(request.get("include_synonyms"))
    docs = bool(request.get("include_documentation"))
    results = []
    for res in request["resources"]:
        rtype, name, keys = res["resource_type"], res["resource_name"], res["configuration_keys"]
        result: Message = {
            "error_code": 0,
            "error_message": None,
            "resource_type": rtype,
            "resource_name": name,
            "configs": [],
        }
        meta = broker.store.topics.get(name)
        if rtype == 4:
            entries = _broker_entries(broker, synonyms=synonyms, docs=docs)
            result["configs"] = [e for e in entries if keys is None or e["name"] in keys]
        elif rtype == 8:
            pass  # BROKER_LOGGER: no configs
        elif rtype != 2:
            result.update(
                error_code=ErrorCode.INVALID_REQUEST, error_message=f"resource type {rtype} has no configs"
            )
        elif name in denied:
            result["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        elif meta is None:
            result.update(
                error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                error_message=f"topic {name!r} does not exist",
            )
        else:
            entries = topic_config_entries(broker, meta.configs, synonyms=synonyms, docs=docs, version=0)
            result["configs"] = [e for e in entries if keys is None or e["name"] in keys]
        results.append(result)
    return {"throttle_time_ms": 0, "results": results}


def _describe_local(broker: Broker, version: int, request: Message, principal: str = ANONYMOUS) -> bytes:
    response = asyncio.run(describe_configs(_ctx(broker, 32, version, principal), request))
    assert isinstance(response["results"], RawParts)  # the pre-encoded path, not a list of dicts
    return _frame(version, response)


ALL_TOPICS: list[tuple[int, str, list[str] | None]] = [(2, name, None) for name in SPECS]
MIXED: list[tuple[int, str, list[str] | None]] = [
    *ALL_TOPICS,
    (2, "missing", None),
    (2, "one", ["retention.ms", "cleanup.policy"]),
    (2, "plain", []),
    (4, "", ["log.retention.ms"]),
    (8, "", None),  # BROKER_LOGGER
    (3, "a-group", None),  # no configs
]
VARIANTS = [
    (v, syn, docs) for v in range(5) for syn in (False, True) for docs in (False, True) if docs <= (v >= 3)
]


@pytest.mark.parametrize(("version", "synonyms", "docs"), VARIANTS)
def test_local_bytes_equal_generic_encoding(local: Broker, version: int, synonyms: bool, docs: bool) -> None:
    request = _request(version, MIXED, synonyms, docs)
    expected = _frame(version, _expected(local, request))
    assert _describe_local(local, version, request) == expected
    assert _describe_local(local, version, request) == expected  # again, from the caches


@pytest.mark.parametrize(
    ("version", "synonyms", "docs"), [(1, False, False), (3, True, True), (4, False, False)]
)
def test_local_bytes_follow_changes_and_recreation(
    local: Broker, version: int, synonyms: bool, docs: bool
) -> None:
    request = _request(version, ALL_TOPICS, synonyms, docs)
    before = _describe_local(local, version, request)
    assert before == _frame(version, _expected(local, request))

    alter = {
        "resources": [
            {
                "resource_type": 2,
                "resource_name": "one",
                "configs": [{"name": "retention.ms", "value": "5000"}],
            }
        ]
    }
    assert asyncio.run(alter_configs(_ctx(local, 33, 0), alter))["responses"][0]["error_code"] == 0
    ops = [
        {"name": "segment.bytes", "config_operation": 1, "value": None},  # DELETE
        {"name": "retention.ms", "config_operation": 0, "value": "3600000"},  # SET
    ]
    incremental = {"resources": [{"resource_type": 2, "resource_name": "three", "configs": ops}]}
    assert (
        asyncio.run(incremental_alter_configs(_ctx(local, 44, 0), incremental))["responses"][0]["error_code"]
        == 0
    )
    local.delete_topic("compacted")
    local.create_topic("compacted", 1, {"retention.ms": "1000"})
    local.delete_topic("plain")
    local.create_topic("plain", 1, {})  # same name and configs: the same bytes are right

    after = _describe_local(local, version, request)
    assert after == _frame(version, _expected(local, request))
    assert after != before
    assert local.store.topics["one"].configs == {"retention.ms": "5000"}
    # "same-one" kept the array shared with the old "one"
    assert after == _describe_local(local, version, request)


def test_local_authorization_per_resource(local: Broker) -> None:
    """Each topic is authorized once, denials per resource and audited once, as before."""
    sec = install(local)
    grant = {
        "creations": [
            {
                "resource_type": 2,
                "resource_name": "o",
                "resource_pattern_type": 4,  # PREFIXED: "one", but not "plain"
                "principal": "User:alice",
                "host": "*",
                "operation": 10,  # DESCRIBE_CONFIGS
                "permission_type": 3,
            }
        ]
    }
    assert asyncio.run(create_acls(_ctx(local, 30, 1, "User:admin"), grant))["results"][0]["error_code"] == 0
    resources = [
        (2, "one", None),
        (2, "plain", None),
        (2, "other-missing", None),
        (2, "plain", ["retention.ms"]),
    ]
    for version in (1, 4):
        request = _request(version, resources, False, False)
        expected = _expected(local, request, denied=frozenset({"plain"}))
        assert _describe_local(local, version, request, "User:alice") == _frame(version, expected)
    denials = [json.loads(line) for line in Path(sec.audit.path or "").read_text().splitlines()]
    denied = [d["resource_name"] for d in denials if d.get("result") == "denied" and d.get("api_key") == 32]
    assert denied == ["plain", "plain"] * 2


class _Recording:
    """An authorizer that records every check and denies the topics named ``deny``."""

    def __init__(self, deny: set[str]) -> None:
        self.deny = deny
        self.calls: list[tuple[str, str, str]] = []

    def authorize(
        self, ctx: RequestContext, operation: str, resource_type: str, name: str, pattern: str = "LITERAL"
    ) -> bool:
        self.calls.append((operation, resource_type, name))
        return name not in self.deny


def test_local_one_check_per_resource(local: Broker) -> None:
    recording = _Recording({"plain", "missing-denied"})
    local.authorizer = recording
    resources = [
        (2, "one", None),
        (2, "plain", None),
        (2, "missing", None),
        (2, "missing-denied", None),
        (2, "three", ["retention.ms"]),
        (4, "", None),
        (3, "a-group", None),
    ]
    for version in (0, 1, 4):
        recording.calls.clear()
        request = _request(version, resources, True, False)
        expected = _expected(local, request, denied=frozenset(recording.deny))
        assert _describe_local(local, version, request) == _frame(version, expected)
        topic_checks = [("DESCRIBE_CONFIGS", "TOPIC", n) for t, n, _ in resources if t == 2]
        assert recording.calls == [*topic_checks, ("DESCRIBE_CONFIGS", "CLUSTER", "kafka-cluster")]


# ------------------------------------------------------------------ the request's hand-written reader


def _outcome(c: MessageCodec, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", c.decode(data)
    except DecodeError:
        return "error", None


@pytest.mark.parametrize("version", range(5))
def test_request_reader_decodes_what_the_compiled_reader_decodes(version: int) -> None:
    fast, generic = codec("DescribeConfigsRequest", version), generic_codec("DescribeConfigsRequest", version)
    assert fast.reader is not generic.reader
    long_name = "t" * 300  # a two-byte compact length at v4
    bodies: list[Message] = [
        {"resources": []},
        {"resources": [{"resource_type": 2, "resource_name": "a", "configuration_keys": None}]},
        {
            "resources": [
                {"resource_type": 2, "resource_name": "tøpic-ü", "configuration_keys": []},
                {
                    "resource_type": 4,
                    "resource_name": "",
                    "configuration_keys": ["log.retention.ms", "ä" * 200],
                },
                {"resource_type": -3, "resource_name": long_name, "configuration_keys": None},
            ],
            "include_synonyms": True,
            "include_documentation": True,
        },
    ]
    rng = random.Random(version)
    for body in bodies:
        data = bytes(generic.encode(body))
        assert fast.decode(data) == generic.decode(data)
        for cut in range(len(data)):  # every truncation
            assert _outcome(fast, data[:cut]) == _outcome(generic, data[:cut])
        for _ in range(300):  # random corruption: same message or both a DecodeError
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                if mutated:
                    mutated[rng.randrange(len(mutated))] = rng.choice(
                        [0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)]
                    )
            assert _outcome(fast, bytes(mutated)) == _outcome(generic, bytes(mutated))


def test_request_reader_skips_unknown_tagged_fields() -> None:
    fast, generic = codec("DescribeConfigsRequest", 4), generic_codec("DescribeConfigsRequest", 4)
    resource = b"\x02" + b"\x03ab" + b"\x00" + b"\x01\x05\x02xy"  # TOPIC "ab", null keys, tag 5
    data = b"\x02" + resource + b"\x01\x00" + b"\x02\x07\x01z\x09\x00"  # two top-level tags
    assert fast.decode(data) == generic.decode(data)
    assert fast.decode(data)["resources"][0]["resource_name"] == "ab"
    assert _outcome(fast, data[:-1]) == _outcome(generic, data[:-1]) == ("error", None)
    bad_utf8 = b"\x02\x02\x03\xff\xfe\x00\x00\x00\x00\x00"
    assert _outcome(fast, bad_utf8) == _outcome(generic, bad_utf8) == ("error", None)
