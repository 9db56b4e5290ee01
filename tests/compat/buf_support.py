"""Running ``buf breaking`` once over the whole Protobuf corpus.

Every case becomes a directory ``c<N>/`` in an "old" and a "new" tree, with its package (and
its imports' packages) prefixed by ``c<N>`` so the cases do not collide in one buf module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.compat.corpus_support import Case

REPO = Path(__file__).resolve().parents[2]


def find_buf() -> str | None:
    local = REPO / "node_modules" / ".bin" / "buf"
    if local.exists():
        return str(local)
    return shutil.which("buf")


def _rewrite(text: str, prefix: str, packages: set[str], imports: set[str]) -> str:
    text = re.sub(r"^(\s*package\s+)([\w.]+)\s*;", lambda m: f"{m[1]}{prefix}.{m[2]};", text, flags=re.M)
    for imp in imports:
        text = text.replace(f'"{imp}"', f'"{prefix}/{imp}"')
    for pkg in sorted(packages, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(pkg)}\.(?=[A-Z])", f"{prefix}.{pkg}.", text)
    return text


def buf_verdicts(buf: str, cases: list[Case], workdir: Path) -> dict[str, set[str]]:
    """Case name -> buf WIRE rule ids reported for (second-to-last -> last version)."""
    trees = {"old": workdir / "old", "new": workdir / "new"}
    by_dir: dict[str, str] = {}
    for i, case in enumerate(cases):
        prefix = f"c{i}"
        by_dir[prefix] = case.name
        refs = {str(p.relative_to(case.folder)): p.read_text() for p in case.references}
        packages = {m for t in refs.values() for m in re.findall(r"^\s*package\s+([\w.]+)\s*;", t, re.M)}
        for side, version in (("old", case.versions[-2]), ("new", case.versions[-1])):
            base = trees[side] / prefix
            base.mkdir(parents=True)
            (base / "schema.proto").write_text(_rewrite(version.read_text(), prefix, packages, set(refs)))
            for name, text in refs.items():
                target = base / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(_rewrite(text, prefix, packages, set(refs)))
    config = json.dumps({"version": "v1", "breaking": {"use": ["WIRE"]}})
    for tree in trees.values():
        (tree / "buf.yaml").write_text("version: v1\n")
    proc = subprocess.run(
        [
            buf,
            "breaking",
            str(trees["new"]),
            "--against",
            str(trees["old"]),
            "--config",
            config,
            "--error-format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BUF_CACHE_DIR": str(workdir / "cache")},
    )
    if proc.returncode not in (0, 100):
        raise RuntimeError(f"buf failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    found: dict[str, set[str]] = {case.name: set() for case in cases}
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        path = Path(item["path"])
        for tree in trees.values():
            if path.is_relative_to(tree):
                path = path.relative_to(tree)
        prefix = path.parts[0]
        found[by_dir[prefix]].add(item["type"])
    return found
