"""evtctl.lifetime: a CLI run that kept its model ends without freeing the heap, with its output and
exit status intact; a library user (unarmed) keeps nothing."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from evtctl import lifetime

_PRELUDE = """
import atexit, sys, threading
from evtctl import lifetime
atexit.register(lambda: print("atexit ran", file=sys.stderr))
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE + body], capture_output=True, text=True, timeout=60, check=False
    )


class _Model:
    pass


def test_unarmed_keep_holds_nothing() -> None:
    model = _Model()
    ref = weakref.ref(model)
    lifetime.keep(model)
    del model
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    ("code", "status", "stderr"), [(None, 0, ""), (3, 3, ""), ("bad input", 1, "bad input")]
)
def test_a_kept_run_exits_at_once_with_its_output_and_status(code: object, status: int, stderr: str) -> None:
    r = _run(f"lifetime.arm(); lifetime.keep([object()]); print('out', end=''); lifetime.end({code!r})")
    assert (r.stdout, r.returncode) == ("out", status)
    assert r.stderr.strip() == stderr  # atexit never ran: the heap was not torn down


def test_without_anything_kept_or_with_a_thread_running_it_exits_normally() -> None:
    r = _run("lifetime.arm(); print('out', end=''); lifetime.end(4)")
    assert (r.stdout, r.returncode, r.stderr.strip()) == ("out", 4, "atexit ran")
    r = _run(
        "lifetime.arm(); lifetime.keep(1)\n"
        "ev = threading.Event(); t = threading.Thread(target=ev.wait); t.start()\n"
        "threading.Timer(0.2, ev.set).start(); lifetime.end(5)"
    )
    assert (r.returncode, r.stderr.strip()) == (5, "atexit ran")


def test_the_cli_runs_without_the_cyclic_gc_and_the_broker_with_it(tmp_path: Path) -> None:
    """Short CLI runs skip the cyclic GC; a broker started from the CLI turns it back on."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    script = f"""
import gc
import evtctl.cli.main
print(gc.isenabled())
from pathlib import Path
from evtctl.broker.launch import build_config, run
cfg = build_config(data_dir=Path({str(blocker)!r}), listen="127.0.0.1:0", registry_listen="127.0.0.1:0")
try:
    run(cfg)  # fails at start-up (the data directory is a file), after turning the GC on
except Exception as err:
    print(type(err).__name__)
print(gc.isenabled())
"""
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.stdout.split() == ["False", "UsageError", "True"], r.stderr
