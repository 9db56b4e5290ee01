"""The per-file cache of checked manifests (evtctl.manifest.doccache) never changes a load's result:
a cached load gives the same model, the same problems and the same positions as a fresh one, and
every input that could change the outcome changes the key."""

from __future__ import annotations

import json
import marshal
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evtctl.manifest import doccache
from evtctl.manifest.doccache import CachedList, CachedMap, DocumentCache
from evtctl.manifest.yamlpos import PosList, PosMap, copy_node, load_text, locate
from evtctl.workspace import check_workspace
from tests.support.cli import copy_reference

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "invalid"


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own user cache directory (and so its own sealing key)."""
    home = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("EVTCTL_NO_CACHE", raising=False)
    return home


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[DocumentCache]:
    """The caches the loads of a test opened (their hit and miss counts)."""
    opened: list[DocumentCache] = []
    real = DocumentCache.open.__func__  # type: ignore[attr-defined]

    def recording(cls: type[DocumentCache], *args: Any, **kwargs: Any) -> DocumentCache | None:
        cache = real(cls, *args, **kwargs)
        if cache is not None:
            opened.append(cache)
        return cache  # type: ignore[no-any-return]

    monkeypatch.setattr(DocumentCache, "open", classmethod(recording))
    return opened


def _marks(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position a node records, with the path to it."""
    if isinstance(node, PosMap):
        yield (path, "mark", node.mark)
        for key, value in node.items():
            yield (path, key, node.key_marks[key], node.value_marks[key], (node.origins or {}).get(key))
            yield from _marks(value, (*path, key))
    elif isinstance(node, PosList):
        yield (path, "mark", node.mark)
        for i, value in enumerate(node):
            yield (path, i, node.item_marks[i])
            yield from _marks(value, (*path, i))


def _snapshot(root: Path, environment: str | None = None) -> dict[str, Any]:
    workspace, problems = check_workspace(root, environment=environment)
    out: dict[str, Any] = {"problems": [p.render() for p in problems]}
    if workspace is not None:
        resources = [
            *workspace.topics,
            *workspace.subjects,
            *workspace.services,
            *workspace.consumer_groups,
            *workspace.principals,
            *workspace.access_policies,
            *workspace.quotas,
            *workspace.tenants,
        ]
        out["model"] = [repr(r) for r in resources]
        out["acls"] = [repr(a) for a in workspace.acls]
        out["marks"] = [(r.source.file, list(_marks(r.source.node))) for r in resources]
    return out


def _reference(tmp_path: Path) -> Path:
    return copy_reference(tmp_path / "ws")


def test_cached_load_gives_the_same_model_problems_and_positions(
    tmp_path: Path, counted: list[DocumentCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _reference(tmp_path)
    monkeypatch.setenv("EVTCTL_NO_CACHE", "1")
    fresh = {env: _snapshot(root, env) for env in (None, "dev", "prod")}
    assert not (root / ".evtctl" / "cache" / "manifests").exists()
    monkeypatch.delenv("EVTCTL_NO_CACHE")
    for env in (None, "dev", "prod"):
        first = _snapshot(root, env)
        second = _snapshot(root, env)
        assert first == fresh[env]
        assert second == fresh[env]
    files = len(list((root / "topology").rglob("*.yaml")))
    # each environment's first load misses and writes, its second reads every file back
    assert [(c.hits, c.misses) for c in counted] == [(0, files), (files, 0)] * 3
    assert fresh[None]["model"] and fresh["dev"]["model"] != fresh["prod"]["model"]


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))
def test_broken_inputs_report_the_same_problems_from_the_cache(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / case
    shutil.copytree(CORPUS / case, root)
    args = (CORPUS / case / "args.txt").read_text().split() if (CORPUS / case / "args.txt").exists() else []
    environment = args[args.index("--env") + 1] if "--env" in args else None
    monkeypatch.setenv("EVTCTL_NO_CACHE", "1")
    fresh = _snapshot(root, environment)
    monkeypatch.delenv("EVTCTL_NO_CACHE")
    assert _snapshot(root, environment) == fresh
    assert _snapshot(root, environment) == fresh


def test_an_edit_is_seen_even_with_the_same_size_and_mtime(
    tmp_path: Path, counted: list[DocumentCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _reference(tmp_path)
    before = _snapshot(root)
    topic = next(p for p in (root / "topology").rglob("*.yaml") if "kind: Topic" in p.read_text())
    text = topic.read_text()
    stat = topic.stat()
    edited = text.replace("partitions: 12", "partitions: 24", 1)
    assert edited != text and len(edited) == len(text)
    topic.write_text(edited)
    os.utime(topic, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = _snapshot(root)
    assert after != before
    assert counted[-1].misses == 1
    monkeypatch.setenv("EVTCTL_NO_CACHE", "1")
    assert _snapshot(root) == after


def test_variables_are_part_of_the_key(tmp_path: Path) -> None:
    root = _reference(tmp_path)
    config = root / "evtctl.yaml"
    assert "orderRetention: 14d" in config.read_text()
    before = _snapshot(root)
    config.write_text(config.read_text().replace("orderRetention: 14d", "orderRetention: 21d"))
    after = _snapshot(root)
    assert after != before
    assert any("1814400000" in line for line in after["model"])  # 21 days in ms


def test_an_entry_sealed_with_another_key_is_a_miss(
    tmp_path: Path, counted: list[DocumentCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache committed to a repository, or planted by a pull request, is not trusted."""
    root = _reference(tmp_path)
    first = _snapshot(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    assert _snapshot(root) == first
    assert counted[-1].hits == 0


def test_a_forged_entry_is_a_miss(tmp_path: Path, counted: list[DocumentCache]) -> None:
    """An entry whose body was replaced (here: documents of another file under this file's key)
    fails the seal and the file is read again."""
    root = _reference(tmp_path)
    fresh = _snapshot(root)
    entries = sorted((root / ".evtctl" / "cache" / "manifests").iterdir())
    assert len(entries) > 1
    victim, other = entries[0], entries[1]
    victim_body = marshal.loads(victim.read_bytes()[32:])
    other_body = marshal.loads(other.read_bytes()[32:])
    forged = (victim_body[0], victim_body[1], *other_body[2:])  # the victim's key, another file's documents
    victim.write_bytes(victim.read_bytes()[:32] + marshal.dumps(forged))
    entries[2].write_bytes(b"garbage")
    assert _snapshot(root) == fresh
    assert counted[-1].misses == 2


def test_entries_of_deleted_files_are_pruned(tmp_path: Path) -> None:
    root = _reference(tmp_path)
    _snapshot(root)
    cache = root / ".evtctl" / "cache" / "manifests"
    count = len(list(cache.iterdir()))
    (root / "topology" / "principals.yaml").unlink()
    _snapshot(root)
    assert len(list(cache.iterdir())) == count - 1


def test_loading_works_where_the_cache_cannot_be_written_or_keyed(
    tmp_path: Path, counted: list[DocumentCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _reference(tmp_path)
    monkeypatch.setenv("EVTCTL_NO_CACHE", "1")
    fresh = _snapshot(root)
    monkeypatch.delenv("EVTCTL_NO_CACHE")
    # the cache directory is taken by a file: every write fails, quietly
    (root / ".evtctl" / "cache").mkdir(parents=True, exist_ok=True)
    (root / ".evtctl" / "cache" / "manifests").write_text("not a directory")
    assert _snapshot(root) == fresh
    assert _snapshot(root) == fresh
    assert counted[-1].hits == 0
    # no user cache directory for the key: no cache at all
    blocker = tmp_path / "blocked"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "sub"))
    (root / ".evtctl" / "cache" / "manifests").unlink()
    opened = len(counted)
    assert _snapshot(root) == fresh
    assert len(counted) == opened
    assert not (root / ".evtctl" / "cache" / "manifests").exists()


def test_values_marshal_cannot_store_are_not_cached(tmp_path: Path) -> None:
    cache = DocumentCache.open(tmp_path, variables={}, overlays=None, max_bytes=1 << 20)
    assert cache is not None
    doc = PosMap((1, 1))
    doc["when"] = object()
    doc.key_marks["when"] = doc.value_marks["when"] = (1, 1)
    outcome = doccache.FileOutcome(good=[("Topic", "t.yaml", doc)])
    key = cache.key("t.yaml", b"x")
    cache.put("t.yaml", key, outcome)
    cache.write()
    assert cache.get("t.yaml", key) is None


def test_cached_nodes_keep_marks_packed_until_asked(tmp_path: Path) -> None:
    text = "a:\n  b: 1\n  c: [x, y]\nd:\n  - e: 2\n"
    (docs, problems) = load_text(text, "f.yaml")
    assert not problems
    original = docs[0].data
    cache = DocumentCache.open(tmp_path, variables={}, overlays=None, max_bytes=1 << 20)
    assert cache is not None
    key = cache.key("f.yaml", text.encode())
    cache.put("f.yaml", key, doccache.FileOutcome(good=[("Topic", "f.yaml", original)]))
    cache.write()
    found = cache.get("f.yaml", key)
    assert found is not None
    cached = found.good[0][2]
    assert isinstance(cached, CachedMap) and isinstance(cached["a"]["c"], CachedList)
    assert cached == original

    def unpacked(node: Any, slot: Any) -> bool:
        try:
            slot.__get__(node, type(node))
        except AttributeError:
            return False
        return True

    assert locate("f.yaml", cached, ["a", "b"]) == locate("f.yaml", original, ["a", "b"])
    # locating a value unpacked only the value marks of the maps on the way
    assert unpacked(cached, doccache._VALUE_MARKS) and not unpacked(cached, doccache._KEY_MARKS)
    assert not unpacked(cached["d"], doccache._ITEM_MARKS)
    assert list(_marks(cached)) == list(_marks(original))
    assert unpacked(cached, doccache._KEY_MARKS) and unpacked(cached["d"], doccache._ITEM_MARKS)
    for path in (["a", "b"], ["a", "c", 1], ["d", 0, "e"], ["d"]):
        assert locate("f.yaml", cached, path) == locate("f.yaml", original, path)
    # writable like any PosMap, and copies are plain PosMaps with the same marks
    fresh = found.good[0][2]["a"]
    fresh.key_marks = {"b": (9, 9), "c": (9, 12)}
    assert fresh.key_marks["b"] == (9, 9) and fresh.value_marks["b"] == (2, 6)
    copied = copy_node(cached["d"])
    assert type(copied) is PosList and list(_marks(copied)) == list(_marks(cached["d"]))


def test_no_cache_without_a_workspace_config(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "t.yaml").write_text(
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec: {partitions: 1}\n"
    )
    workspace, problems = check_workspace(loose, allow_adhoc=True)
    assert workspace is not None and not problems
    assert not (loose / ".evtctl").exists()


def test_the_sealing_key_is_created_whole_and_a_damaged_one_replaced(user_cache: Path) -> None:
    first = doccache._secret()
    assert first is not None and len(first) == 32
    assert doccache._secret() == first  # created once, then read
    key_file = user_cache / "evtctl" / "cache-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_file.write_bytes(b"abc")  # cut short (a crash, a careless copy)
    second = doccache._secret()
    assert second is not None and len(second) == 32 and second != first
    assert key_file.read_bytes() == second
    assert not list(key_file.parent.glob("*.tmp"))


def test_many_entries_are_written_by_a_child_and_read_back(tmp_path: Path) -> None:
    """Past WRITE_IN_CHILD_MIN entries the writing happens in a forked child (in a fresh process: this
    one may have threads, which rule forking out); finish() waits for it, and every entry reads back."""
    from tests.support.cli import fresh_python

    script = f"""
import json, os
from pathlib import Path
from evtctl import forking
from evtctl.manifest import doccache
from evtctl.manifest.yamlpos import load_text
os.environ["XDG_CACHE_HOME"] = {str(tmp_path / "user")!r}
spawned = []
real = forking.spawn
forking.spawn = lambda *a, **k: spawned.append(1) or real(*a, **k)
entries = Path({str(tmp_path / "entries")!r})
cache = doccache.DocumentCache.open(entries, variables={{}}, overlays=None, max_bytes=1 << 20)
keys = []
for i in range(doccache.WRITE_IN_CHILD_MIN + 4):
    text = "a: %d\\nb: [x, %d]\\n" % (i, i)
    (docs, _) = load_text(text, f"f{{i}}.yaml")
    key = cache.key(f"f{{i}}.yaml", text.encode())
    keys.append((f"f{{i}}.yaml", key, docs[0].data))
    cache.put(f"f{{i}}.yaml", key, doccache.FileOutcome(good=[("Topic", f"f{{i}}.yaml", docs[0].data)]))
cache.write()
cache.finish()
back = [cache.get(f, k) for f, k, _ in keys]
same = all(b is not None and b.good[0][2] == d for b, (_, _, d) in zip(back, keys))
print(json.dumps({{"spawned": len(spawned), "same": same}}))
"""
    out = json.loads(fresh_python(script))
    assert out == {"spawned": 1, "same": True}
