"""A line scanner for the block-style YAML subset manifests are written in.

Why not just libyaml: on a 10,000-topic workspace PyYAML's C parser spends ~1.1 s only creating
its Python event objects, and turning the events into positioned values costs as much again. Most
manifests use a small, regular part of YAML: block mappings and sequences, plain and simply quoted
scalars, one-line flow collections of plain scalars, literal and folded block scalars, comments.
This scanner reads that subset line by line in ~a fifth of the time and produces exactly what
:mod:`evtctl.manifest.yamlpos` builds from libyaml (values, marks, problems).

It never guesses: anything outside the subset (anchors, tags, multi-line plain or flow scalars,
escapes, duplicate keys, odd indentation, syntax errors, control characters...) makes it decline,
and the caller parses the whole file with libyaml instead, which also reports errors. Tests compare
both paths on every YAML file in the repository and on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from evtctl.manifest.yamlpos import Mark, _Builder

# One match per line (``findall`` reads a whole file in one call): indent, "- " (a sequence
# entry), a plain key, the spaces after its colon, then the rest: either a "safe" plain scalar
# (no comment, colon or indicator; the common case) or anything else.
# Possessive quantifiers: none of these runs can give characters back to what follows, and not
# trying saves a third of the matching time.
_ROW = re.compile(
    r"^( *+)(- ++)?(?:([A-Za-z0-9_][A-Za-z0-9_./-]*+):( ++|$))?"
    r"(?:([A-Za-z0-9_./$(^=<~+][^#:\n]*+)$|(.*)$)",
    re.MULTILINE,
)
# First characters of plain scalars that may resolve to something else than a string.
_TYPED_FIRST = frozenset(yaml.resolver.Resolver.yaml_implicit_resolvers)
_FLOW_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_./-]*): +")
_FLOW_PLAIN = re.compile(r"[^,\[\]{}#]*")
_NOT_PLAIN = frozenset("&*!|>'\"%@`")  # a plain scalar cannot start with these
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
# Characters libyaml rejects or treats as line breaks, tabs (indentation rules) and BOMs.
_UNSAFE = re.compile("[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_MAX_DEPTH = 64  # as deep as yamlpos allows; deeper documents go to libyaml, which reports them


class Decline(Exception):
    """The text uses YAML this scanner does not handle; parse it with libyaml."""


def scan(text: str, builder: _Builder) -> list[tuple[Any, Mark]] | None:
    """Every document's value and mark, or None when the text is outside the subset.

    On None the builder's problems are left as they were before the call.
    """
    if _UNSAFE.search(text) is not None:
        return None
    kept = len(builder.problems)
    try:
        return _Scanner(text, builder).run()
    # Besides declining, any scanner bug on odd input falls back too: never a traceback, and
    # libyaml's path gives the right answer, only slower.
    except (Decline, IndexError, KeyError, ValueError, TypeError):
        del builder.problems[kept:]
        return None


class _Scanner:
    def __init__(self, text: str, builder: _Builder) -> None:
        from evtctl.manifest.yamlpos import PosList, PosMap

        self.text = text
        self._lines: list[str] | None = None  # split only for block scalars
        self.builder = builder
        self.map_type = PosMap
        self.list_type = PosList
        self.i = 0  # index of the next line to read

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def run(self) -> list[tuple[Any, Mark]]:
        """Scan every line; the innermost open collection's state lives in locals (hot loop)."""
        docs: list[tuple[Any, Mark]] = []
        # Open collections, outermost first: (container, indent, is_map, indentless).
        stack: list[tuple[Any, int, bool, bool]] = []
        # A key whose value starts on a later line: (key, key mark, owner mapping, owner indent,
        # null-value mark).
        pending: tuple[str, Mark, Any, int, Mark] | None = None
        opened = False  # a `---` started a document that has no content yet
        rows: list[tuple[str, str, str, str, str, str]] = _ROW.findall(self.text)
        count = len(rows)
        if count != self.text.count("\n") + 1:
            raise Decline  # not one row per line: never guess
        plain = self.builder.plain
        typed_first = _TYPED_FIRST
        map_type = self.map_type
        list_type = self.list_type
        top_indent = -1  # the innermost open collection's indent, -1 outside a document
        mapping: Any = None  # the innermost open collection when it is a mapping, else None
        key_marks: dict[str, Mark] = {}
        value_marks: dict[str, Mark] = {}
        value: Any
        i = 0  # 1-based number of the current line
        it = iter(rows)
        # findall gives "" for a group that did not take part.
        for indent_s, dash, key, sep, safe, rest in it:
            i += 1
            indent = len(indent_s)
            if indent == top_indent and key and not dash and pending is None and mapping is not None:
                # The common line: `key: value` among its siblings.
                col = indent
            else:
                # Blank lines, comments, document markers, nested and closed collections,
                # sequence entries.
                col = indent
                if not dash and not key:
                    if safe:
                        raise Decline  # a continuation line or a bare scalar
                    if not rest or rest[0] == "#":
                        continue  # blank or comment
                    if indent or not rest.startswith("---") or rest[3:4] not in ("", " "):
                        raise Decline
                    if rest[3:].strip() and not rest[3:].lstrip().startswith("#"):
                        raise Decline  # content after the marker
                    if pending is not None:
                        self._set(pending[2], pending[0], None, pending[1], pending[4])
                        pending = None
                    if stack:
                        docs.append((stack[0][0], stack[0][0].mark))
                        stack.clear()
                        top_indent, mapping = -1, None
                    elif opened:
                        raise Decline  # an empty document
                    opened = True
                    continue
                if not stack:
                    if indent or dash:
                        raise Decline  # manifests are mappings; anything else goes to libyaml
                    stack.append((map_type((i, 1)), 0, True, False))
                    opened = False
                elif pending is not None:
                    pkey, pkmark, owner, owner_indent, null_mark = pending
                    pending = None
                    if indent > owner_indent or (dash and indent == owner_indent):
                        if len(stack) >= _MAX_DEPTH:
                            raise Decline
                        if dash:
                            value = list_type((i, indent + 1))
                            stack.append((value, indent, False, indent == owner_indent))
                        else:
                            value = map_type((i, indent + 1))
                            stack.append((value, indent, True, False))
                        self._set(owner, pkey, value, pkmark, value.mark)
                    else:
                        self._set(owner, pkey, None, pkmark, null_mark)
                top = stack[-1]
                while indent < top[1] or (top[3] and indent == top[1] and not dash):
                    stack.pop()
                    top = stack[-1]
                if indent != top[1]:
                    raise Decline  # a continuation line or inconsistent indentation
                container, top_indent, is_map, _ = top
                if not is_map:
                    if not dash:
                        raise Decline
                    col += len(dash)
                    if not key:
                        if safe:
                            if safe[-1] == " ":
                                safe = safe.rstrip(" ")
                            vmark = (i, col + 1)
                            value = plain(safe, vmark) if safe[0] in typed_first or "$" in safe else safe
                        elif not rest or rest[0] == "#":
                            raise Decline  # "-" with the item on later lines
                        else:
                            self.i = i
                            value, vmark = self._value(rest, i, col, top_indent)
                            i = self._skip(it, i)
                        container.append(value)
                        container.item_marks.append(vmark)
                        mapping = None
                        continue
                    if len(stack) >= _MAX_DEPTH:
                        raise Decline
                    value = map_type((i, col + 1))
                    container.append(value)
                    container.item_marks.append(value.mark)
                    stack.append((value, col, True, False))
                    container, top_indent = value, col
                elif dash or not key:
                    raise Decline
                mapping = container
                key_marks = mapping.key_marks
                value_marks = mapping.value_marks
            if key in mapping:
                raise Decline  # libyaml's path reports the duplicate
            kmark = (i, col + 1)
            if safe:
                if safe[-1] == " ":
                    safe = safe.rstrip(" ")
                vmark = (i, col + len(key) + len(sep) + 2)
                mapping[key] = plain(safe, vmark) if safe[0] in typed_first or "$" in safe else safe
            elif not rest or rest[0] == "#":
                pending = (key, kmark, mapping, top_indent, (i, col + len(key) + 2))
                continue
            else:
                self.i = i
                mapping[key], vmark = self._value(rest, i, col + len(key) + len(sep) + 1, top_indent)
                i = self._skip(it, i)
            key_marks[key] = kmark
            value_marks[key] = vmark
        if pending is not None:
            self._set(pending[2], pending[0], None, pending[1], pending[4])
        if stack:
            docs.append((stack[0][0], stack[0][0].mark))
        elif opened:
            raise Decline
        if not docs:
            raise Decline  # no documents at all: let libyaml decide what that means
        return docs

    def _skip(self, rows: Iterator[Any], i: int) -> int:
        """Advance ``rows`` past the lines a block scalar consumed (``self.i``); the new line count."""
        for _ in range(self.i - i):
            next(rows)
        return self.i

    @staticmethod
    def _set(mapping: Any, key: str, value: Any, kmark: Mark, vmark: Mark) -> None:
        mapping[key] = value
        mapping.key_marks[key] = kmark
        mapping.value_marks[key] = vmark

    def _value(self, rest: str, lineno: int, col: int, parent_indent: int) -> tuple[Any, Mark]:
        """The value written as ``rest`` starting at 0-based column ``col``, and its mark."""
        mark = (lineno, col + 1)
        first = rest[0]
        if first == '"' or first == "'":
            text, end = _quoted(rest, 0)
            _tail(rest, end)
            return self.builder.string(text, mark), mark
        if first == "[" or first == "{":
            return self._flow(rest, lineno, col), mark
        if first == "|" or first == ">":
            return self._block_scalar(rest, mark, parent_indent), mark
        if _indicator(rest) or first in _NOT_PLAIN or first in ",]}#":
            raise Decline
        return self.builder.plain(_plain(rest), mark), mark

    def _flow(self, rest: str, lineno: int, col: int) -> Any:
        """A one-line flow collection of plain scalars and nested flow collections."""
        container, end = self._flow_at(rest, 0, lineno, col, 0)
        _tail(rest, end)
        return container

    def _flow_at(self, text: str, pos: int, lineno: int, col: int, depth: int) -> tuple[Any, int]:
        """The flow collection opening at ``text[pos]`` and the position after it."""
        is_map = text[pos] == "{"
        close = "}" if is_map else "]"
        container: Any = self.map_type((lineno, col + pos + 1)) if is_map else self.list_type(
            (lineno, col + pos + 1)
        )
        pos += 1
        size = len(text)
        while True:
            while pos < size and text[pos] == " ":
                pos += 1
            if pos >= size:
                raise Decline  # continues on the next line
            if text[pos] == close:
                return container, pos + 1
            key = None
            if is_map:
                entry = _FLOW_KEY.match(text, pos)
                if entry is None or entry.group(1) in container:
                    raise Decline
                key, kmark = entry.group(1), (lineno, col + pos + 1)
                pos = entry.end()
                if pos >= size:
                    raise Decline
            vmark = (lineno, col + pos + 1)
            value: Any
            if text[pos] in "[{":
                if depth >= 8:
                    raise Decline
                value, pos = self._flow_at(text, pos, lineno, col, depth + 1)
            elif text[pos] in "\"'":
                quoted, pos = _quoted(text, pos)
                value = self.builder.string(quoted, vmark)
            else:
                scalar = _FLOW_PLAIN.match(text, pos)
                raw = scalar.group().rstrip(" ")  # type: ignore[union-attr]
                if not raw or _indicator(raw) or raw[0] in _NOT_PLAIN or ": " in raw or raw[-1] == ":":
                    raise Decline
                value = self.builder.plain(raw, vmark)
                pos = scalar.end()  # type: ignore[union-attr]
            if key is None:
                container.append(value)
                container.item_marks.append(vmark)
            else:
                self._set(container, key, value, kmark, vmark)
            while pos < size and text[pos] == " ":
                pos += 1
            if pos < size and text[pos] == ",":
                pos += 1
            elif pos >= size or text[pos] != close:
                raise Decline

    def _block_scalar(self, rest: str, mark: Mark, parent_indent: int) -> Any:
        """A literal (``|``) or folded (``>``) scalar with clip or strip chomping."""
        header = rest.split("#", 1)[0].rstrip(" ")
        if header not in ("|", "|-", ">", ">-") or (len(header) < len(rest) and rest[len(header)] != " "):
            raise Decline
        lines = self.lines
        content: list[str] = []
        block_indent = -1
        i = self.i
        while i < len(lines):
            line = lines[i]
            text = line.lstrip(" ")
            if not text:
                if block_indent < 0 or len(line) > block_indent:
                    raise Decline  # leading blank lines, or blank lines with extra spaces
                content.append("")
                i += 1
                continue
            indent = len(line) - len(text)
            if indent <= parent_indent:
                break
            if block_indent < 0:
                block_indent = indent
            elif indent != block_indent:
                raise Decline  # more-indented lines keep their breaks: libyaml's job
            content.append(text)
            i += 1
        if block_indent < 0 or (i == len(lines) and lines[-1]):
            raise Decline  # empty, or its last line has no line break to chomp
        self.i = i
        while content[-1] == "":
            content.pop()
        if header[0] == "|":
            value = "\n".join(content)
        else:  # folded: a single line break becomes a space, each empty line a newline
            parts = [content[0]]
            empty = 0
            for text in content[1:]:
                if not text:
                    empty += 1
                    continue
                parts.append(("\n" * empty if empty else " ") + text)
                empty = 0
            value = "".join(parts)
        if not header.endswith("-"):
            value += "\n"
        return self.builder.string(value, mark)


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """The one-line quoted scalar opening at ``text[pos]`` (no escapes) and the position after it."""
    if text[pos] == '"':
        end = text.find('"', pos + 1)
        if end < 0 or "\\" in text[pos + 1 : end]:
            raise Decline  # escapes or a multi-line string
        return text[pos + 1 : end], end + 1
    quoted = _SINGLE.match(text, pos)
    if quoted is None:
        raise Decline
    return quoted.group(1).replace("''", "'"), quoted.end()


def _indicator(value: str) -> bool:
    """Whether a plain scalar would start with ``?``, ``:`` or a ``- `` entry indicator."""
    first = value[0]
    return first in "?:" or (first == "-" and (len(value) == 1 or value[1] == " "))


def _tail(rest: str, end: int) -> None:
    """After a closed quote or flow collection only spaces and a comment may follow."""
    tail = rest[end:]
    if tail and (tail[0] != " " or not (tail.strip(" ") == "" or tail.lstrip(" ")[0] == "#")):
        raise Decline


def _plain(rest: str) -> str:
    """A one-line plain scalar without its trailing comment and spaces."""
    cut = rest.find(" #")
    if cut >= 0:
        rest = rest[:cut]
    rest = rest.rstrip(" ")
    if ": " in rest or rest.endswith(":"):
        raise Decline
    return rest
