"""The deployability matrix: which consumer contract versions each producer schema version satisfies.

"Can I deploy producer version X?" is answered offline from git history: every commit that
changed a topic's value schema is a producer version, every commit that changed a consumer's
contract is a contract version, and each pair is verified statically exactly as ``contract
verify`` does. Referenced schemas are taken from the working tree.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evtctl.compat import ParsedSchema, parse_schema
from evtctl.contracts.model import CONTRACT_KIND, Contract, SpecProblem, build_contract
from evtctl.contracts.verify import Producer, verify_pair
from evtctl.contracts.workspace import contract_set, load_schema, producers_for, value_binding
from evtctl.errors import InputError, Location
from evtctl.manifest.model import Workspace

WORKING_TREE = "working tree"


@dataclass(frozen=True, slots=True)
class Version:
    label: str  # short commit hash and date, or "working tree"
    text: str


@dataclass(frozen=True, slots=True)
class Cell:
    topic: str
    producer: str
    schema_version: str
    contract: str
    contract_version: str
    ok: bool
    reasons: tuple[str, ...]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def file_versions(root: Path, path: Path, max_versions: int) -> list[Version]:
    """The working-tree text plus the file's text at each of its last commits, newest first."""
    versions: list[Version] = []
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    rel = path.resolve().relative_to(root.resolve()).as_posix() if path.is_absolute() else path.as_posix()
    log = _git(root, "log", f"-n{max_versions}", "--format=%H %h %ad", "--date=short", "--", rel) or ""
    for line in log.splitlines():
        full, short, date = line.split(" ", 2)
        text = _git(root, "show", f"{full}:{rel}")
        if text is not None and not any(v.text == text for v in versions):
            versions.append(Version(f"{short} {date}", text))
    if current is not None and (not versions or versions[0].text != current):
        versions.insert(0, Version(WORKING_TREE, current))
    return versions


def _contract_versions(root: Path, contract: Contract, max_versions: int) -> list[tuple[str, Contract]]:
    file = contract.location.file
    if not file:
        return [(WORKING_TREE, contract)]
    out: list[tuple[str, Contract]] = []
    for version in file_versions(root, Path(file), max_versions):
        try:
            docs = list(yaml.safe_load_all(version.text))
        except yaml.YAMLError:
            continue
        for doc in docs:
            if (
                isinstance(doc, dict)
                and doc.get("kind") == CONTRACT_KIND
                and (doc.get("metadata") or {}).get("name") == contract.name
            ):
                problems: list[SpecProblem] = []
                spec = doc.get("spec") or {}
                if not isinstance(spec, dict) or "consumer" not in spec or "topic" not in spec:
                    continue
                where = Location(f"{file}@{version.label}")
                old = build_contract(contract.name, spec, lambda _p, w=where: w, problems)
                label = f"v{old.version}" if old.version is not None else version.label
                out.append((label, old))
    return out or [(WORKING_TREE, contract)]


def build_matrix(workspace: Workspace, *, max_versions: int = 10) -> list[Cell]:
    contracts = contract_set(workspace)
    cells: list[Cell] = []
    for topic in sorted({c.topic for c in contracts.contracts}):
        binding = value_binding(workspace, topic)
        if binding is None or binding.value is None:
            continue
        current = load_schema(binding.value)
        schema_versions: list[tuple[str, ParsedSchema]] = []
        for version in file_versions(workspace.root, binding.value.file, max_versions):
            try:
                parsed = parse_schema(
                    current.schema_type, version.text, references=current.references, origin=version.label
                )
            except InputError:
                continue  # a historical version that no longer parses cannot be deployed anyway
            schema_versions.append((version.label, parsed))
        producers = producers_for(workspace, contracts, topic)
        topic_contracts = [c for c in contracts.contracts if c.topic == topic]
        for producer in producers:
            for schema_label, schema in schema_versions:
                candidate = Producer(
                    producer.name,
                    topic,
                    schema,
                    producer.value_record,
                    producer.key_schema,
                    producer.key_record,
                    producer.partition_key,
                    producer.headers,
                )
                for contract in topic_contracts:
                    for contract_label, old_contract in _contract_versions(
                        workspace.root, contract, max_versions
                    ):
                        pairing = verify_pair(old_contract, candidate)
                        cells.append(
                            Cell(
                                topic,
                                producer.name,
                                schema_label,
                                contract.name,
                                contract_label,
                                pairing.ok,
                                tuple(f"{f.target}: {f.reason}" for f in pairing.findings),
                            )
                        )
    return cells


def render_matrix_text(cells: Sequence[Cell]) -> str:
    if not cells:
        return "no contracts with a bound value schema: nothing to tabulate"
    lines: list[str] = []
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.topic, cell.producer), []).append(cell)
    for (topic, producer), group in groups.items():
        columns = list(dict.fromkeys(f"{c.contract}@{c.contract_version}" for c in group))
        rows = list(dict.fromkeys(c.schema_version for c in group))
        lines.append(f"{producer} -> {topic}")
        width = max(len(r) for r in rows) + 2
        lines.append(" " * width + " | ".join(columns))
        for row in rows:
            marks = []
            for column in columns:
                cell = next(
                    c
                    for c in group
                    if c.schema_version == row and f"{c.contract}@{c.contract_version}" == column
                )
                marks.append(("ok" if cell.ok else "BROKEN").center(len(column)))
            lines.append(row.ljust(width) + " | ".join(marks))
        lines.append("")
    return "\n".join(lines).rstrip()


def render_matrix_json(cells: Sequence[Cell]) -> str:
    data: list[dict[str, Any]] = [
        {
            "topic": c.topic,
            "producer": c.producer,
            "schema_version": c.schema_version,
            "contract": c.contract,
            "contract_version": c.contract_version,
            "ok": c.ok,
            "reasons": list(c.reasons),
        }
        for c in cells
    ]
    return json.dumps({"format_version": 1, "cells": data}, indent=2)
