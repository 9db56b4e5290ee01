"""Run a piece of CPU-bound work on the second core, in a forked child.

Why a fork rather than threads or a process pool: the work is pure Python (the GIL rules out
threads), and its inputs are large in-memory models that a fork shares for free where a pool
would pickle them. Only the result travels back, in ``marshal`` form through a temporary file,
so it must be plain data (tuples, lists, dicts, str, int, float, bool, None, sets).

The child never touches the parent's state that matters: it leaves with ``os._exit`` (no
``atexit``, no buffered output flushed twice). Forking is skipped when it is unsafe or pointless
(not Linux, one core, other threads running, ``EVTCTL_NO_FORK`` set); then, and whenever the
child fails, the work simply runs in the calling process: the result is the same either way.
"""

from __future__ import annotations

import marshal
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any


def can_fork() -> bool:
    return (
        sys.platform == "linux"
        and (os.cpu_count() or 1) >= 2
        # A forked child could block forever on a lock another thread holds.
        and threading.active_count() == 1
        and not os.environ.get("EVTCTL_NO_FORK")
    )


def start(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``work`` in a child now; the returned function waits for and returns its result."""
    if not can_fork():
        return work
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by wait(), which outlives this call)
    try:
        pid = os.fork()
    except OSError:
        out.close()
        return work
    if pid == 0:  # the child
        status = 1
        try:
            out.write(marshal.dumps(work()))
            out.flush()
            status = 0
        finally:
            os._exit(status)

    def wait() -> Any:
        try:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = -1
            if status == 0:
                out.seek(0)
                try:
                    return marshal.loads(out.read())
                except (EOFError, ValueError, TypeError):
                    pass
        finally:
            out.close()
        return work()  # the child failed: do it here (an exception in `work` surfaces here)

    return wait
