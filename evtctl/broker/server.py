"""The broker: asyncio listener, frame codec, request dispatch, topic/partition state, group commit.

Requests on one connection are handled concurrently but answered in order (Kafka clients pipeline
Produce requests; acks=all waits on the shared fsync). Each handler's synchronous part runs in request
order, so appends from one connection keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import shutil
import ssl
import struct
import sys
from collections.abc import Iterable, Mapping
from typing import Any, cast

from evtctl.broker.config import BrokerConfig, ListenerConfig
from evtctl.broker.context import AllowAll, Authorizer, ConnectionState, RequestContext
from evtctl.broker.handlers import HandlerRegistry, default_registry
from evtctl.broker.log.partition import PartitionLog, now_ms
from evtctl.broker.log.writer import LogWriter
from evtctl.broker.protocol.codec import (
    Chunk,
    ChunkedBuffer,
    DecodeError,
    Message,
    codec,
    is_flexible,
    skip_tagged_fields,
)
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.broker.state import MetadataStore, TopicMeta, effective_configs

log = logging.getLogger("evtctl.broker")

CLEAN_SHUTDOWN = ".clean-shutdown"
API_VERSIONS_KEY = 18
MAX_IN_FLIGHT = 64
_REQ_HDR = struct.Struct(">hhi")
# ConnectionState.extra key: set by the security plug-in after SaslHandshake v0 to an async callable that
# answers a bare SASL token (no request header, KIP-43) with a frame, or None to close the connection.
RAW_SASL_KEY = "raw_sasl"


class BrokerError(Exception):
    """A start-up problem (port in use, data dir locked) reported without a traceback."""


class Broker:
    def __init__(self, cfg: BrokerConfig, registry: HandlerRegistry | None = None) -> None:
        self.cfg = cfg
        self.registry = registry or default_registry()
        self.authorizer: Authorizer = AllowAll()
        self.data_dir = cfg.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = MetadataStore(self.data_dir)
        self.logs: dict[tuple[str, int], PartitionLog] = {}
        self.servers: list[asyncio.base_events.Server] = []
        self.port = cfg.port
        self.recovered_bytes = 0  # torn-tail bytes truncated at start-up
        self.plugins: dict[str, Any] = {}  # other areas hang their state here (groups, txn, quotas)
        self._lock_fd: int | None = None
        self.writer: LogWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def node_id(self) -> int:
        return self.store.node_id

    @property
    def cluster_id(self) -> str:
        return self.store.cluster_id

    # ------------------------------------------------------------------ lifecycle

    def _lock(self) -> None:
        fd = os.open(self.data_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise BrokerError(f"data directory {self.data_dir} is in use by another broker") from None
        self._lock_fd = fd

    def open_logs(self) -> None:
        marker = self.data_dir / CLEAN_SHUTDOWN
        clean = marker.exists()
        marker.unlink(missing_ok=True)
        for meta in self.store.topics.values():
            for p in range(meta.partitions):
                self.recovered_bytes += self._open_log(meta, p, clean=clean)
        # Leftovers of deleted topics (deletion is rename-then-remove).
        logs_dir = self.data_dir / "logs"
        if logs_dir.exists():
            for d in logs_dir.iterdir():
                if d.name.endswith(".deleted"):
                    shutil.rmtree(d, ignore_errors=True)

    def _open_log(self, meta: TopicMeta, partition: int, *, clean: bool, fresh: bool = False) -> int:
        directory = self.data_dir / "logs" / f"{meta.name}-{partition}"
        if fresh and directory.exists():
            # Left over from a deletion interrupted by a crash: never let a new topic inherit old data.
            shutil.rmtree(directory, ignore_errors=True)
        plog = PartitionLog(directory, meta.name, partition, self.topic_configs(meta), self.writer)
        truncated = plog.open(clean=clean)
        self.logs[(meta.name, partition)] = plog
        return truncated

    async def start(self) -> None:
        self._lock()
        self.writer = LogWriter(asyncio.get_running_loop())
        self.open_logs()
        self.registry.run_start_hooks(self)  # plug-ins (groups, security) attach to the opened broker
        listeners = [ListenerConfig("PLAINTEXT", self.cfg.host, self.cfg.port), *self.cfg.extra_listeners]
        for i, lst in enumerate(listeners):
            try:
                server = await asyncio.start_server(
                    functools.partial(self._on_connect, listener=lst),
                    lst.host,
                    lst.port,
                    ssl=cast("ssl.SSLContext | None", lst.ssl_context),
                    reuse_address=True,
                    limit=1 << 16,
                )
            except OSError as err:
                raise BrokerError(f"cannot listen on {lst.host}:{lst.port}: {err.strerror}") from None
            bound = server.sockets[0].getsockname()[1]
            lst.port = bound
            if i == 0:
                self.port = bound
                self.cfg.port = bound
            self.servers.append(server)
        self._tasks.append(asyncio.create_task(self._housekeeping()))

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for server in self.servers:
            server.close()
        for conn in list(self._connections):
            conn.cancel()
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *self._connections]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        if self.writer is not None:
            await self.writer.barrier(sync=True)
        for plog in self.logs.values():
            plog.close()
        if self.writer is not None:
            self.writer.stop()
        (self.data_dir / CLEAN_SHUTDOWN).write_text("clean\n")
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------ topics

    def topic_configs(self, meta: TopicMeta) -> dict[str, str]:
        return effective_configs(meta.configs, self.cfg.broker_overrides)

    def create_topic(self, name: str, partitions: int, configs: Mapping[str, str]) -> TopicMeta:
        meta = self.store.add_topic(name, partitions, configs)
        for p in range(partitions):
            self._open_log(meta, p, clean=True, fresh=True)
        return meta

    def delete_topic(self, name: str) -> None:
        meta = self.store.remove_topic(name)
        for p in range(meta.partitions):
            plog = self.logs.pop((name, p), None)
            if plog is not None:
                target = plog.directory.with_name(f"{plog.directory.name}.{meta.topic_id.hex}.deleted")
                with contextlib.suppress(OSError):
                    plog.directory.rename(target)
                    plog.directory = target
                plog.delete()

    def add_partitions(self, name: str, total: int) -> None:
        meta = self.store.topics[name]
        old = meta.partitions
        meta.partitions = total
        self.store.update_topic(meta)
        for p in range(old, total):
            self._open_log(meta, p, clean=True, fresh=True)

    def set_topic_configs(self, name: str, explicit: Mapping[str, str]) -> None:
        meta = self.store.topics[name]
        meta.configs = dict(explicit)
        self.store.update_topic(meta)
        effective = self.topic_configs(meta)
        for p in range(meta.partitions):
            self.logs[(name, p)].configs = effective

    def partition_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self.logs.get((topic, partition))

    def maybe_auto_create(self, name: str) -> TopicMeta | None:
        """Create ``name`` with broker defaults if auto-creation is on and the name is valid."""
        from evtctl.broker.handlers.topics import validate_topic_name

        if not self.cfg.auto_create_topics or validate_topic_name(name) is not None:
            return None
        return self.create_topic(name, self.cfg.num_partitions, {})

    # ------------------------------------------------------------------ durability

    async def wait_durable(self, logs: Iterable[PartitionLog] = ()) -> None:
        """Return once everything appended so far (to any log) is written and fsynced; concurrent
        callers share fsync rounds in the writer thread (group commit)."""
        if self.writer is not None:
            await self.writer.barrier(sync=True)

    # ------------------------------------------------------------------ housekeeping

    async def _housekeeping(self) -> None:
        interval = max(self.cfg.retention_check_interval_ms, 10) / 1000
        cleaner_every = max(self.cfg.cleaner_backoff_ms, 10) / 1000
        last_clean = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(interval, cleaner_every))
            now = now_ms()
            for plog in list(self.logs.values()):
                try:
                    plog.enforce_retention(now)
                except OSError as err:  # keep serving; report
                    log.warning("retention on %s-%d failed: %s", plog.topic, plog.partition, err)
            if loop.time() - last_clean >= cleaner_every:
                last_clean = loop.time()
                await self.run_cleaner()

    async def run_cleaner(self) -> int:
        """Compact every eligible partition; returns the number of records removed."""
        from evtctl.broker.log import cleaner

        removed = 0
        for plog in list(self.logs.values()):
            if "compact" not in plog.configs.get("cleanup.policy", "") or plog.deleted:
                continue
            now = now_ms()
            segments = cleaner.needs_cleaning(plog, now)
            if not segments:
                continue
            try:
                plan = await asyncio.to_thread(cleaner.prepare, plog, segments, now)
                removed += cleaner.apply(plog, plan)
            except Exception as err:  # a cleaner failure must not stop the broker
                log.warning("compaction of %s-%d failed: %s", plog.topic, plog.partition, err)
        return removed

    # ------------------------------------------------------------------ connections

    def _on_connect(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: ListenerConfig
    ) -> None:
        if self._closing:
            writer.close()
            return
        task = asyncio.create_task(self._serve(reader, writer, listener))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: ListenerConfig
    ) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        conn = ConnectionState((str(peer[0]), int(peer[1])), listener=listener.name)
        # TLS listeners: the security plug-in maps a verified client certificate to a principal.
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            conn.extra["ssl_object"] = ssl_object
        hook = self.plugins.get("on_connection")
        if callable(hook):
            hook(conn, listener)
        queue: asyncio.Queue[asyncio.Task[list[Chunk] | None] | None] = asyncio.Queue(MAX_IN_FLIGHT)
        writer_task = asyncio.create_task(self._write_responses(writer, queue))
        max_size = self.cfg.socket_request_max_bytes
        try:
            while not writer_task.done():
                head = await reader.readexactly(4)
                size = int.from_bytes(head, "big", signed=True)
                raw_sasl = conn.extra.get(RAW_SASL_KEY)
                if size < (0 if raw_sasl else _REQ_HDR.size) or size > max_size:
                    log.info(
                        "closing %s: request size %d outside [8, %d]", conn.client_address, size, max_size
                    )
                    break
                body = await reader.readexactly(size)
                try:
                    task = asyncio.create_task(raw_sasl(body)) if raw_sasl else self._dispatch(conn, body)
                except Exception:  # a bug in a codec or hook: drop this client, keep the broker
                    log.exception("failed to dispatch a request from %s", conn.client_address)
                    task = None
                if task is None:
                    break
                await queue.put(task)
                if not conn.authenticated:
                    # Before authentication one request at a time (as Kafka): a SaslHandshake v0 switches
                    # the framing of the next frame, and a failed bare SASL token ends the connection.
                    await asyncio.wait([task])
                    if raw_sasl and (task.exception() is not None or task.result() is None):
                        break
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
            try:
                await asyncio.wait_for(writer_task, 5.0)
            except (TimeoutError, asyncio.CancelledError, Exception):
                writer_task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _write_responses(
        self, writer: asyncio.StreamWriter, queue: asyncio.Queue[asyncio.Task[list[Chunk] | None] | None]
    ) -> None:
        while True:
            task = await queue.get()
            if task is None:
                return
            try:
                frame = await task
            except Exception:
                log.exception("request handler failed; closing the connection")
                return
            if frame is None:
                continue
            for chunk in frame:
                writer.write(chunk)
            if writer.transport.get_write_buffer_size() > 1 << 20 or queue.empty():
                await writer.drain()

    def _dispatch(self, conn: ConnectionState, body: bytes) -> asyncio.Task[list[Chunk] | None] | None:
        """Parse the request header and start the handler; None closes the connection."""
        api_key, version, correlation_id = _REQ_HDR.unpack_from(body, 0)
        view = memoryview(body)
        try:
            client_id, pos = _read_client_id(view, 8)
        except DecodeError:
            return None
        handler = self.registry.get(api_key)
        if handler is None:
            log.info("closing %s: unknown API key %d", conn.client_address, api_key)
            return None
        if not conn.authenticated and api_key not in conn.pre_auth_api_keys:
            log.info("closing %s: API key %d before authentication", conn.client_address, api_key)
            return None
        if not handler.min_version <= version <= handler.max_version:
            if api_key == API_VERSIONS_KEY:
                return asyncio.create_task(self._unsupported_api_versions(correlation_id))
            log.info("closing %s: %s v%d not supported", conn.client_address, handler.name, version)
            return None
        req_name = f"{handler.name}Request"
        try:
            if is_flexible(req_name, version):
                pos = skip_tagged_fields(view, pos)
            request = codec(req_name, version).decode(view, pos)
        except DecodeError as err:
            log.info("closing %s: malformed %s v%d: %s", conn.client_address, handler.name, version, err)
            return None
        ctx = RequestContext(self, conn, api_key, version, correlation_id, client_id)
        return asyncio.create_task(self._run(handler.handle, handler.name, ctx, request))

    async def _run(self, handle: Any, name: str, ctx: RequestContext, request: Message) -> list[Chunk] | None:
        response = await handle(ctx, request)
        if response is None:
            return None
        return encode_response(name, ctx.api_version, ctx.correlation_id, response)

    async def _unsupported_api_versions(self, correlation_id: int) -> list[Chunk]:
        from evtctl.broker.handlers.api_versions import api_keys

        body = {"error_code": ErrorCode.UNSUPPORTED_VERSION, "api_keys": api_keys(self.registry)}
        return encode_response("ApiVersions", 0, correlation_id, body)


def encode_response(name: str, version: int, correlation_id: int, body: Message) -> list[Chunk]:
    """The response frame as chunks (large record sets are referenced, not copied)."""
    resp_name = f"{name}Response"
    out = ChunkedBuffer()
    out += b"\x00\x00\x00\x00"  # size, patched below
    out += struct.pack(">i", correlation_id)
    # ApiVersions responses always use header v0 so that clients can parse them before negotiating.
    if name != "ApiVersions" and is_flexible(resp_name, version):
        out.append(0)  # empty tagged fields in response header v1
    codec(resp_name, version).encode(body, out)
    chunks = out.finish()
    head = bytearray(chunks[0])
    struct.pack_into(">i", head, 0, sum(len(c) for c in chunks) - 4)
    chunks[0] = head
    return chunks


def _read_client_id(buf: memoryview, pos: int) -> tuple[str | None, int]:
    if pos + 2 > len(buf):
        raise DecodeError("truncated request header")
    n = struct.unpack_from(">h", buf, pos)[0]
    pos += 2
    if n < 0:
        return None, pos
    if pos + n > len(buf):
        raise DecodeError("truncated client id")
    return str(buf[pos : pos + n], "utf-8", "replace"), pos + n


def print_ready(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
