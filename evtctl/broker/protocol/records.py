"""Record batches (magic v2): header access, CRC32C validation, in-place patching, and full decoding.

The produce and fetch paths only touch the 61-byte batch header. Full record decoding (with
decompression) is used where Kafka itself needs it: keyless-record checks on compacted topics,
ListOffsets by timestamp, and the compaction cleaner.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from evtctl.broker.protocol.codec import DecodeError, read_varint, write_varint

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: the bytes before batchLength's coverage starts
_HDR = struct.Struct(">qiibIhiqqqhii")
# offsets of header fields
OFF_BASE_OFFSET = 0
OFF_LENGTH = 8
OFF_LEADER_EPOCH = 12
OFF_MAGIC = 16
OFF_CRC = 17
OFF_ATTRIBUTES = 21
OFF_LAST_OFFSET_DELTA = 23
OFF_BASE_TIMESTAMP = 27
OFF_MAX_TIMESTAMP = 35

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


class CorruptBatch(ValueError):
    def __init__(self, message: str, *, unsupported_format: bool = False) -> None:
        super().__init__(message)
        self.unsupported_format = unsupported_format


@dataclass(frozen=True, slots=True)
class BatchHeader:
    base_offset: int
    length: int  # batchLength: bytes after the length field
    leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    @property
    def size(self) -> int:
        return self.length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def last_sequence(self) -> int:
        if self.base_sequence < 0:
            return -1
        return (self.base_sequence + self.last_offset_delta) % (1 << 31)


def parse_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    if len(buf) - pos < HEADER_SIZE:
        raise CorruptBatch("record batch shorter than its header")
    return BatchHeader(*_HDR.unpack_from(buf, pos))


def iter_batches(buf: bytes | bytearray | memoryview) -> Iterator[tuple[int, BatchHeader]]:
    """(position, header) of each complete batch; stops at the first incomplete one."""
    pos = 0
    n = len(buf)
    while n - pos >= HEADER_SIZE:
        hdr = parse_header(buf, pos)
        if hdr.length < HEADER_SIZE - LOG_OVERHEAD or pos + hdr.size > n:
            return
        yield pos, hdr
        pos += hdr.size


def _crc32c(data: memoryview) -> int:
    # Imported on first use: the crc32c package pulls in importlib.metadata and argparse (~0.1 s of
    # start-up) and the first Metadata answer does not need it.
    global _crc32c_fn
    if _crc32c_fn is None:
        from crc32c import crc32c

        _crc32c_fn = crc32c
    return _crc32c_fn(data)


_crc32c_fn: Callable[[memoryview], int] | None = None


def check_crc(buf: bytes | bytearray | memoryview, pos: int, hdr: BatchHeader) -> bool:
    end = pos + hdr.size
    return _crc32c(memoryview(buf)[pos + OFF_ATTRIBUTES : end]) == hdr.crc


def validate_produce_records(data: bytes | bytearray | memoryview) -> list[tuple[int, BatchHeader]]:
    """Every batch in a Produce request's records: complete, magic 2, CRC32C correct."""
    out: list[tuple[int, BatchHeader]] = []
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < HEADER_SIZE:
            if n - pos >= 17 and data[pos + OFF_MAGIC] in (0, 1):
                raise CorruptBatch("message format v0/v1 is not supported", unsupported_format=True)
            raise CorruptBatch("truncated record batch")
        hdr = parse_header(data, pos)
        if hdr.magic != 2:
            raise CorruptBatch(f"record batch magic {hdr.magic} is not supported", unsupported_format=True)
        if hdr.length < HEADER_SIZE - LOG_OVERHEAD or pos + hdr.size > n:
            raise CorruptBatch("record batch length does not match the data")
        if not check_crc(data, pos, hdr):
            raise CorruptBatch("record batch CRC32C mismatch")
        if hdr.record_count < 0 or hdr.last_offset_delta < 0:
            raise CorruptBatch("record batch has a negative record count")
        out.append((pos, hdr))
        pos += hdr.size
    return out


def set_crc(buf: bytearray, pos: int, size: int) -> None:
    struct.pack_into(
        ">I", buf, pos + OFF_CRC, _crc32c(memoryview(buf)[pos + OFF_ATTRIBUTES : pos + size])
    )


# ---------------------------------------------------------------------------------------- compression


def decompress(codec: int, data: bytes) -> bytes:
    import cramjam

    if codec == 0:
        return data
    if codec == 1:
        return bytes(cramjam.gzip.decompress(data))
    if codec == 2:
        if data[:8] == b"\x82SNAPPY\x00":  # xerial framing (Java clients)
            out = bytearray()
            pos = 16
            while pos + 4 <= len(data):
                n = int.from_bytes(data[pos : pos + 4], "big")
                out += bytes(cramjam.snappy.decompress_raw(data[pos + 4 : pos + 4 + n]))
                pos += 4 + n
            return bytes(out)
        return bytes(cramjam.snappy.decompress_raw(data))
    if codec == 3:
        return bytes(cramjam.lz4.decompress(data))
    if codec == 4:
        return bytes(cramjam.zstd.decompress(data))
    raise CorruptBatch(f"unknown compression codec {codec}")


def compress(codec: int, data: bytes) -> bytes:
    import cramjam

    if codec == 0:
        return data
    if codec == 1:
        return bytes(cramjam.gzip.compress(data))
    if codec == 2:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == 3:
        return bytes(cramjam.lz4.compress(data))
    if codec == 4:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(f"unknown compression codec {codec}")


# ---------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Record:
    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    attributes: int = 0


def _read_varbytes(buf: memoryview, pos: int) -> tuple[bytes | None, int]:
    n, pos = read_varint(buf, pos)
    if n < 0:
        return None, pos
    if pos + n > len(buf):
        raise DecodeError("truncated record field")
    return bytes(buf[pos : pos + n]), pos + n


def decode_records(batch: bytes | bytearray | memoryview) -> list[Record]:
    """All records of one complete batch (decompressing as needed)."""
    hdr = parse_header(batch)
    body = bytes(memoryview(batch)[HEADER_SIZE : hdr.size])
    try:
        raw = memoryview(decompress(hdr.compression, body))
    except CorruptBatch:
        raise
    except Exception as err:  # cramjam raises its own error types
        raise CorruptBatch(f"cannot decompress record batch: {err}") from None
    records: list[Record] = []
    pos = 0
    try:
        for _ in range(hdr.record_count):
            length, pos = read_varint(raw, pos)
            end = pos + length
            if length < 0 or end > len(raw):
                raise CorruptBatch("record length exceeds the batch")
            attrs = raw[pos]
            p = pos + 1
            ts_delta, p = read_varint(raw, p)
            off_delta, p = read_varint(raw, p)
            key, p = _read_varbytes(raw, p)
            value, p = _read_varbytes(raw, p)
            nh, p = read_varint(raw, p)
            headers = []
            for _ in range(max(nh, 0)):
                hk, p = _read_varbytes(raw, p)
                hv, p = _read_varbytes(raw, p)
                headers.append(((hk or b"").decode("utf-8", "replace"), hv))
            records.append(Record(off_delta, ts_delta, key, value, tuple(headers), attrs))
            pos = end
    except (DecodeError, IndexError) as err:
        raise CorruptBatch(f"malformed record: {err}") from None
    return records


def _write_varbytes(out: bytearray, data: bytes | None) -> None:
    if data is None:
        write_varint(out, -1)
    else:
        write_varint(out, len(data))
        out += data


def encode_batch(
    *,
    base_offset: int,
    records: list[Record],
    attributes: int,
    last_offset_delta: int,
    base_timestamp: int,
    max_timestamp: int,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    leader_epoch: int = 0,
) -> bytes:
    """A complete v2 batch with the given records (compressed with the codec in ``attributes``)."""
    raw = bytearray()
    for r in records:
        body = bytearray()
        body.append(r.attributes)
        write_varint(body, r.timestamp_delta)
        write_varint(body, r.offset_delta)
        _write_varbytes(body, r.key)
        _write_varbytes(body, r.value)
        write_varint(body, len(r.headers))
        for hk, hv in r.headers:
            _write_varbytes(body, hk.encode("utf-8"))
            _write_varbytes(body, hv)
        write_varint(raw, len(body))
        raw += body
    payload = compress(attributes & COMPRESSION_MASK, bytes(raw))
    out = bytearray(HEADER_SIZE)
    length = HEADER_SIZE - LOG_OVERHEAD + len(payload)
    _HDR.pack_into(
        out,
        0,
        base_offset,
        length,
        leader_epoch,
        2,
        0,
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(records),
    )
    out += payload
    set_crc(out, 0, len(out))
    return bytes(out)
