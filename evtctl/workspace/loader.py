"""Loading a whole workspace: files -> positioned documents -> overlays -> schema -> model.

:func:`check_workspace` collects every problem in one pass (``evtctl validate``);
:func:`load_workspace` is the strict form other commands use: the model, or a
:class:`WorkspaceInvalid` error listing every problem.
"""

from __future__ import annotations

import fnmatch
import gc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evtctl import lifetime
from evtctl.errors import InputError, Location, UsageError
from evtctl.manifest.build import bound_schema_files, build_documents
from evtctl.manifest.check import check_document, unknown_kind
from evtctl.manifest.doccache import DocumentCache, FileOutcome
from evtctl.manifest.links import link
from evtctl.manifest.model import API_VERSION, Kind, Workspace
from evtctl.manifest.problems import Code, Problem
from evtctl.manifest.schemafiles import SchemaFileChecker
from evtctl.manifest.schemas import ENVIRONMENT_KIND, SPECS, WORKSPACE_KIND
from evtctl.manifest.yamlpos import PosMap, load_bytes, locate, merge, read_file
from evtctl.workspace.config import (
    CONFIG_NAME,
    Environment,
    LoadedConfig,
    default_config,
    display,
    find_root,
    load_config,
)

MANIFEST_SUFFIXES = (".yaml", ".yml")


class WorkspaceInvalid(InputError):
    """The workspace has problems; ``problems`` lists all of them, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        super().__init__(first.message, location=first.location, help=first.help)
        self.problems = list(problems)

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Manifest files under ``paths`` (files or directories), sorted, hidden entries skipped."""
    found: list[Path] = []
    for base in paths:
        if base.is_file():
            found.append(base)
            continue
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).parts
            if any(part.startswith(".") for part in rel):
                continue
            if path.suffix in MANIFEST_SUFFIXES and path.is_file() and path.name != CONFIG_NAME:
                found.append(path)
    return list(dict.fromkeys(found))


def _environment(loaded: LoadedConfig, name: str | None) -> Environment | None:
    if name is None:
        return None
    env = loaded.environments.get(name)
    if env is None:
        import difflib

        close = difflib.get_close_matches(name, list(loaded.environments), n=1)
        known = ", ".join(sorted(loaded.environments)) or "(none declared)"
        raise UsageError(
            f"unknown environment {name!r}",
            location=Location(display(loaded.config.path)),
            help=f"did you mean {close[0]!r}?" if close else f"declared environments: {known}",
        )
    return env


def _apply_overlays(kind: str, doc: PosMap, env: Environment, problems: list[Problem], file: str) -> None:
    name = (doc.get("metadata") or {}).get("name")
    for overlay in env.overlays:
        if overlay["kind"] != kind:
            continue
        names = overlay.get("names")
        if names is not None and not (
            isinstance(name, str) and any(fnmatch.fnmatchcase(name, p) for p in names)
        ):
            continue
        spec = doc.get("spec")
        if spec is None:
            doc["spec"] = spec = PosMap(doc.mark)
            doc.key_marks["spec"] = doc.value_marks["spec"] = doc.mark
        if isinstance(spec, PosMap):
            merge(spec, overlay["spec"], env.file)


def _check_documents(
    files: Sequence[Path],
    loaded: LoadedConfig,
    env: Environment | None,
    problems: list[Problem],
    declared: set[tuple[str, str]],
    cache_dir: Path | None,
    complete: bool,
) -> tuple[list[tuple[str, str, PosMap]], DocumentCache | None]:
    """The usable documents, and the manifest cache (still writing: call its finish())."""
    variables: dict[str, Any] = dict(loaded.variables)
    if env is not None:
        variables.update(env.variables)
    cache = (
        DocumentCache.open(
            cache_dir,
            variables=variables,
            overlays=(env.file, env.overlays) if env is not None else None,
            max_bytes=loaded.max_file_bytes,
        )
        if cache_dir is not None
        else None
    )
    good: list[tuple[str, str, PosMap]] = []
    shown_files: list[str] = []
    for path in files:
        shown = display(path)
        shown_files.append(shown)
        data, problem = read_file(path, shown, loaded.max_file_bytes)
        if data is None:
            outcome = FileOutcome([problem] if problem else [])
        elif cache is None:
            outcome = _check_file(data, shown, variables, env)
        else:
            key = cache.key(shown, data)
            found = cache.get(shown, key)
            if found is None:
                outcome = _check_file(data, shown, variables, env)
                cache.put(shown, key, outcome)
            else:
                outcome = found
        problems.extend(outcome.problems)
        good.extend(outcome.good)
        declared.update(outcome.declared)
    if cache is not None:
        cache.write()
        if complete:  # entries of deleted files go; a partial load keeps the rest
            cache.prune(shown_files)
    return good, cache


def _check_file(data: bytes, shown: str, variables: dict[str, Any], env: Environment | None) -> FileOutcome:
    """Parse one manifest file and check each document against its kind's schema."""
    documents, problems = load_bytes(data, shown, variables=variables)
    outcome = FileOutcome(problems)
    if not problems and all(d.data is None for d in documents):
        problems.append(
            Problem(
                "file contains no manifests",
                Location(shown, 1, 1),
                "remove the empty file, or add documents starting with `apiVersion: evtctl/v1`",
                Code.FILE,
            )
        )
    for document in documents:
        data = document.data
        if data is None:  # an empty document between `---` separators
            continue
        where = Location(shown, document.mark[0], document.mark[1])
        if not isinstance(data, PosMap):
            problems.append(
                Problem(
                    f"a manifest must be a mapping, got {type(data).__name__}",
                    where,
                    "each document needs apiVersion, kind, metadata and spec",
                    Code.SCHEMA,
                )
            )
            continue
        kind = data.get("kind")
        if "kind" not in data:
            problems.append(
                Problem("missing required field 'kind'", where, f"one of: {', '.join(SPECS)}", Code.SCHEMA)
            )
            continue
        if kind not in SPECS:
            if kind in (WORKSPACE_KIND, ENVIRONMENT_KIND):
                problems.append(
                    Problem(
                        f"`kind: {kind}` does not belong among the manifests",
                        locate(shown, data, ["kind"]),
                        f"{WORKSPACE_KIND} lives in {CONFIG_NAME}; {ENVIRONMENT_KIND} in environments/",
                        Code.UNKNOWN_KIND,
                    )
                )
            else:
                problems.append(unknown_kind(kind, shown, data, tuple(SPECS)))
            continue
        if env is not None:
            _apply_overlays(kind, data, env, problems, shown)
        doc_problems, usable = check_document(kind, shown, data)
        problems.extend(doc_problems)
        if usable:
            outcome.good.append((kind, shown, data))
        else:
            name = (
                (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
            )
            if isinstance(name, str):
                outcome.declared.append((kind, name))  # so references to it do not cascade into more errors
    return outcome


def check_workspace(
    start: Path | None = None,
    *,
    environment: str | None = None,
    files: Sequence[Path] | None = None,
    allow_adhoc: bool = False,
) -> tuple[Workspace | None, list[Problem]]:
    """Load and check everything; return the model (None if unusable) and all problems found.

    ``files`` restricts which manifests are read (default: the workspace's manifest paths).
    With ``allow_adhoc``, a directory without ``evtctl.yaml`` above it is checked with defaults.
    """
    # Loading allocates millions of small acyclic objects; cyclic GC passes over them are pure
    # overhead (a third of the time on the 10,000-topic benchmark), and the model lives on.
    enabled = gc.isenabled()
    gc.disable()
    try:
        loaded = _check_workspace(start, environment=environment, files=files, allow_adhoc=allow_adhoc)
        lifetime.keep(loaded)
        return loaded
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _check_workspace(
    start: Path | None,
    *,
    environment: str | None,
    files: Sequence[Path] | None,
    allow_adhoc: bool,
) -> tuple[Workspace | None, list[Problem]]:
    root = find_root(start)
    if root is None:
        if not allow_adhoc or start is None:
            where = (start or Path.cwd()).resolve()
            raise UsageError(
                f"no {CONFIG_NAME} found in {display(where)} or any parent directory",
                help=f"run inside a workspace, or create {CONFIG_NAME} with `apiVersion: {API_VERSION}`"
                f" and `kind: {WORKSPACE_KIND}`",
            )
        base = start.resolve()
        root = base if base.is_dir() else base.parent
        loaded = default_config(root)
        if files is None:
            files = discover([base])
    else:
        loaded = load_config(root)
    problems = list(loaded.problems)
    env = _environment(loaded, environment)
    manifest_files = list(files) if files is not None else discover(loaded.config.manifest_paths)
    broken: set[tuple[str, str]] = set()
    cache_dir = loaded.config.state_dir / "cache" if (root / CONFIG_NAME).is_file() else None
    documents, doc_cache = _check_documents(
        manifest_files,
        loaded,
        env,
        problems,
        broken,
        cache_dir / "manifests" if cache_dir else None,
        files is None,
    )
    schemas = SchemaFileChecker(loaded.config.schema_paths, cache_dir / "schemas.json" if cache_dir else None)
    schemas.prefetch(bound_schema_files(documents, root))
    built = build_documents(documents, root, schemas)
    schemas.save()
    acls = link(built, broken)
    if doc_cache is not None:
        doc_cache.finish()
    problems.extend(built.problems)
    problems.sort(key=_problem_order)
    workspace = Workspace(
        root=root,
        config=loaded.config,
        environment=environment,
        variables={**loaded.variables, **(env.variables if env else {})},
        topics=tuple(built.topics),
        subjects=tuple(built.subjects),
        services=tuple(built.services),
        consumer_groups=tuple(built.consumer_groups),
        principals=tuple(built.principals),
        access_policies=tuple(built.access_policies),
        acls=tuple(acls),
        quotas=tuple(built.quotas),
        tenants=tuple(built.tenants),
        files=tuple(manifest_files),
        contracts=tuple(c.contract for c in built.contracts),
        event_examples=tuple(e.examples for e in built.event_examples),
        _index=built.index,
        schema_texts=schemas.texts,
    )
    return workspace, problems


def _problem_order(p: Problem) -> tuple[str, int, int]:
    loc = p.location
    return (loc.file or "", loc.line or 0, loc.col or 0)


def load_workspace(start: Path | None = None, *, environment: str | None = None) -> Workspace:
    """The checked, frozen workspace found from ``start`` (default cwd); raises on any problem."""
    workspace, problems = check_workspace(start, environment=environment)
    if problems or workspace is None:
        raise WorkspaceInvalid(problems)
    return workspace


__all__ = ["Kind", "WorkspaceInvalid", "check_workspace", "discover", "load_workspace"]
