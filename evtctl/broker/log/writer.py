"""One writer thread per broker: appends and fsyncs never block the event loop.

On ext4 a ``write()`` waits while an ``fsync()`` of the same file runs, so writing on the event loop
while a flusher thread syncs serializes everything. Instead, the loop assigns offsets and enqueues the
bytes; this thread writes jobs in FIFO order, then (if any job asked for durability) fsyncs every file
written since the last sync — one fsync round for all waiting producers (group commit) — and reports
back to the loop: first "written" (data visible to fetches, acks=1 answered), then "synced" (acks=all).
Closing a file is also a job, so a descriptor is never closed (and its number reused) while writes to it
are still queued.
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


_STOP = object()


class LogWriter:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queue: queue.SimpleQueue[WriteJob | object] = queue.SimpleQueue()
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
        dirty: set[int] = set()
        while True:
            first = self._queue.get()
            batch: list[WriteJob | object] = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 4096:
                    batch.append(self._queue.get_nowait())
            jobs: list[WriteJob] = []
            stop = False
            for item in batch:
                if item is _STOP:
                    stop = True
                    continue
                assert isinstance(item, WriteJob)
                jobs.append(item)
                try:  # OSError is reported to the waiting producer; anything else is a bug, reported too
                    if item.data is None:
                        if item.fd in dirty:  # a closing file keeps its promise of durability
                            os.fsync(item.fd)
                            dirty.discard(item.fd)
                        os.close(item.fd)
                    elif item.fd >= 0 and item.data:
                        _write_all(item.fd, item.data)
                        dirty.add(item.fd)
                except Exception as err:  # the writer thread must survive to serve other partitions
                    wrapped = err if isinstance(err, OSError) else OSError(f"log write failed: {err!r}")
                    item.error.append(wrapped)
            self._notify(jobs, written=True)
            if any(j.sync for j in jobs):
                sync_error: OSError | None = None
                for fd in list(dirty):
                    try:
                        os.fsync(fd)
                    except OSError as err:
                        sync_error = err
                dirty.clear()
                if sync_error is not None:
                    for j in jobs:
                        if j.sync:
                            j.error.append(sync_error)
                self._notify([j for j in jobs if j.sync], written=False)
            if stop:
                for fd in dirty:
                    with contextlib.suppress(OSError):
                        os.fsync(fd)
                return

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
