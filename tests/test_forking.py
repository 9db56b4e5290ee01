"""evtctl.forking: work runs in a child and comes back; failures and hangs fall back, never hang.

Each scenario runs in a fresh interpreter: this test process may have threads left by other tests,
and then forking is (rightly) skipped.
"""

from __future__ import annotations

import ast
import os

import pytest

from evtctl import forking
from tests.support.cli import fresh_python

_SCRIPT = """
import os, pickle, time
from evtctl import forking

parent = os.getpid()
out = {"can_fork": forking.can_fork()}
out["marshal"] = forking.spawn(lambda: (os.getpid(), {"a": [1, 2.5, None, True]}))()
class Point:
    def __init__(self, x): self.x = x
got = forking.spawn(lambda: Point(3), dumps=pickle.dumps, loads=pickle.loads)()
out["pickle"] = (type(got).__name__, got.x)
def boom():
    raise RuntimeError("child only")
try:
    forking.spawn(boom)()
    out["raised"] = None
except forking.ChildFailed as err:
    out["raised"] = "ChildFailed"
start = time.monotonic()
try:
    forking.spawn(lambda: time.sleep(60), timeout=0.5)()
    out["timeout"] = None
except forking.ChildFailed:
    out["timeout"] = round(time.monotonic() - start, 1)
def only_here():
    if os.getpid() != parent:
        raise RuntimeError("the child fails")
    return "here"
out["fallback"] = forking.start(only_here)()
out["parent"] = parent
out["nice"] = (os.nice(0), forking.spawn(lambda: os.nice(0), nice=5)(), os.nice(0))
print(repr(out))
"""


def test_spawn_in_a_fresh_process() -> None:
    out = ast.literal_eval(fresh_python(_SCRIPT, timeout=60))
    assert out["can_fork"], "a fresh evtctl process on this machine must be able to fork"
    child, payload = out["marshal"]
    assert child != out["parent"] and payload == {"a": [1, 2.5, None, True]}
    assert out["pickle"] == ("Point", 3)
    assert out["raised"] == "ChildFailed"
    assert out["timeout"] is not None and out["timeout"] < 10  # killed, not waited for 60 s
    assert out["fallback"] == "here"
    before, child, after = out["nice"]
    assert child == min(before + 5, 19) and after == before  # only the child was lowered


def test_no_fork_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVTCTL_NO_FORK", "1")
    assert forking.spawn(os.getpid) is None
    assert forking.start(os.getpid)() == os.getpid()
