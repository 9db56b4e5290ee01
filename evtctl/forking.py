"""Run a piece of work in a forked child, on the machine's other core, while this process goes on.

Why a fork rather than threads or a process pool: the work is Python (the GIL rules out threads
for CPU-bound parts) and starts from large in-memory state that a fork shares for free where a
pool would pickle it. Only the result travels back, serialized (``marshal`` by default, so plain
data: tuples, lists, dicts, str, int, float, bool, None, sets) into a temporary file, so the child
never blocks on a reader that is gone.

The child never touches the parent's state that matters: it leaves with ``os._exit`` (no
``atexit``, no buffered output flushed twice). Forking is skipped where it is unsafe or pointless
(not Linux, too few cores, other threads running, ``EVTCTL_NO_FORK`` set).

Users: `evtctl lint` (schema-file rules, evtctl.lint.engine) and `evtctl plan` (the live read while
the manifests load, evtctl.plan.early).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any


class ChildFailed(Exception):
    """The child raised, crashed, timed out or sent back something unreadable."""


def can_fork(min_cores: int = 2) -> bool:
    return (
        sys.platform == "linux"
        and (os.cpu_count() or 1) >= min_cores
        # A forked child could block forever on a lock another thread holds.
        and threading.active_count() == 1
        and not os.environ.get("EVTCTL_NO_FORK")
    )


def spawn(
    work: Callable[[], Any],
    *,
    timeout: float | None = None,
    dumps: Callable[[Any], bytes] = marshal.dumps,
    loads: Callable[[bytes], Any] = marshal.loads,
    min_cores: int = 2,
    nice: int = 0,
) -> Callable[[], Any] | None:
    """Start ``work`` in a child now and return a function that waits for its result, or None
    when forking is not possible here. The waiting function raises :class:`ChildFailed` when the
    child did not deliver (within ``timeout`` seconds, if given); the child is then killed.

    ``nice`` lowers the child's scheduling priority: for work that has time to spare, so that
    on a busy machine this process (the one that will wait) keeps its core."""
    if not can_fork(min_cores):
        return None
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by wait(), which outlives this call)
    try:
        pid = os.fork()
    except OSError:
        out.close()
        return None
    if pid == 0:  # the child
        status = 1
        try:
            if nice:
                with contextlib.suppress(OSError):
                    os.nice(nice)
            out.write(dumps(work()))
            out.flush()
            status = 0
        finally:
            os._exit(status)

    def wait() -> Any:
        try:
            status = _wait(pid, timeout)
            if status != 0:
                raise ChildFailed(f"child {pid} ended with status {status}")
            out.seek(0)
            try:
                return loads(out.read())
            except Exception as err:  # marshal/pickle raise many kinds on truncated data
                raise ChildFailed(f"unreadable result from child {pid}: {err}") from None
        finally:
            out.close()

    return wait


def start(work: Callable[[], Any]) -> Callable[[], Any]:
    """Like :func:`spawn`, but the returned function runs ``work`` in this process instead when
    there is no child or it failed: the result is the same either way (an exception in ``work``
    surfaces here)."""
    wait = spawn(work)
    if wait is None:
        return work

    def result() -> Any:
        try:
            return wait()
        except ChildFailed:
            return work()

    return result


def _wait(pid: int, timeout: float | None) -> int:
    """The child's wait status; kills it after ``timeout`` seconds (status -1)."""
    if timeout is not None:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                ready, _, _ = select.select([fd], [], [], timeout)
            finally:
                os.close(fd)
            if not ready:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                _reap(pid)
                return -1
    return _reap(pid)


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return -1
