"""YAML loading that remembers where every value came from.

libyaml (PyYAML's C parser) composes the node graph; a small Python constructor turns it into
plain ``dict``/``list`` subclasses that carry 1-based ``(line, col)`` marks for every key and value.
The result works unchanged with ``jsonschema`` (it is a dict) and answers "where is
``spec.configs.retention.ms``?" without a second parse. Duplicate keys, unsupported tags, binary
input and over-large files are reported as located problems, never exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from evtctl.errors import Location
from evtctl.manifest.problems import Code, Problem

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Mark = tuple[int, int]  # 1-based (line, col)

DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024


class PosMap(dict[str, Any]):
    """A YAML mapping plus the marks of its keys and values."""

    __slots__ = ("key_marks", "mark", "origins", "value_marks")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}
        # Values merged in from another file (environment overlays): key -> that file.
        self.origins: dict[str, str] | None = None


class PosList(list[Any]):
    """A YAML sequence plus the marks of its items."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


@dataclass(frozen=True, slots=True)
class Document:
    file: str  # as displayed (relative to the workspace root when inside it)
    index: int  # 0-based position in a multi-document file
    data: Any  # PosMap for well-formed manifests
    mark: Mark


def locate(file: str, node: Any, path: Sequence[str | int]) -> Location:
    """The position of ``path`` inside ``node``: the deepest prefix of it that exists."""
    mark: Mark | None = getattr(node, "mark", None)
    current = node
    for step in path:
        if isinstance(current, PosMap) and isinstance(step, str) and step in current:
            mark = current.value_marks.get(step, mark)
            if current.origins and step in current.origins:
                file = current.origins[step]
            current = current[step]
        elif isinstance(current, PosList) and isinstance(step, int) and 0 <= step < len(current):
            mark = current.item_marks[step]
            current = current[step]
        else:
            break
    if mark is None:
        return Location(file)
    return Location(file, mark[0], mark[1])


def locate_key(file: str, node: Any, path: Sequence[str | int]) -> Location:
    """Like :func:`locate` but for the last step, the position of the *key* (for unknown fields)."""
    if not path:
        return locate(file, node, path)
    parent_loc = locate(file, node, path[:-1])
    parent = node
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return parent_loc
    last = path[-1]
    if isinstance(parent, PosMap) and isinstance(last, str) and last in parent.key_marks:
        line, col = parent.key_marks[last]
        origin = parent.origins.get(last) if parent.origins else None
        return Location(origin or parent_loc.file or file, line, col)
    return locate(file, node, path)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}|\$\$")


_STR = "tag:yaml.org,2002:str"
_DECIMAL = re.compile(r"-?[1-9][0-9]{0,17}\Z|0\Z")
_NULL = "tag:yaml.org,2002:null"
# Plain scalars starting with any other character are strings (YAML 1.1 implicit resolvers).
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


_RESOLVED: dict[str, Any] = {}  # plain scalar text -> its value (no variables in it)
_RESOLVED_MAX = 65536
_MISS = object()


def _resolve_plain(value: str) -> str:
    for tag, regexp in _IMPLICIT.get(value[:1] if value else "", ()):
        if regexp.match(value):
            return str(tag)
    return _STR


class _Builder:
    """Builds PosMap/PosList/scalars straight from libyaml's event stream.

    Working from events rather than composed nodes skips PyYAML's per-node Python resolver and
    Node objects, which is most of the cost of loading a large workspace.
    """

    def __init__(self, file: str, variables: dict[str, Any] | None, problems: list[Problem]) -> None:
        self.file = file
        self.variables = variables
        self.problems = problems
        self.constructor = SafeConstructor()
        self.anchors: dict[str, Any] = {}  # aliases share one value: no exponential expansion
        self.sizes: dict[int, int] = {}  # expanded size of anchored containers
        self.total = 0  # values in the current document, aliases counted expanded
        self.scalar: dict[str, Callable[[str, Mark], Any]] = {
            _STR: self.string,
            _NULL: lambda v, m: None,
            "tag:yaml.org,2002:bool": lambda v, m: v.lower() in ("yes", "true", "on", "y"),
            "tag:yaml.org,2002:int": self._int,
            "tag:yaml.org,2002:float": self._float,
            # Keep timestamps as the text written: manifests have no datetime fields.
            "tag:yaml.org,2002:timestamp": lambda v, m: v,
        }

    def _loc(self, mark: Mark) -> Location:
        return Location(self.file, mark[0], mark[1])

    def _int(self, value: str, mark: Mark) -> Any:
        return self.constructor.construct_yaml_int(ScalarNode("tag:yaml.org,2002:int", value))

    def _float(self, value: str, mark: Mark) -> Any:
        return self.constructor.construct_yaml_float(ScalarNode("tag:yaml.org,2002:float", value))

    def string(self, value: str, mark: Mark) -> Any:
        """A string scalar with ``${var}`` variables substituted (``$$`` is a literal ``$``)."""
        if self.variables is None or "$" not in value:
            return value
        whole = _VAR.fullmatch(value)
        if whole and whole.group(1) is not None:
            # "${partitions}" alone keeps the variable's own type (an int stays an int).
            return self._lookup(whole.group(1), mark, value)
        return _VAR.sub(
            lambda m: "$" if m.group(0) == "$$" else str(self._lookup(m.group(1), mark, "")), value
        )

    def _lookup(self, name: str, mark: Mark, fallback: str) -> Any:
        assert self.variables is not None
        if name in self.variables:
            return self.variables[name]
        import difflib

        close = difflib.get_close_matches(name, list(self.variables), n=1)
        hint = f"did you mean '${{{close[0]}}}'?" if close else None
        self.problems.append(
            Problem(
                f"undefined variable '${{{name}}}'",
                self._loc(mark),
                hint or "define it under `variables:` in evtctl.yaml or the environment ($$ is a literal $)",
                code=Code.VARIABLE,
            )
        )
        return fallback

    def plain(self, value: str, mark: Mark) -> Any:
        """The value of an untagged plain scalar (YAML 1.1 implicit typing, then variables)."""
        if "$" in value:
            tag = _resolve_plain(value)
            return self.string(value, mark) if tag == _STR else self.tagged(value, tag, mark)
        hit = _RESOLVED.get(value, _MISS)
        if hit is not _MISS:
            return hit
        if value[:1] not in _IMPLICIT:
            return value  # a plain string
        if _DECIMAL.match(value):
            resolved: Any = int(value)  # the common int spelling, without the YAML 1.1 constructor
        else:
            tag = _resolve_plain(value)
            if tag == _STR:
                resolved = value
            else:
                before = len(self.problems)
                resolved = self.tagged(value, tag, mark)
                if len(self.problems) != before:
                    return resolved  # never cache a value that came with a problem
        # Manifests repeat the same few values ("12", "true", "7d"...) thousands of times.
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        _RESOLVED[value] = resolved
        return resolved

    def tagged(self, value: str, tag: str, mark: Mark) -> Any:
        """The value of a scalar with a resolved or explicit tag."""
        shown = tag
        if tag.startswith("!!"):
            tag = "tag:yaml.org,2002:" + tag[2:]
        handler = self.scalar.get(tag)
        if handler is None:
            self.problems.append(
                Problem(
                    f"unsupported YAML tag {shown!r}",
                    self._loc(mark),
                    "manifests use plain YAML values: remove the tag",
                    code=Code.YAML,
                )
            )
            return value
        try:
            return handler(value, mark)
        except (ValueError, ConstructorError) as err:
            kind = tag.rsplit(":", 1)[-1]
            self.problems.append(Problem(f"invalid {kind}: {err}", self._loc(mark), code=Code.YAML))
            return value

    def scalar_value(self, event: ScalarEvent, mark: Mark) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return self.string(event.value, mark)  # quoted: always a string
            return self.plain(event.value, mark)
        return self.tagged(event.value, tag, mark)

    def _check_tag(self, event: Any, expected: str, mark: Mark) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag not in (expected, "!!" + expected.rsplit(":", 1)[-1]):
            self.problems.append(Problem(f"unsupported YAML tag {tag!r}", self._loc(mark), code=Code.YAML))

    def _duplicate(self, mapping: PosMap, name: str, kmark: Mark) -> None:
        first = mapping.key_marks[name]
        self.problems.append(
            Problem(
                f"duplicate key {name!r} (first defined at line {first[0]})",
                Location(self.file, kmark[0], kmark[1]),
                "YAML keeps only the last value silently; remove one of them",
                code=Code.DUPLICATE_KEY,
            )
        )

    def document(self, loader: Any) -> Any:
        """Build one document's value; the loader is positioned after DocumentStartEvent.

        This loop runs once per YAML event (600,000 for the benchmark workspace), so the state of
        the innermost container lives in locals rather than in a stack of frames.
        """
        stack: list[tuple[Any, ...]] = []  # saved state of the enclosing containers
        cur: Any = None  # innermost open container (None at the top level)
        is_map = False
        key: Any = None  # pending mapping key (None: the next scalar is a key)
        kmark: Mark = (0, 0)
        marks_k: dict[str, Mark] = {}
        marks_v: dict[str, Mark] = {}
        marks_i: list[Mark] = []
        result: Any = None
        open_ids: set[int] = set()  # containers not closed yet: aliases to them would recurse
        get_event = loader.get_event
        implicit_first = _IMPLICIT
        while True:
            event = get_event()
            etype = type(event)
            if etype is ScalarEvent:
                m = event.start_mark
                mark = (m.line + 1, m.column + 1)
                value = event.value
                if is_map and key is None:
                    if value == "<<" and event.tag is None and event.implicit[0]:
                        self.problems.append(
                            Problem(
                                "YAML merge keys ('<<') are not supported",
                                Location(self.file, mark[0], mark[1]),
                                "use environments and variables in evtctl.yaml to share values",
                                code=Code.YAML,
                            )
                        )
                        key = _SKIP
                    elif value in cur:
                        self._duplicate(cur, value, mark)
                        key = _SKIP
                    else:
                        key = value
                    kmark = mark
                    if event.anchor is not None:
                        self.anchors[event.anchor] = value
                    continue
                if not (
                    event.tag is None
                    and event.implicit[0]
                    and value[:1] not in implicit_first
                    and "$" not in value
                ):
                    value = self.scalar_value(event, mark)  # anything but a plain string
                if event.anchor is not None:
                    self.anchors[event.anchor] = value
            elif etype is MappingStartEvent or etype is SequenceStartEvent:
                m = event.start_mark
                mark = (m.line + 1, m.column + 1)
                if is_map and key is None:
                    self.problems.append(
                        Problem(
                            "mapping keys must be plain scalars",
                            Location(self.file, mark[0], mark[1]),
                            "write the key as a string",
                            code=Code.YAML,
                        )
                    )
                    key = _SKIP
                    kmark = mark
                container: Any
                if etype is MappingStartEvent:
                    self._check_tag(event, "tag:yaml.org,2002:map", mark)
                    container = PosMap(mark)
                else:
                    self._check_tag(event, "tag:yaml.org,2002:seq", mark)
                    container = PosList(mark)
                if event.anchor is not None:
                    self.anchors[event.anchor] = container
                if cur is not None:
                    if is_map:
                        if key is not _SKIP:
                            cur[key] = container
                            marks_k[key] = kmark
                            marks_v[key] = mark
                    else:
                        cur.append(container)
                        marks_i.append(mark)
                if len(stack) >= MAX_DEPTH:
                    raise _Limit(f"YAML nesting is deeper than {MAX_DEPTH} levels", mark)
                stack.append((cur, is_map, key, kmark, marks_k, marks_v, marks_i))
                open_ids.add(id(container))
                cur = container
                key = None
                if etype is MappingStartEvent:
                    is_map = True
                    marks_k = container.key_marks
                    marks_v = container.value_marks
                else:
                    is_map = False
                    marks_i = container.item_marks
                continue
            elif etype is MappingEndEvent or etype is SequenceEndEvent:
                closed = cur
                open_ids.discard(id(closed))
                cur, is_map, key, kmark, marks_k, marks_v, marks_i = stack.pop()
                if cur is None:
                    result = closed
                else:
                    key = None  # the closed container was this key's value
                continue
            elif etype is AliasEvent:
                m = event.start_mark
                mark = (m.line + 1, m.column + 1)
                if event.anchor not in self.anchors:  # pragma: no cover - libyaml rejects these first
                    self.problems.append(
                        Problem(f"unknown alias {event.anchor!r}", Location(self.file, mark[0], mark[1]))
                    )
                value = self.anchors.get(event.anchor)
                if id(value) in open_ids:
                    raise _Limit(f"alias *{event.anchor} refers to a node that contains it", mark)
                # Count what the alias stands for, so anchor "bombs" cannot expand unseen.
                self.total += self._expanded(value)
                if self.total > MAX_EXPANDED_NODES:
                    raise _Limit(f"aliases expand this document beyond {MAX_EXPANDED_NODES} values", mark)
                if is_map and key is None:
                    key = value if isinstance(value, str) else _SKIP
                    kmark = mark
                    continue
            elif etype is DocumentEndEvent:
                return result
            else:  # pragma: no cover - the parser emits nothing else inside a document
                continue
            # A scalar or alias value.
            if cur is None:
                result = value
            elif is_map:
                if key is not _SKIP:
                    cur[key] = value
                    marks_k[key] = kmark
                    marks_v[key] = mark
                key = None
            else:
                cur.append(value)
                marks_i.append(mark)

    def _expanded(self, value: Any) -> int:
        """How many values ``value`` stands for when its aliases are expanded (memoized)."""
        if not isinstance(value, dict | list):
            return 1
        known = self.sizes.get(id(value))
        if known is not None:
            return known
        self.sizes[id(value)] = 1  # a self-referencing alias counts once
        items = value.values() if isinstance(value, dict) else value
        total = 1
        for item in items:
            total += self._expanded(item)
            if total > MAX_EXPANDED_NODES:
                break
        self.sizes[id(value)] = total
        return total


_SKIP = object()  # a key whose value is dropped (duplicate, merge key, non-scalar key)
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 1_000_000


class _Limit(Exception):
    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    if b"\x00" in data:
        offset = data.index(b"\x00")
        line = data.count(b"\n", 0, offset) + 1
        col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        return None, Problem(
            "binary data (NUL byte) in a manifest file",
            Location(file, line, col),
            "manifests are UTF-8 YAML text; remove the file or move it out of the manifest paths",
            code=Code.FILE,
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        return None, Problem(
            f"file is not valid UTF-8 (byte 0x{data[err.start]:02x})",
            Location(file, line, col),
            "save the file as UTF-8 text",
            code=Code.FILE,
        )


def _yaml_error(err: yaml.YAMLError, file: str, text: str) -> Problem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None and isinstance(err, yaml.reader.ReaderError):
        pos = err.position
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return Problem(
            f"invalid YAML: {err.reason}",
            Location(file, line, col),
            "remove the control character",
            Code.YAML,
        )
    helptext = "fix the YAML syntax"
    if "\t" in message or "'\\t'" in message:
        helptext = "YAML does not allow tabs for indentation; indent with spaces"
    if mark is None:
        return Problem(message, Location(file), helptext, Code.YAML)
    return Problem(message, Location(file, mark.line + 1, mark.column + 1), helptext, Code.YAML)


def copy_node(value: Any) -> Any:
    if isinstance(value, PosMap):
        new = PosMap(value.mark)
        for key, item in value.items():
            new[key] = copy_node(item)
        new.key_marks = dict(value.key_marks)
        new.value_marks = dict(value.value_marks)
        new.origins = dict(value.origins) if value.origins else None
        return new
    if isinstance(value, PosList):
        seq = PosList(value.mark)
        seq.extend(copy_node(item) for item in value)
        seq.item_marks = list(value.item_marks)
        return seq
    return value


def merge(target: PosMap, overlay: PosMap, overlay_file: str) -> None:
    """Deep-merge ``overlay`` into ``target`` in place; merged values keep the overlay's positions."""
    for key, value in overlay.items():
        current = target.get(key)
        if isinstance(current, PosMap) and isinstance(value, PosMap):
            merge(current, value, overlay_file)
            continue
        target[key] = copy_node(value)  # overlays apply to many documents: never share nodes
        target.key_marks[key] = overlay.key_marks[key]
        target.value_marks[key] = overlay.value_marks[key]
        if target.origins is None:
            target.origins = {}
        target.origins[key] = overlay_file


def load_text(
    text: str, file: str, *, variables: dict[str, Any] | None = None, fast: bool = True
) -> tuple[list[Document], list[Problem]]:
    """Parse every document in ``text``; problems are returned, not raised.

    ``fast`` tries the block-YAML line scanner first (see :mod:`evtctl.manifest.blockyaml`);
    text outside its subset, and ``fast=False``, go through libyaml.
    """
    from evtctl.manifest.blockyaml import scan

    problems: list[Problem] = []
    builder = _Builder(file, variables, problems)
    if fast:
        scanned = scan(text, builder)
        if scanned is not None:
            return [Document(file, i, data, mark) for i, (data, mark) in enumerate(scanned)], problems
    documents: list[Document] = []
    loader = _Loader(text)
    try:
        index = 0
        while True:
            event = loader.get_event()
            if event is None or type(event) is StreamEndEvent:
                break
            if type(event) is not DocumentStartEvent:
                continue
            m = event.start_mark
            start = (m.line + 1, m.column + 1) if m is not None else (1, 1)
            data = builder.document(loader)
            if isinstance(data, PosMap | PosList):
                start = data.mark
            documents.append(Document(file, index, data, start))
            builder.anchors.clear()
            builder.sizes.clear()
            builder.total = 0
            index += 1
    except yaml.YAMLError as err:
        problems.append(_yaml_error(err, file, text))
    except _Limit as err:
        problems.append(
            Problem(err.message, Location(file, err.mark[0], err.mark[1]), "simplify the document", Code.YAML)
        )
    finally:
        loader.dispose()
    return documents, problems


def read_file(
    path: Path, display: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[bytes | None, Problem | None]:
    """The bytes of one manifest file, or the located problem that stops it being read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, Problem(
                f"file is too large ({size} bytes; the limit is {max_bytes})",
                Location(display, 1, 1),
                "split it into several files, or raise `limits.maxFileBytes` in evtctl.yaml",
                Code.FILE,
            )
        return path.read_bytes(), None
    except OSError as err:
        return None, Problem(f"cannot read file: {err.strerror or err}", Location(display), code=Code.FILE)


def load_bytes(
    data: bytes, display: str, *, variables: dict[str, Any] | None = None
) -> tuple[list[Document], list[Problem]]:
    """Decode and parse one file's bytes; encoding and syntax problems come back located."""
    text, problem = _decode(data, display)
    if problem is not None or text is None:
        return [], [problem] if problem else []
    return load_text(text, display, variables=variables)


def load_file(
    path: Path,
    display: str,
    *,
    variables: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> tuple[list[Document], list[Problem]]:
    """Read and parse one YAML file; size, encoding and syntax problems come back located."""
    data, problem = read_file(path, display, max_bytes)
    if data is None:
        return [], [problem] if problem else []
    return load_bytes(data, display, variables=variables)
