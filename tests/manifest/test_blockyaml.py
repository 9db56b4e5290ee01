"""The block-YAML line scanner must agree exactly with the libyaml path, or decline.

"Agree" means the same documents, values (and their types), key order, every mark, and the same
problems. Three sources of input: every YAML file in the repository, hand-written edge cases,
and hypothesis-generated texts built from YAML's block-structure pieces (valid and invalid alike).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtctl.manifest import blockyaml
from evtctl.manifest.yamlpos import PosList, PosMap, _Builder, load_text

REPO = Path(__file__).resolve().parents[2]


def _difference(a: Any, b: Any, path: str = "$") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}"
    if isinstance(a, PosMap):
        if (a.mark, list(a), a.key_marks, a.value_marks) != (b.mark, list(b), b.key_marks, b.value_marks):
            return f"{path}: {a.mark} {a.key_marks} {a.value_marks} vs {b.mark} {b.key_marks} {b.value_marks}"
        for key in a:
            found = _difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, PosList):
        if (a.mark, a.item_marks, len(a)) != (b.mark, b.item_marks, len(b)):
            return f"{path}: {a.mark} {a.item_marks} vs {b.mark} {b.item_marks}"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _difference(x, y, f"{path}[{n}]")
            if found:
                return found
        return None
    return None if a == b or (a != a and b != b) else f"{path}: {a!r} vs {b!r}"  # nan == nan


def _compare(text: str, variables: dict[str, Any] | None = None) -> bool:
    """Assert both paths agree; return whether the scanner took the text (did not decline)."""
    fast, fast_problems = load_text(text, "f.yaml", variables=variables)
    slow, slow_problems = load_text(text, "f.yaml", variables=variables, fast=False)
    assert [str(p) for p in fast_problems] == [str(p) for p in slow_problems], text
    assert [(d.index, d.mark) for d in fast] == [(d.index, d.mark) for d in slow], text
    for x, y in zip(fast, slow, strict=True):
        difference = _difference(x.data, y.data)
        assert difference is None, f"{difference}\n--- text ---\n{text}"
    return blockyaml.scan(text, _Builder("f.yaml", variables, [])) is not None


def _repository_yaml() -> list[Path]:
    skip = {".git", "node_modules", ".evtctl"}
    return sorted(
        p
        for pattern in ("*.yaml", "*.yml")
        for p in REPO.rglob(pattern)
        if not skip.intersection(p.relative_to(REPO).parts)
    )


def test_every_repository_yaml_file_agrees() -> None:
    taken = 0
    files = _repository_yaml()
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        taken += _compare(text)
    # The scanner must actually carry the reference workspace, not decline its way to agreement.
    assert taken > 0.8 * len(files)
    for path in (REPO / "topology").rglob("*.yaml"):
        assert blockyaml.scan(path.read_text(), _Builder(str(path), None, [])) is not None, path


TAKEN = [
    "a: 1\nb: two\nc: 3.5\nd: yes\ne: ~\nf: null\ng: 0x1F\nh: 1_000\ni: -7\nj: 7d\nk: 1GiB\n",
    "a:\nb: 1\n",
    "a:   # nothing\nb:\n",
    "a:\n  - x\n  - y\nb:\n- p\n- q: 1\n  r: 2\nc: 3\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
    "list:\n  - name: a\n    items: [x, y]\n  - name: b\n    items: []\n",
    "m: {k: v, n: 1, on: off}\nl: [a, 'b c', \"d\", [e, f], {g: h}]\ne: {}\n",
    "s: 'it''s'\nd: \"quoted: fine\"\n",
    "c: value # comment\nd: a#b\ne: x  #  y\n",
    "b: |\n  line one\n  line two\n\n  after blank\nn: 1\n",
    "b: |-\n  kept\n  lines\nf: >\n  folded\n  text\n\n  para\ng: >-\n  x\n  y\n",
    "---\na: 1\n---\nb: 2\n",
    "# leading comment\n--- # with a comment\na: 1\n",
    "a: ${var}\nb: pre-${var}-post\nc: $$literal\nd: '${var}'\n",
    "no: trailing\nnewline: here",
    "a: ${missing}\n",
    "t: 2001-12-14\nu: 1:30\nv: .inf\nw: -.5\nx: +1\ny: 0o17\nz: 0b101\n",
    "url: http://example.com/x\nregex: ^retail\\..*$\nglob: retail.*\n",
    "deep:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 20)) + "  " * 20 + "v: 1\n",
]

DECLINED = [
    "a: 1\na: 2\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: \"esc\\n\"\n",
    "a: multi\n  line\n",
    "a: [x,\n  y]\n",
    "a:\n\tb: 1\n",
    "- top\n- level\n",
    "plain scalar\n",
    "",
    "# only a comment\n",
    "---\n---\na: 1\n",
    "a: b: c\n",
    "a: |+\n  keep\n\n",
    "a: |\n  x\n    more indented\n",
    "<<: {a: 1}\n",
    "? complex\n: key\n",
    "a:\r\n  b: 1\r\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: 'unterminated\n",
    "a: {k: ",
    "b: |\n  last block without a line break\n  at the end",
    "deep:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 70)) + "  " * 70 + "v: 1\n",
]


@pytest.mark.parametrize("text", TAKEN, ids=[f"taken{n}" for n in range(len(TAKEN))])
def test_scanner_takes_and_agrees(text: str) -> None:
    assert _compare(text, {"var": 3}), f"declined:\n{text}"


@pytest.mark.parametrize("text", DECLINED, ids=[f"declined{n}" for n in range(len(DECLINED))])
def test_scanner_declines_what_it_does_not_handle(text: str) -> None:
    assert not _compare(text, {"var": 3}), f"taken:\n{text}"


def test_declining_leaves_no_problems_behind() -> None:
    builder = _Builder("f.yaml", {}, [])
    # An undefined variable is reported on the first line, then the scanner declines on line 2.
    assert blockyaml.scan("a: ${nope}\nb: &anchor 1\n", builder) is None
    assert builder.problems == []


_KEYS = st.sampled_from(["a", "b", "name", "retention.ms", "x-y", "on", "null", "12", "k/v", "a b", "'q'"])
_SCALARS = st.sampled_from(
    [
        "1", "-1", "0x1F", "1.5", "7d", "yes", "No", "~", "", "plain text", "a#b", "a #c", "x: y", "x:",
        "'s''q'", "'open", '"dq"', '"a\\tb"', "[a, b]", "[a, [b]]", "{k: v}", "{k: v, k: w}", "[]", "{}",
        "[a,]", "[,]", "{k}", "|", "|-", ">", ">-", "|+", "&anchor v", "*alias", "!!int 3", "- item",
        "-x", "?q", ":c", "%p", "@at", "`b`", "${var}", "${nope}", "$$", "2020-01-01", ".nan", "x  ",
        "[a: b]", "{a:b}", "[x.*, y*]", "'it''s' # c", "[a] x", "[a]#c", "{k: ", "[a, ", "{k:  }", "[",
    ]
)
_LINE = st.builds(
    lambda indent, dash, key, sep, value, comment: " " * indent
    + ("- " if dash else "")
    + (f"{key}:{sep}" if key is not None else "")
    + value
    + comment,
    st.sampled_from([0, 0, 0, 1, 2, 2, 2, 4, 4, 6]),
    st.booleans(),
    st.one_of(st.none(), _KEYS, _KEYS),
    st.sampled_from([" ", " ", "  ", ""]),
    _SCALARS,
    st.sampled_from(["", "", "", " # c", "#c"]),
)
_RAW = st.sampled_from(["", "---", "--- # doc", "  text line", "  ", "# c", "...", "\t", "  more: 1"])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINE, _LINE, _LINE, _RAW), min_size=1, max_size=14), st.booleans())
def test_generated_texts_agree(lines: list[str], final_newline: bool) -> None:
    _compare("\n".join(lines) + ("\n" if final_newline else ""), {"var": 3})


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text("ab :#-'\"x", max_size=6)),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text("abk.", min_size=1, max_size=3), children, max_size=3),
        ),
        max_leaves=12,
    ),
    st.booleans(),
)
def test_dumped_documents_agree(value: Any, flow: bool) -> None:
    import yaml

    text = yaml.safe_dump({"root": value}, default_flow_style=flow, sort_keys=False)
    _compare(text)
