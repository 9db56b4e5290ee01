"""Protocol-level behaviour over raw connections: versions, bad input, idempotence, fuzzing."""

from __future__ import annotations

import contextlib
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.protocol.admin import CreateTopicsRequest, CreateTopicsResponse
from kafka.protocol.consumer import FetchRequest
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse
from kafka.protocol.producer import (
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)

from tests.broker.rawclient import RawClient, build_batch
from tests.support.broker import BrokerProcess, start_broker

MAX_REQUEST = 1 << 20


@pytest.fixture(scope="module")
def rbroker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    tmp: Path = tmp_path_factory.mktemp("raw")
    proc = start_broker(tmp, "--registry-listen", "off", "--socket-request-max-bytes", str(MAX_REQUEST))
    with RawClient(proc.bootstrap) as c:
        topic = CreateTopicsRequest.CreatableTopic(
            name="raw", num_partitions=2, replication_factor=1, assignments=[], configs=[]
        )
        resp = c.request(
            CreateTopicsRequest[5](topics=[topic], timeout_ms=5000, validate_only=False),
            CreateTopicsResponse,
            5,
        )
        assert resp.topics[0].error_code == 0
    yield proc
    log = proc.log_text()
    proc.stop()
    assert "Traceback" not in log, log[-3000:]  # bad input must never hit a bug path


def _produce_req(records: bytes, partition: int = 0, acks: int = -1) -> ProduceRequest:
    part = ProduceRequest.TopicProduceData.PartitionProduceData(index=partition, records=records)
    return ProduceRequest[9](
        transactional_id=None,
        acks=acks,
        timeout_ms=5000,
        topic_data=[ProduceRequest.TopicProduceData(name="raw", partition_data=[part])],
    )


def _produce(c: RawClient, records: bytes, partition: int = 0) -> tuple[int, int]:
    resp = c.request(_produce_req(records, partition), ProduceResponse, 9)
    p = resp.responses[0].partition_responses[0]
    return p.error_code, p.base_offset


def _still_serving(proc: BrokerProcess) -> bool:
    with RawClient(proc.bootstrap) as c:
        resp = c.request(
            MetadataRequest[12](topics=None, allow_auto_topic_creation=False), MetadataResponse, 12
        )
    return "raw" in [t.name for t in resp.topics]


def test_api_versions_advertises_only_implemented_ranges(rbroker: BrokerProcess) -> None:
    with RawClient(rbroker.bootstrap) as c:
        resp = c.request(
            ApiVersionsRequest[3](client_software_name="t", client_software_version="1"),
            ApiVersionsResponse,
            3,
        )
    ranges = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert ranges[18] == (0, 4) and ranges[3] == (0, 12) and ranges[0] == (3, 10) and ranges[1] == (4, 16)
    assert ranges[2] == (1, 9) and ranges[19] == (0, 7) and ranges[32] == (0, 4) and ranges[22] == (0, 4)


def test_too_new_api_versions_gets_unsupported_version_with_v0_body(rbroker: BrokerProcess) -> None:
    with RawClient(rbroker.bootstrap) as c:
        # ApiVersions v9 does not exist: header v2 (flexible) would follow, we only send the header v1 part.
        c.send_raw(struct.pack(">hhih", 18, 9, 77, 1) + b"x" + b"\x00")
        frame = c.recv_frame()
    assert frame is not None
    corr, error = struct.unpack(">ih", frame[:6])
    assert (corr, error) == (77, 35)
    body = ApiVersionsResponse.decode(frame[4:], version=0)
    assert 18 in [k.api_key for k in body.api_keys]


@pytest.mark.parametrize(
    "payload",
    [
        struct.pack(">hhih", 999, 0, 1, -1),  # unknown API key
        struct.pack(">hhih", 3, 13, 1, -1) + b"\x00" * 8,  # Metadata v13: above the advertised range
        struct.pack(">hhih", 19, 5, 1, -1) + b"\x00\x05\xff",  # truncated CreateTopics body
        struct.pack(">hhi", 3, 1, 1) + b"\x00\x50abc",  # client id longer than the frame
    ],
    ids=["unknown-key", "version-out-of-range", "truncated-body", "bad-client-id"],
)
def test_bad_requests_close_only_that_connection(rbroker: BrokerProcess, payload: bytes) -> None:
    with RawClient(rbroker.bootstrap) as c:
        c.send_raw(payload)
        assert c.is_closed_by_peer()
    assert _still_serving(rbroker)


def test_oversize_and_negative_frames_close_the_connection(rbroker: BrokerProcess) -> None:
    with RawClient(rbroker.bootstrap) as c:
        c.sock.sendall(struct.pack(">i", MAX_REQUEST + 1))
        assert c.is_closed_by_peer()
    with RawClient(rbroker.bootstrap) as c:
        c.sock.sendall(struct.pack(">i", -5))
        assert c.is_closed_by_peer()
    assert _still_serving(rbroker)


def test_bad_crc_gets_corrupt_message_and_connection_stays_usable(rbroker: BrokerProcess) -> None:
    batch = bytearray(build_batch([b"hello"]))
    batch[-1] ^= 0x01
    with RawClient(rbroker.bootstrap) as c:
        assert _produce(c, bytes(batch))[0] == 2  # CORRUPT_MESSAGE
        assert _produce(c, build_batch([b"fine"]))[0] == 0
        assert _produce(c, b"\xff" * 30)[0] == 2  # shorter than a batch header


def test_idempotent_duplicates_and_gaps(rbroker: BrokerProcess) -> None:
    with RawClient(rbroker.bootstrap) as c:
        init = c.request(
            InitProducerIdRequest[4](
                transactional_id=None, transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1
            ),
            InitProducerIdResponse,
            4,
        )
        pid, epoch = init.producer_id, init.producer_epoch
        assert init.error_code == 0 and pid >= 0
        first = build_batch([b"a", b"b"], producer_id=pid, producer_epoch=epoch, base_sequence=0)
        second = build_batch([b"c"], producer_id=pid, producer_epoch=epoch, base_sequence=2)
        code, off1 = _produce(c, first, partition=1)
        assert code == 0
        assert _produce(c, second, partition=1)[0] == 0
        assert _produce(c, first, partition=1) == (0, off1)  # duplicate: answered with the original offset
        gap = build_batch([b"x"], producer_id=pid, producer_epoch=epoch, base_sequence=10)
        assert _produce(c, gap, partition=1)[0] == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
        stale = build_batch(
            [b"y"], producer_id=pid, producer_epoch=epoch - 1 if epoch else -2, base_sequence=3
        )
        if epoch:
            assert _produce(c, stale, partition=1)[0] == 47  # INVALID_PRODUCER_EPOCH
        bumped = c.request(
            InitProducerIdRequest[4](
                transactional_id=None, transaction_timeout_ms=60000, producer_id=pid, producer_epoch=epoch
            ),
            InitProducerIdResponse,
            4,
        )
        assert (bumped.producer_id, bumped.producer_epoch) == (pid, epoch + 1)


def test_acks_zero_sends_no_response(rbroker: BrokerProcess) -> None:
    with RawClient(rbroker.bootstrap) as c:
        c.correlation_id = 500
        req = _produce_req(build_batch([b"fire-and-forget"]), acks=0)
        req.with_header(correlation_id=501, client_id="raw")
        c.sock.sendall(bytes(req.encode(version=9, header=True, framed=True)))
        # The next response on this connection belongs to the next request, not to the acks=0 produce.
        resp = c.request(MetadataRequest[1](topics=None), MetadataResponse, 1)
    assert "raw" in [t.name for t in resp.topics]


def _valid_frames() -> list[bytes]:
    reqs = [
        (ApiVersionsRequest[3](client_software_name="f", client_software_version="1"), 3),
        (
            MetadataRequest[12](
                topics=[MetadataRequest.MetadataRequestTopic(name="raw")], allow_auto_topic_creation=True
            ),
            12,
        ),
        (_produce_req(build_batch([b"fuzz"] * 3, keys=[b"k"] * 3)), 9),
        (
            FetchRequest[12](
                max_wait_ms=0,
                min_bytes=0,
                max_bytes=1000,
                topics=[
                    FetchRequest.FetchTopic(
                        topic="raw",
                        partitions=[
                            FetchRequest.FetchTopic.FetchPartition(
                                partition=0, fetch_offset=0, partition_max_bytes=500
                            )
                        ],
                    )
                ],
            ),
            12,
        ),
        (
            CreateTopicsRequest[7](
                topics=[
                    CreateTopicsRequest.CreatableTopic(
                        name="fz", num_partitions=1, replication_factor=1, assignments=[], configs=[]
                    )
                ],
                timeout_ms=100,
                validate_only=True,
            ),
            7,
        ),
    ]
    frames = []
    for req, version in reqs:
        req.with_header(correlation_id=1, client_id="fuzz")
        frames.append(bytes(req.encode(version=version, header=True)))
    return frames


def test_fuzz_random_and_mutated_frames(rbroker: BrokerProcess) -> None:
    rng = random.Random(20261127)
    valid = _valid_frames()
    for _ in range(250):
        kind = rng.random()
        if kind < 0.2:
            payload = rng.randbytes(rng.randint(0, 64))
        else:
            payload = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 6)):
                op = rng.random()
                if op < 0.5 and payload:
                    payload[rng.randrange(len(payload))] = rng.randrange(256)
                elif op < 0.75 and payload:
                    payload = payload[: rng.randrange(len(payload))]
                else:
                    at = rng.randrange(len(payload) + 1)
                    payload[at:at] = rng.randbytes(rng.randint(1, 8))
            payload = bytes(payload)
        with RawClient(rbroker.bootstrap, timeout=5) as c:
            c.send_raw(payload)
            c.sock.settimeout(2)
            # Either a response frame or a closed connection; a timeout (a mutated Fetch long-polling or
            # acks=0) is fine too. Never a hang past the timeout.
            with contextlib.suppress(TimeoutError):
                c.recv_frame()
    assert _still_serving(rbroker)


def test_fetch_byte_limits_return_whole_batches(rbroker: BrokerProcess) -> None:
    from kafka.protocol.consumer import FetchResponse

    with RawClient(rbroker.bootstrap) as c:
        c.request(
            CreateTopicsRequest[5](
                topics=[
                    CreateTopicsRequest.CreatableTopic(
                        name="limits", num_partitions=2, replication_factor=1, assignments=[], configs=[]
                    )
                ],
                timeout_ms=5000,
                validate_only=False,
            ),
            CreateTopicsResponse,
            5,
        )
        sizes = []
        for p in (0, 1):
            for i in range(5):
                batch = build_batch([bytes([65 + i]) * 300])
                sizes.append(len(batch))
                req = _produce_req(batch, partition=p)
                req.topic_data[0].name = "limits"
                assert c.request(req, ProduceResponse, 9).responses[0].partition_responses[0].error_code == 0
        size = sizes[0]

        def fetch(max_bytes: int, part_max: int) -> list[int]:
            parts = [
                FetchRequest.FetchTopic.FetchPartition(
                    partition=p, fetch_offset=0, partition_max_bytes=part_max
                )
                for p in (0, 1)
            ]
            req = FetchRequest[12](
                max_wait_ms=0,
                min_bytes=0,
                max_bytes=max_bytes,
                topics=[FetchRequest.FetchTopic(topic="limits", partitions=parts)],
            )
            resp = c.request(req, FetchResponse, 12)
            return [len(bytes(p.records or b"")) for p in resp.responses[0].partitions]

        assert fetch(1 << 20, 1 << 20) == [5 * size, 5 * size]
        assert fetch(1 << 20, 2 * size + 10) == [2 * size, 2 * size]  # per-partition limit, whole batches
        assert fetch(3 * size + 10, 1 << 20) == [3 * size, 0]  # request limit reached in partition 0
        assert fetch(10, 10) == [size, 0]  # KIP-74: the first batch is returned even when too big


def test_create_topics_v7_returns_topic_id_and_configs(rbroker: BrokerProcess) -> None:
    topic = CreateTopicsRequest.CreatableTopic(
        name="withcfg",
        num_partitions=3,
        replication_factor=-1,
        assignments=[],
        configs=[CreateTopicsRequest.CreatableTopic.CreatableTopicConfig(name="retention.ms", value="1d")],
    )
    with RawClient(rbroker.bootstrap) as c:
        resp = c.request(
            CreateTopicsRequest[7](topics=[topic], timeout_ms=5000, validate_only=False),
            CreateTopicsResponse,
            7,
        )
    result = resp.topics[0]
    assert result.error_code == 0 and result.num_partitions == 3 and result.replication_factor == 1
    assert result.topic_id.int != 0
    configs = {c.name: c for c in result.configs}
    assert configs["retention.ms"].value == "86400000" and configs["retention.ms"].config_source == 1
    assert configs["segment.bytes"].config_source == 5  # DEFAULT_CONFIG
