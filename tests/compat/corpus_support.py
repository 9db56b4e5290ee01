"""Loading the evolution corpus: ``corpus/<format>/<case>/v1.<ext> ... vN.<ext>`` + ``expected.yaml``.

Files other than ``v<N>.<ext>`` in a case folder are references (Avro: files defining named
types; Protobuf: imported files; JSON Schema: ``$ref`` targets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).parent / "corpus"
EXTENSIONS = {"avro": ".avsc", "protobuf": ".proto", "json": ".json"}
_VERSION = re.compile(r"v(\d+)$")


@dataclass(frozen=True)
class Case:
    fmt: str
    name: str
    folder: Path
    versions: list[Path]
    references: list[Path]
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.fmt}/{self.name}"


def load_cases(fmt: str | None = None) -> list[Case]:
    cases: list[Case] = []
    for fmt_dir in sorted(CORPUS.iterdir()):
        if not fmt_dir.is_dir() or (fmt is not None and fmt_dir.name != fmt):
            continue
        ext = EXTENSIONS[fmt_dir.name]
        for folder in sorted(p for p in fmt_dir.iterdir() if p.is_dir()):
            files = sorted(folder.rglob(f"*{ext}"))
            versions = sorted(
                (p for p in files if p.parent == folder and _VERSION.match(p.stem)),
                key=lambda p: int(p.stem[1:]),
            )
            refs = [p for p in files if p not in versions]
            expected = yaml.safe_load((folder / "expected.yaml").read_text())
            cases.append(Case(fmt_dir.name, folder.name, folder, versions, refs, expected))
    return cases
