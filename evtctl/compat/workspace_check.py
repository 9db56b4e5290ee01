"""Workspace mode of ``evtctl schema check`` and ``evtctl schema lock``.

Every subject bound in the workspace (key and value sides) is checked at its declared level
(or ``--level``) against its history from one source:

- ``--against REF``: the schema files as they are at a git ref (like ``buf breaking --against``);
- ``--registry URL``: every registered version of the subject (Confluent REST API);
- ``--lock FILE``: the versions recorded by ``evtctl schema lock`` (fully offline CI);
  ``evtctl.lock.json`` at the workspace root is used when no source is given.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtctl.compat import check_compatibility, parse_schema, read_text
from evtctl.compat.levels import normalize_level
from evtctl.compat.model import CompatReport, ParsedSchema, Violation
from evtctl.compat.report import CheckResult
from evtctl.errors import InputError, Location, UsageError

if TYPE_CHECKING:
    from evtctl.manifest.model import SchemaRef, Workspace
    from evtctl.registry.client import RegistryClient

LOCK_NAME = "evtctl.lock.json"
LOCK_VERSION = 1


@dataclass(frozen=True, slots=True)
class Version:
    label: str  # "main:schemas/order.avsc", "version 3"
    text: str
    references: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Side:
    subject: str
    ref: SchemaRef
    level: str
    topic: str = ""
    role: str = "value"  # "key" or "value"


def _sides(ws: Workspace, level: str | None) -> list[Side]:
    out: list[Side] = []
    for binding in ws.subjects:
        lvl = normalize_level(level) if level else binding.compatibility.value
        for role, ref in binding.sides():
            out.append(Side(ref.subject, ref, lvl, binding.topic, role))
    return out


def reference_files(ref: SchemaRef) -> dict[str, Path]:
    """Reference name -> file: declared references first, else what the schema itself imports."""
    declared = {r.name: r.file for r in ref.references if r.file is not None}
    if declared or ref.references:
        return declared
    fmt = ref.format.value
    if fmt == "PROTOBUF":
        from evtctl.compat.protobuf import find_imports

        return find_imports(ref.file, read_text(ref.file), [])
    if fmt == "JSON":
        from evtctl.compat.jsonschema import find_file_refs

        return find_file_refs(ref.file, read_text(ref.file))
    return {}


def _candidate(side: Side, source: _Source | None = None) -> ParsedSchema:
    refs = {name: read_text(p) for name, p in reference_files(side.ref).items()}
    # References to registry subjects without a local file come from the history source.
    for r in side.ref.references:
        if r.file is None and r.name not in refs and source is not None:
            text = source.reference(r.subject, r.version)
            if text is not None:
                refs[r.name] = text
    return parse_schema(
        side.ref.format.value, read_text(side.ref.file), references=refs, origin=str(side.ref.file)
    )


# ----------------------------------------------------------------------------- sources


class _GitSource:
    def __init__(self, root: Path, ref: str) -> None:
        self.ref = ref
        self.top = Path(self._git(root, "rev-parse", "--show-toplevel").strip())
        self._git(self.top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")

    def _git(self, cwd: Path, *args: str) -> str:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise UsageError(f"cannot run git: {err}") from None
        if proc.returncode != 0:
            message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "git failed"
            raise UsageError(
                f"git {' '.join(args[:2])}: {message}", help=f"is '{self.ref}' a branch, tag or commit?"
            )
        return proc.stdout

    def show(self, path: Path) -> str | None:
        rel = path.resolve().relative_to(self.top.resolve()).as_posix()
        proc = subprocess.run(
            ["git", "show", f"{self.ref}:{rel}"], cwd=self.top, capture_output=True, text=True, timeout=60
        )
        return proc.stdout if proc.returncode == 0 else None

    def reference(self, subject: str, version: int | None) -> str | None:
        return None  # a git ref only has files; declare a file for the reference

    def history(self, side: Side) -> list[Version]:
        text = self.show(side.ref.file)
        if text is None:
            return []
        refs: dict[str, str] = {}
        for name, path in reference_files(side.ref).items():
            old = self.show(path)
            refs[name] = old if old is not None else read_text(path)
        return [Version(f"{self.ref}:{side.ref.file.name}", text, refs)]


class _RegistrySource:
    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._ref_cache: dict[tuple[str, int], str] = {}

    def _reference_texts(self, refs: Sequence[Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for r in refs:
            key = (r.subject, r.version)
            if key not in self._ref_cache:
                self._ref_cache[key] = self.client.get_version(r.subject, r.version).schema
            out[r.name] = self._ref_cache[key]
        return out

    def reference(self, subject: str, version: int | None) -> str | None:
        return self.client.get_version(subject, version if version is not None else "latest").schema

    def history(self, side: Side) -> list[Version]:
        from evtctl.registry.client import SUBJECT_NOT_FOUND, RegistryError

        try:
            versions = self.client.versions(side.subject)
        except RegistryError as err:
            if err.error_code == SUBJECT_NOT_FOUND:
                return []
            raise
        out = []
        for v in sorted(versions):
            reg = self.client.get_version(side.subject, v)
            out.append(Version(f"version {v}", reg.schema, self._reference_texts(reg.references)))
        return out


def read_lock(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"invalid lock file: {err.msg}", location=Location(str(path), err.lineno, err.colno)
        ) from None
    if (
        not isinstance(doc, dict)
        or doc.get("version") != LOCK_VERSION
        or not isinstance(doc.get("subjects"), dict)
    ):
        raise InputError(
            f"not an evtctl lock file (expected version {LOCK_VERSION} with 'subjects')",
            location=Location(str(path), 1, 1),
            help="write one with `evtctl schema lock`",
        )
    return doc


class _LockSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.doc = read_lock(path)

    def reference(self, subject: str, version: int | None) -> str | None:
        entry = self.doc["subjects"].get(subject)
        versions = entry.get("versions", []) if isinstance(entry, dict) else []
        chosen = (
            versions[-1]
            if version is None and versions
            else next((v for v in versions if v.get("version") == version), None)
        )
        return str(chosen["schema"]) if chosen else None

    def history(self, side: Side) -> list[Version]:
        entry = self.doc["subjects"].get(side.subject)
        if not isinstance(entry, dict):
            return []
        return [
            Version(
                f"locked version {v.get('version', i + 1)}", str(v["schema"]), dict(v.get("references") or {})
            )
            for i, v in enumerate(entry.get("versions", []))
        ]


_Source = _GitSource | _RegistrySource | _LockSource


def _client(url: str) -> RegistryClient:
    import os

    from evtctl.registry.client import RegistryClient

    # Credentials come from the environment, never from flags (they would land in shell history).
    return RegistryClient(
        url,
        username=os.environ.get("EVTCTL_REGISTRY_USERNAME"),
        password=os.environ.get("EVTCTL_REGISTRY_PASSWORD"),
        token=os.environ.get("EVTCTL_REGISTRY_TOKEN"),
    )


# ----------------------------------------------------------------------------- commands


def check_workspace(
    *,
    against: str | None,
    registry: str | None,
    lock: Path | None,
    level: str | None,
    environment: str | None,
    schema_type: str | None,
) -> tuple[list[CheckResult], Path]:
    from evtctl.workspace.loader import load_workspace

    if sum(x is not None for x in (against, registry, lock)) > 1:
        raise UsageError("choose one history source: --against, --registry or --lock")
    ws = load_workspace(environment=environment)
    source: _Source
    if against is not None:
        source = _GitSource(ws.root, against)
    elif registry is not None:
        source = _RegistrySource(_client(registry))
    else:
        path = lock if lock is not None else ws.root / LOCK_NAME
        if lock is None and not path.exists():
            raise UsageError(
                "no schema history to check against",
                help=f"pass --against REF, --registry URL or --lock FILE (or commit {LOCK_NAME} "
                "written by `evtctl schema lock`), or give schema files to compare",
            )
        source = _LockSource(path)
    results: list[CheckResult] = []
    for side in _sides(ws, level):
        if schema_type and side.ref.format.value != schema_type.upper():
            continue
        candidate = _candidate(side, source)
        history = source.history(side)
        parsed = [
            parse_schema(
                side.ref.format.value, v.text, references=v.references, origin=f"{side.subject} ({v.label})"
            )
            for v in history
        ]
        report = _with_contracts(ws, side, candidate, check_compatibility(candidate, parsed, side.level))
        notes = () if history else ("no earlier version: a new subject",)
        if parsed and parsed[-1].fingerprint == candidate.fingerprint:
            notes = ("unchanged since the latest version",)
        results.append(
            CheckResult(
                name=side.subject,
                file=str(side.ref.file),
                schema_type=side.ref.format.value,
                report=report,
                versions=tuple(v.label for v in history),
                notes=notes,
            )
        )
    return results, ws.root


def _with_contracts(ws: Workspace, side: Side, candidate: ParsedSchema, report: CompatReport) -> CompatReport:
    """A candidate that breaks a consumer contract fails even when the subject's level allows it."""
    from evtctl.contracts.workspace import findings_for_candidate

    value, key = (candidate, None) if side.role == "value" else (None, candidate)
    broken = findings_for_candidate(ws, side.topic, value, key)
    if not broken:
        return report
    extra = [
        Violation(
            rule_id=f"CONTRACT_{f.rule.upper().replace('-', '_')}",
            path=f.target,
            message=f"Consumer {f.consumer} (contract {f.contract}) is broken: {f.reason}",
            hint="keep the field the consumer reads, or agree a new contract version with its owner first",
        )
        for pairing in broken
        for f in pairing.findings
    ]
    return dataclasses.replace(report, compatible=False, violations=[*report.violations, *extra])


def write_lock(output: Path | None, *, registry: str | None, environment: str | None) -> tuple[Path, int]:
    """Record every subject's versions: from a registry, or by appending the local schema when it
    differs from the last locked version (the offline equivalent of registering it)."""
    from evtctl.workspace.loader import load_workspace

    ws = load_workspace(environment=environment)
    path = output if output is not None else ws.root / LOCK_NAME
    doc: dict[str, Any] = read_lock(path) if path.exists() else {"version": LOCK_VERSION, "subjects": {}}
    subjects: dict[str, Any] = doc["subjects"]
    reg = _RegistrySource(_client(registry)) if registry is not None else None
    sides = _sides(ws, None)
    locked = _LockSource(path) if path.exists() else None  # references to locked subjects
    for side in sides:
        fmt = side.ref.format.value
        if reg is not None:
            versions = [
                {"version": i + 1, "label": v.label, "schema": v.text, "references": dict(v.references)}
                for i, v in enumerate(reg.history(side))
            ]
            subjects[side.subject] = {"schema_type": fmt, "versions": versions}
            continue
        candidate = _candidate(side, locked)
        entry = subjects.setdefault(side.subject, {"schema_type": fmt, "versions": []})
        versions = entry["versions"]
        last = versions[-1] if versions else None
        if last is not None:
            previous = parse_schema(
                fmt,
                last["schema"],
                references=last.get("references") or {},
                origin=f"{path} ({side.subject})",
            )
            if previous.fingerprint == candidate.fingerprint:
                continue
        versions.append(
            {
                "version": len(versions) + 1,
                "fingerprint": candidate.fingerprint,
                "schema": candidate.text,
                "references": dict(candidate.references),
            }
        )
    doc["subjects"] = dict(sorted(subjects.items()))
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, len(sides)
