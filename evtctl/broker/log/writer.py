"""A writer and a syncer thread per broker: appends and fsyncs never block the event loop.

The loop assigns offsets and enqueues the bytes. The writer thread writes jobs in FIFO order and reports
"written" to the loop (data visible to fetches, acks=1 answered); jobs that asked for durability go to the
syncer thread, which fsyncs every file written before them in one round for all waiting producers (group
commit) and reports "synced" (acks=all answered). A slow fsync therefore delays only the acks=all
answers, never the visibility of later writes. Closing a file is also a job, passed through both threads
in order, so a descriptor is never closed (and its number reused) while writes or syncs of it are queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class WriteJob:
    fd: int
    data: bytes | bytearray | None  # None: close ``fd`` (after everything queued before)
    sync: bool = False
    on_written: Callable[[], None] | None = None  # run on the loop after the write
    synced: asyncio.Future[None] | None = None  # resolved on the loop after fsync (sync jobs)
    written: asyncio.Future[None] | None = None  # resolved on the loop after the write
    error: list[BaseException] = field(default_factory=list)
    also_sync: tuple[int, ...] = ()  # files the syncer must fsync for this job (set by the writer thread)


_STOP = object()


class LogWriter:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queue: queue.SimpleQueue[WriteJob | object] = queue.SimpleQueue()
        self._sync_queue: queue.SimpleQueue[WriteJob | object] = queue.SimpleQueue()
        self._syncer = threading.Thread(target=self._run_syncer, name="evtctl-log-syncer", daemon=True)
        self._syncer.start()
        self._thread = threading.Thread(target=self._run, name="evtctl-log-writer", daemon=True)
        self._thread.start()

    def submit(self, job: WriteJob) -> None:
        self._queue.put(job)

    def write(
        self, fd: int, data: bytes | bytearray, *, sync: bool, on_written: Callable[[], None] | None
    ) -> WriteJob:
        job = WriteJob(fd, data, sync=sync, on_written=on_written)
        job.written = self.loop.create_future()
        if sync:
            job.synced = self.loop.create_future()
        self._queue.put(job)
        return job

    def close_fd(self, fd: int) -> None:
        self._queue.put(WriteJob(fd, None))

    async def barrier(self, *, sync: bool = False) -> None:
        """Wait until everything queued so far is written (and fsynced if ``sync``)."""
        job = WriteJob(-1, b"", sync=sync)
        job.written = self.loop.create_future()
        if sync:
            job.synced = self.loop.create_future()
        self._queue.put(job)
        await job.written
        if job.synced is not None:
            await job.synced

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    # ------------------------------------------------------------------ thread side

    def _run(self) -> None:
        """Writer thread: write jobs in order; hand sync requests and closes to the syncer thread, so a
        slow fsync never delays the visibility of later writes."""
        dirty: set[int] = set()
        while True:
            batch = _drain(self._queue)
            jobs: list[WriteJob] = []
            to_syncer: list[WriteJob] = []
            stop = False
            for item in batch:
                if item is _STOP:
                    stop = True
                    continue
                assert isinstance(item, WriteJob)
                if item.data is None:  # close: after the syncs queued before it (the fd stays valid)
                    item.also_sync = (item.fd,) if item.fd in dirty else ()
                    dirty.discard(item.fd)
                    to_syncer.append(item)
                    continue
                jobs.append(item)
                try:  # OSError is reported to the waiting producer; anything else is a bug, reported too
                    if item.fd >= 0 and item.data:
                        _write_all(item.fd, item.data)
                        dirty.add(item.fd)
                except Exception as err:  # the writer thread must survive to serve other partitions
                    wrapped = err if isinstance(err, OSError) else OSError(f"log write failed: {err!r}")
                    item.error.append(wrapped)
                if item.sync:
                    item.also_sync = tuple(dirty)
                    dirty.clear()
                    to_syncer.append(item)
            self._notify(jobs, written=True)
            for item in to_syncer:
                self._sync_queue.put(item)
            if stop:
                final = WriteJob(-1, b"", sync=True)
                final.also_sync = tuple(dirty)
                self._sync_queue.put(final)
                self._sync_queue.put(_STOP)
                self._syncer.join(timeout=30)
                return

    def _run_syncer(self) -> None:
        """Syncer thread: one fsync round for all queued sync requests (group commit), then closes."""
        while True:
            batch = _drain(self._sync_queue)
            syncs: list[WriteJob] = []
            fds: set[int] = set()
            stop = False
            for item in batch:
                if item is _STOP:
                    stop = True
                    continue
                assert isinstance(item, WriteJob)
                if item.data is None:
                    # Sync what is pending first: this fd may be among it.
                    self._sync_round(syncs, fds)
                    syncs, fds = [], set()
                    for fd in item.also_sync:
                        with contextlib.suppress(OSError):
                            os.fsync(fd)
                    with contextlib.suppress(OSError):
                        os.close(item.fd)
                    continue
                syncs.append(item)
                fds.update(item.also_sync)
            self._sync_round(syncs, fds)
            if stop:
                return

    def _sync_round(self, syncs: list[WriteJob], fds: set[int]) -> None:
        if not syncs:
            return
        error: OSError | None = None
        for fd in fds:
            try:
                os.fsync(fd)
            except OSError as err:
                error = err
        if error is not None:
            for j in syncs:
                j.error.append(error)
        self._notify(syncs, written=False)

    def _notify(self, jobs: list[WriteJob], *, written: bool) -> None:
        if not jobs:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self.loop.call_soon_threadsafe(_complete, jobs, written)


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _complete(jobs: list[WriteJob], written: bool) -> None:
    for job in jobs:
        if written:
            if job.on_written is not None and not job.error:
                job.on_written()
            fut = job.written
        else:
            fut = job.synced
        if fut is not None and not fut.done():
            if job.error:
                fut.set_exception(job.error[0])
            else:
                fut.set_result(None)


def _drain(jobs: queue.SimpleQueue[WriteJob | object]) -> list[WriteJob | object]:
    """Block for the next item, then take whatever else is queued (up to 4,096): one batch."""
    batch: list[WriteJob | object] = [jobs.get()]
    with contextlib.suppress(queue.Empty):
        while len(batch) < 4096:
            batch.append(jobs.get_nowait())
    return batch
