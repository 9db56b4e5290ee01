"""Ending a CLI run without freeing its heap.

A 10,000-topic workspace is millions of small objects, and freeing them one reference count at a time
takes 0.1-0.2 s after a command's output is already complete. Code that builds such a model hands it
to :func:`keep`; when the CLI entry point has armed this module (:func:`arm`), the model then lives
until the process ends, and :func:`end` ends the process with ``os._exit`` once output is flushed,
as mypy does, instead of tearing the heap down. Unarmed (evtctl used as a library, the test suite),
:func:`keep` holds nothing, so a long-lived process never accumulates models.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import NoReturn

_armed = False
_kept: list[object] = []


def arm() -> None:
    global _armed
    _armed = True


def keep(*objects: object) -> None:
    """Keep ``objects`` alive until the process ends (only in an armed CLI run)."""
    if _armed:
        _kept.extend(objects)


def end(code: str | int | None) -> NoReturn:
    """Exit with ``code`` (as ``sys.exit`` takes it): without freeing the heap when something was
    kept and no other non-daemon thread still runs, else normally."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if not _kept or others:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()  # what atexit would have done: flush log handlers
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (evtctl plan | head): nothing more to say
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
