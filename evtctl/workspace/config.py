"""``evtctl.yaml``: finding the workspace root and reading its configuration.

The file is itself a manifest (``kind: Workspace``) checked against a published JSON Schema, so
its mistakes are reported like any other: located, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtctl.errors import Location
from evtctl.kafka.units import UnitError, parse_bytes
from evtctl.manifest.check import check_document
from evtctl.manifest.model import (
    API_VERSION,
    Context,
    ManagedScope,
    SaslMechanism,
    Security,
    WorkspaceConfig,
)
from evtctl.manifest.problems import Code, Problem
from evtctl.manifest.schemas import ENVIRONMENT_KIND, WORKSPACE_KIND
from evtctl.manifest.yamlpos import DEFAULT_MAX_FILE_BYTES, PosList, PosMap, load_file, locate

CONFIG_NAME = "evtctl.yaml"
STATE_DIR = ".evtctl"


@dataclass(slots=True)
class Environment:
    name: str
    variables: dict[str, Any]
    overlays: list[PosMap]
    file: str  # where it was declared (overlay positions point into this file)
    location: Location


@dataclass(slots=True)
class LoadedConfig:
    config: WorkspaceConfig
    variables: dict[str, Any]
    environments: dict[str, Environment]
    max_file_bytes: int
    environments_dir: Path
    problems: list[Problem] = field(default_factory=list)


def find_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) holding ``evtctl.yaml``."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return None


def display(path: Path) -> str:
    """How a file is shown in messages: relative to the cwd when below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _plain(value: Any) -> Any:
    """Strip position info (variables are plain values)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _environment(name: str, spec: PosMap, file: str, doc: PosMap, path: tuple[str, ...]) -> Environment:
    return Environment(
        name=name,
        variables=_plain(spec.get("variables") or {}),
        overlays=list(spec.get("overlays") or PosList(spec.mark)),
        file=file,
        location=locate(file, doc, path),
    )


def default_config(root: Path) -> LoadedConfig:
    """Configuration for a directory without ``evtctl.yaml`` (ad-hoc validation of files)."""
    return _build(root, PosMap((1, 1)), display(root / CONFIG_NAME), [])


def load_config(root: Path) -> LoadedConfig:
    path = root / CONFIG_NAME
    shown = display(path)
    documents, problems = load_file(path, shown)
    docs = [d for d in documents if d.data is not None]
    if not problems and len(docs) != 1:
        problems.append(
            Problem(
                f"{CONFIG_NAME} must hold exactly one document, found {len(docs)}",
                Location(shown, 1, 1),
                f"start it with `apiVersion: {API_VERSION}` and `kind: {WORKSPACE_KIND}`",
                Code.CONFIG,
            )
        )
    data = docs[0].data if docs and not problems else None
    if data is not None and not isinstance(data, PosMap):
        problems.append(Problem(f"{CONFIG_NAME} must be a mapping", Location(shown, 1, 1), code=Code.CONFIG))
        data = None
    if data is not None:
        schema_problems, usable = check_document(WORKSPACE_KIND, shown, data)
        problems.extend(schema_problems)
        if not usable:
            data = None
    loaded = _build(root, data if data is not None else PosMap((1, 1)), shown, problems)
    loaded.problems.extend(_load_environment_files(root, loaded))
    return loaded


def _build(root: Path, doc: PosMap, shown: str, problems: list[Problem]) -> LoadedConfig:
    spec: PosMap = doc.get("spec") or PosMap(doc.mark)
    paths = spec.get("paths") or {}
    manifests = tuple((root / p).resolve() for p in paths.get("manifests", ["topology"]))
    schemas = tuple((root / p).resolve() for p in paths.get("schemas", ["schemas"]))
    contexts: dict[str, Context] = {}
    for name, raw in (spec.get("contexts") or {}).items():
        sec = raw.get("security") or {}

        def path_of(key: str, sec: Any = sec) -> Path | None:
            return (root / sec[key]).resolve() if key in sec else None

        contexts[name] = Context(
            name=name,
            kind=raw["kind"],
            bootstrap_servers=tuple(raw.get("bootstrapServers") or ()),
            registry_url=raw.get("registryUrl"),
            security=Security(
                protocol=sec.get("protocol", "PLAINTEXT"),
                sasl_mechanism=SaslMechanism(sec["saslMechanism"]) if "saslMechanism" in sec else None,
                username_env=sec.get("usernameEnv"),
                password_env=sec.get("passwordEnv"),
                ca_file=path_of("caFile"),
                cert_file=path_of("certFile"),
                key_file=path_of("keyFile"),
                registry_username_env=sec.get("registryUsernameEnv"),
                registry_password_env=sec.get("registryPasswordEnv"),
            ),
            environment=raw.get("environment"),
            location=locate(shown, doc, ("spec", "contexts", name)),
        )
        if raw["kind"] == "kafka" and not raw.get("bootstrapServers"):
            problems.append(
                Problem(
                    f"context {name!r} has no bootstrapServers",
                    locate(shown, doc, ("spec", "contexts", name)),
                    "list at least one host:port, or use `kind: local` for the embedded broker",
                    Code.CONFIG,
                )
            )
    if "local" not in contexts:
        contexts["local"] = Context("local", "local", (), None, Security(), None, Location(shown))
    default_context = spec.get("defaultContext", "local")
    if default_context not in contexts:
        problems.append(
            Problem(
                f"defaultContext {default_context!r} is not a declared context",
                locate(shown, doc, ("spec", "defaultContext")),
                f"declared: {', '.join(sorted(contexts))}",
                Code.CONFIG,
            )
        )
        default_context = "local"
    environments = {
        name: _environment(name, env, shown, doc, ("spec", "environments", name))
        for name, env in (spec.get("environments") or {}).items()
    }
    for ctx in contexts.values():
        if ctx.environment is not None and ctx.environment not in environments and "environments" in spec:
            problems.append(
                Problem(
                    f"context {ctx.name!r} uses undeclared environment {ctx.environment!r}",
                    locate(shown, doc, ("spec", "contexts", ctx.name, "environment")),
                    f"declared: {', '.join(sorted(environments)) or '(none)'}",
                    Code.CONFIG,
                )
            )
    managed_raw = spec.get("managed") or {}
    managed = ManagedScope(
        tenant_prefixes=tuple(managed_raw.get("tenantPrefixes") or ()),
        include={k: tuple(v) for k, v in (managed_raw.get("include") or {}).items()},
        exclude={k: tuple(v) for k, v in (managed_raw.get("exclude") or {}).items()},
    )
    max_bytes = DEFAULT_MAX_FILE_BYTES
    limits = spec.get("limits") or {}
    if "maxFileBytes" in limits:
        try:
            max_bytes = parse_bytes(limits["maxFileBytes"])
        except UnitError as err:
            problems.append(
                Problem(str(err), locate(shown, doc, ("spec", "limits", "maxFileBytes")), code=Code.VALUE)
            )
    metadata = doc.get("metadata") or {}
    config = WorkspaceConfig(
        path=root / CONFIG_NAME,
        name=metadata.get("name", root.name),
        manifest_paths=manifests,
        schema_paths=schemas,
        default_context=default_context,
        contexts=contexts,
        environments=tuple(sorted(environments)),
        lint=_plain(spec.get("lint") or {}),
        lint_location=locate(shown, doc, ("spec", "lint")),
        managed=managed,
        state_dir=root / STATE_DIR,
    )
    env_dir = (root / paths.get("environments", "environments")).resolve()
    return LoadedConfig(
        config, _plain(spec.get("variables") or {}), environments, max_bytes, env_dir, problems
    )


def _load_environment_files(root: Path, loaded: LoadedConfig) -> list[Problem]:
    """``environments/<name>.yaml`` documents of ``kind: Environment``."""
    env_dir = loaded.environments_dir
    problems: list[Problem] = []
    if not env_dir.is_dir():
        return problems
    for path in sorted([*env_dir.glob("*.yaml"), *env_dir.glob("*.yml")]):
        shown = display(path)
        documents, file_problems = load_file(path, shown, max_bytes=loaded.max_file_bytes)
        problems.extend(file_problems)
        for document in documents:
            data = document.data
            if data is None:
                continue
            if not isinstance(data, PosMap) or data.get("kind") != ENVIRONMENT_KIND:
                problems.append(
                    Problem(
                        f"files under {display(env_dir)}/ hold `kind: {ENVIRONMENT_KIND}` documents",
                        Location(shown, document.mark[0], document.mark[1]),
                        code=Code.UNKNOWN_KIND,
                    )
                )
                continue
            doc_problems, usable = check_document(ENVIRONMENT_KIND, shown, data)
            problems.extend(doc_problems)
            if not usable:
                continue
            name = data["metadata"]["name"]
            if name in loaded.environments:
                problems.append(
                    Problem(
                        f"environment {name!r} is declared twice"
                        f" (also at {loaded.environments[name].location})",
                        locate(shown, data, ("metadata", "name")),
                        code=Code.DUPLICATE_RESOURCE,
                    )
                )
                continue
            loaded.environments[name] = _environment(name, data["spec"], shown, data, ())
    cfg = loaded.config
    if set(cfg.environments) != set(loaded.environments):
        import dataclasses

        loaded.config = dataclasses.replace(cfg, environments=tuple(sorted(loaded.environments)))
    return problems
