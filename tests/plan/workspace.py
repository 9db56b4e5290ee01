"""Build small throwaway workspaces (evtctl.yaml, manifests, schema files) for plan tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


class Ws:
    def __init__(self, root: Path, bootstrap: str, registry_url: str | None, prefix: str) -> None:
        self.root = root
        self.prefix = prefix
        self.docs: dict[str, list[dict[str, Any]]] = {}
        (root / "topology").mkdir(parents=True, exist_ok=True)
        (root / "schemas").mkdir(exist_ok=True)
        context: dict[str, Any] = {"kind": "kafka", "bootstrapServers": [bootstrap]}
        if registry_url:
            context["registryUrl"] = registry_url
        self.config: dict[str, Any] = {
            "apiVersion": "evtctl/v1",
            "kind": "Workspace",
            "metadata": {"name": "test"},
            "spec": {
                "defaultContext": "test",
                "contexts": {"test": context},
                "managed": {"tenantPrefixes": [prefix]},
            },
        }
        self.write()

    def write(self) -> None:
        (self.root / "evtctl.yaml").write_text(yaml.safe_dump(self.config, sort_keys=False))
        for old in (self.root / "topology").glob("*.yaml"):
            old.unlink()
        for name, docs in self.docs.items():
            (self.root / "topology" / f"{name}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def add(
        self, kind: str, name: str, spec: dict[str, Any] | None, *, file: str = "main", **meta: Any
    ) -> None:
        doc: dict[str, Any] = {"apiVersion": "evtctl/v1", "kind": kind, "metadata": {"name": name, **meta}}
        if spec is not None:
            doc["spec"] = spec
        docs = self.docs.setdefault(file, [])
        docs[:] = [d for d in docs if not (d["kind"] == kind and d["metadata"]["name"] == name)]
        docs.append(doc)
        self.write()

    def remove(self, kind: str, name: str) -> None:
        for docs in self.docs.values():
            docs[:] = [d for d in docs if not (d["kind"] == kind and d["metadata"]["name"] == name)]
        self.write()

    def topic(self, base: str, partitions: int = 1, **configs: Any) -> str:
        name = self.name(base)
        spec: dict[str, Any] = {"partitions": partitions, "replicationFactor": 1}
        if configs:
            spec["configs"] = {k.replace("_", "."): v for k, v in configs.items()}
        self.add("Topic", name, spec)
        return name

    def schema(self, filename: str, text: str) -> str:
        (self.root / "schemas" / filename).write_text(text)
        return f"schemas/{filename}"

    def load(self) -> Any:
        from evtctl.workspace import load_workspace

        return load_workspace(self.root)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "evtctl", *args, "--workspace", str(self.root)],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
        )


def avro_record(name: str, *fields: tuple[str, Any]) -> str:
    import json

    out = []
    for fname, ftype in fields:
        field: dict[str, Any] = {"name": fname, "type": ftype}
        if isinstance(ftype, list) and "null" in ftype:
            field["default"] = None
        out.append(field)
    return json.dumps({"type": "record", "name": name, "namespace": "com.example", "fields": out}, indent=2)
