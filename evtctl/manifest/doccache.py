"""A per-file cache of parsed and schema-checked manifests.

Parsing and schema-checking are most of a large workspace's load (1.3 s of the 2 s a 10,000-topic
workspace takes), while a change touches few files. So each file's outcome (its documents after the
schema check, its problems, the names of documents too broken to build) is kept in
``.evtctl/cache/manifests/``, one entry per file, keyed by a hash of:

* the file's bytes and displayed path;
* everything else the outcome depends on: the variables and environment overlays applied while
  loading, the file-size limit, the evtctl version and the source files of the loading code
  (so an edited checkout never reads entries an older loader wrote).

Anything else is a miss, and so is an entry that cannot be read or decoded; a failed write is
ignored. The cache can make a load faster but never change its result.

Entries are sealed with an HMAC whose key lives in the user's cache directory, outside the
workspace. A forged entry committed to a repository (``.evtctl/`` should not be, but a pull
request can add anything) fails the check and is read as a miss, so ``evtctl plan`` on a pull request
always sees the manifests as written.

Format: ``marshal`` of nested tuples, rebuilt into PosMap/PosList. Reading the entries of 10,000 topics
this way takes 0.4 s against 0.5 s for pickle and 1.3 s for parsing and checking again; marshal also
cannot run code, and the HMAC is checked before marshal sees a byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import marshal
import os
import pickle
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl import __version__
from evtctl.errors import Location
from evtctl.manifest.problems import Code, Problem
from evtctl.manifest.yamlpos import Mark, PosList, PosMap

FORMAT = 3
WRITE_IN_CHILD_MIN = 16  # entries; fewer are written faster than a child starts
SUFFIX = ".entry"
_MAC_SIZE = 32
_KEY_FILE = "cache-key"
_KEY_SIZE = 32
# The code whose behaviour an entry records: its source files are part of every key.
_CODE_DIRS = ("manifest", "workspace")


@dataclass(slots=True)
class FileOutcome:
    """What loading one manifest file produced."""

    problems: list[Problem] = field(default_factory=list)
    good: list[tuple[str, str, PosMap]] = field(default_factory=list)  # (kind, file, document)
    declared: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) of unusable documents


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evtctl"


def _secret() -> bytes | None:
    """This user's key for sealing cache entries, created on first use; None when there is no
    writable home (the cache is then off). The key file appears complete or not at all (written
    aside, then linked into place), so a concurrent first run never reads a partial key; a file
    of the wrong size is replaced."""
    path = user_cache_dir() / _KEY_FILE
    for _ in range(2):
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = b""
        except OSError:
            return None
        if len(key) == _KEY_SIZE:
            return key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{_KEY_FILE}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(_KEY_SIZE))
            try:
                if key:  # the wrong size: replace it
                    os.replace(tmp, path)
                else:
                    os.link(tmp, path)  # fails if another process linked its key first: read that
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        except OSError:
            return None
    return None


def _code_fingerprint() -> bytes:
    package = Path(__file__).resolve().parents[1]
    parts = [__version__, sys.version, str(FORMAT)]
    for sub in _CODE_DIRS:
        for source in sorted((package / sub).glob("*.py")):
            st = source.stat()
            parts.append(f"{source.name}:{st.st_mtime_ns}:{st.st_size}")
    return "\n".join(parts).encode()


class DocumentCache:
    """Entries of one workspace's manifest files (see the module docstring)."""

    def __init__(self, directory: Path, secret: bytes, salt: bytes) -> None:
        self.directory = directory
        self._secret = secret
        self._salt = salt
        self.hits = 0
        self.misses = 0
        self._pending: list[tuple[str, bytes, FileOutcome]] = []
        self._writer: Callable[[], Any] | None = None

    @classmethod
    def open(
        cls, directory: Path, *, variables: dict[str, Any], overlays: Any, max_bytes: int
    ) -> DocumentCache | None:
        """The cache in ``directory``, or None when it cannot be used (no user key, or inputs that
        cannot be fingerprinted); ``EVTCTL_NO_CACHE=1`` turns it off."""
        if os.environ.get("EVTCTL_NO_CACHE") == "1":
            return None
        secret = _secret()
        if secret is None:
            return None
        try:
            context = pickle.dumps((sorted(variables.items()), overlays, max_bytes), protocol=4)
        except Exception:  # a value pickle cannot fingerprint: no cache rather than a wrong key
            return None
        salt = hashlib.blake2b(_code_fingerprint() + b"\0" + context, digest_size=32).digest()
        return cls(directory, secret, salt)

    def _slot(self, file: str) -> Path:
        return self.directory / (hashlib.blake2b(file.encode(), digest_size=12).hexdigest() + SUFFIX)

    def key(self, file: str, data: bytes) -> bytes:
        digest = hashlib.blake2b(self._salt, digest_size=32)
        digest.update(file.encode() + b"\0")
        digest.update(data)
        return digest.digest()

    def get(self, file: str, key: bytes) -> FileOutcome | None:
        try:
            blob = self._slot(file).read_bytes()
        except OSError:
            self.misses += 1
            return None
        mac, body = blob[:_MAC_SIZE], blob[_MAC_SIZE:]
        expected = hmac.new(self._secret, body, hashlib.blake2b).digest()[:_MAC_SIZE]
        outcome = None
        if hmac.compare_digest(mac, expected):
            try:
                outcome = _decode(marshal.loads(body), key)
            except Exception:  # an entry of another format: a miss, rewritten below
                outcome = None
        if outcome is None:
            self.misses += 1
        else:
            self.hits += 1
        return outcome

    def put(self, file: str, key: bytes, outcome: FileOutcome) -> None:
        """Remember an entry to write; :meth:`write` writes them."""
        self._pending.append((file, key, outcome))

    def write(self) -> None:
        """Write the remembered entries: in a forked child when there are many (encoding a cold
        10,000-topic workspace takes 0.4 s, which then overlaps the build on the other core), else
        here. :meth:`finish` waits for the child."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if len(pending) >= WRITE_IN_CHILD_MIN:
            from evtctl import forking

            self._writer = forking.spawn(lambda: self._write_all(pending))
            if self._writer is not None:
                return
        self._write_all(pending)

    def finish(self) -> None:
        """Wait for the entries a child is writing (a failed child only leaves them unwritten)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            from evtctl import forking

            with contextlib.suppress(forking.ChildFailed):
                writer()

    def _write_all(self, pending: list[tuple[str, bytes, FileOutcome]]) -> int:
        for file, key, outcome in pending:
            self._write(file, key, outcome)
        return len(pending)

    def _write(self, file: str, key: bytes, outcome: FileOutcome) -> None:
        try:
            body = marshal.dumps(_encode(outcome, key))
        except ValueError:  # a value marshal cannot store (a YAML timestamp, say): not cached
            return
        mac = hmac.new(self._secret, body, hashlib.blake2b).digest()[:_MAC_SIZE]
        slot = self._slot(file)
        tmp = slot.with_name(f"{slot.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(mac + body)
            os.replace(tmp, slot)
        except OSError:  # a read-only checkout: loading works, just without the cache
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def prune(self, files: Iterable[str]) -> None:
        """Remove the entries of files no longer in the workspace."""
        keep = {self._slot(f).name for f in files}
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if entry.name.endswith(SUFFIX) and entry.name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# ---- encoding: nested tuples marshal can store ------------------------------------------------
# A node is (0, items, mark, marks, origins) for a PosMap, (1, values, mark, marks) for a PosList,
# or a scalar (str, int, float, bool, None); values hold nodes. ``marks`` packs the key
# and value marks (line, col, line, col per key; line, col per item) into one array of ints: half
# a million (line, col) tuples were most of an entry's read time, and most are never asked for.


def _packed(marks: Iterable[Mark]) -> bytes:
    return array("I", [n for mark in marks for n in mark]).tobytes()


def _node(value: Any) -> Any:
    if isinstance(value, PosMap):
        km, vm = value.key_marks, value.value_marks
        return (
            0,
            {k: _node(v) for k, v in value.items()},
            value.mark,
            _packed(m for k in value for m in (km[k], vm[k])),
            value.origins,
        )
    if isinstance(value, PosList):
        return (1, tuple([_node(v) for v in value]), value.mark, _packed(value.item_marks))
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise ValueError(f"not cached: {type(value).__name__}")


# The slot descriptors the subclasses' properties read and write through.
_KEY_MARKS: Any = PosMap.__dict__["key_marks"]
_VALUE_MARKS: Any = PosMap.__dict__["value_marks"]
_ITEM_MARKS: Any = PosList.__dict__["item_marks"]


class CachedMap(PosMap):
    """A PosMap read from the cache: its key marks and its value marks each stay packed until
    something asks for them (locating a value, the usual question, unpacks only the value marks)."""

    __slots__ = ("packed",)
    packed: tuple[tuple[str, ...], bytes]  # (keys, line, col of the key, line, col of the value)

    def _marks(self, slot: Any, offset: int) -> dict[str, Mark]:
        try:
            marks: dict[str, Mark] = slot.__get__(self, CachedMap)
        except AttributeError:  # first asked: unpack
            keys, packed = self.packed
            ints = array("I", packed)
            marks = dict(zip(keys, zip(ints[offset::4], ints[offset + 1 :: 4], strict=True), strict=True))
            slot.__set__(self, marks)
        return marks

    @property
    def key_marks(self) -> dict[str, Mark]:
        return self._marks(_KEY_MARKS, 0)

    @key_marks.setter
    def key_marks(self, marks: dict[str, Mark]) -> None:
        _KEY_MARKS.__set__(self, marks)

    @property
    def value_marks(self) -> dict[str, Mark]:
        return self._marks(_VALUE_MARKS, 2)

    @value_marks.setter
    def value_marks(self, marks: dict[str, Mark]) -> None:
        _VALUE_MARKS.__set__(self, marks)


class CachedList(PosList):
    """A PosList read from the cache: its item marks stay packed until asked for."""

    __slots__ = ("packed",)
    packed: bytes

    @property
    def item_marks(self) -> list[Mark]:
        try:
            marks: list[Mark] = _ITEM_MARKS.__get__(self, CachedList)
        except AttributeError:
            ints = array("I", self.packed)
            marks = list(zip(ints[::2], ints[1::2], strict=True))
            _ITEM_MARKS.__set__(self, marks)
        return marks

    @item_marks.setter
    def item_marks(self, marks: list[Mark]) -> None:
        _ITEM_MARKS.__set__(self, marks)


_new_map = CachedMap.__new__
_new_list = CachedList.__new__


def _build(node: tuple[Any, ...]) -> Any:
    if node[0] == 0:
        built = _new_map(CachedMap)
        items = node[1]
        built.update(items)  # scalars as they are; nested nodes replaced below
        for k, v in items.items():
            if type(v) is tuple:
                built[k] = _build(v)
        built.mark = node[2]
        built.packed = (tuple(items), node[3])
        built.origins = node[4]
        return built
    seq = _new_list(CachedList)
    seq.extend([_build(v) if type(v) is tuple else v for v in node[1]])
    seq.mark = node[2]
    seq.packed = node[3]
    return seq


def _problem(p: Problem) -> tuple[Any, ...]:
    loc = p.location
    return (p.message, loc.file, loc.line, loc.col, loc.context, p.help, p.code.value)


def _encode(outcome: FileOutcome, key: bytes) -> tuple[Any, ...]:
    return (
        FORMAT,
        key,
        [_problem(p) for p in outcome.problems],
        [(kind, file, _node(doc)) for kind, file, doc in outcome.good],
        outcome.declared,
    )


def _decode(payload: Any, key: bytes) -> FileOutcome | None:
    fmt, stored_key, problems, good, declared = payload
    if fmt != FORMAT or stored_key != key:
        return None
    return FileOutcome(
        [Problem(m, Location(f, line, col, ctx), h, Code(c)) for m, f, line, col, ctx, h, c in problems],
        [(kind, file, _build(node)) for kind, file, node in good],
        [(kind, name) for kind, name in declared],
    )
