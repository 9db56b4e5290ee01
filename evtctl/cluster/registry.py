"""The schema-registry backend over the Confluent REST API (evtctl.registry.client).

Live subjects are read with ``GET /schemas`` (every version of every subject, with ids and
references, in one call, paged with ``offset``/``limit``) plus one ``GET /subjects`` cross-check
and ``GET /config`` (global level), the three concurrently;
registries without ``/schemas`` (404/405) are read per subject on a thread pool. Compatibility
levels: evtctl's registry answers every subject level with the global one (``GET
/config?subjectConfigs=true``, a documented extension); other registries ignore the parameter, and
there each level is one ``GET /config/{subject}`` (the Confluent API has no bulk form), read only for
the subjects the caller asks for (declared or managed), concurrently on the pool.
``round_trips`` counts requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from evtctl.cluster.connection import ClusterConfig
from evtctl.errors import BackendError
from evtctl.plan.schemas import canonical
from evtctl.plan.state import SchemaRef, SchemaVersion, SubjectState

POOL_SIZE = 16
PAGE = 10_000  # rows per GET /schemas page: one page for any ordinary registry


class RegistryBackend:
    def __init__(self, config: ClusterConfig) -> None:
        if not config.registry_url:
            raise BackendError("the context has no registry URL", help="set registry_url in the context")
        self.config = config
        self.url = config.registry_url
        self._http: Any = None
        self._lock = threading.Lock()
        self._bulk_levels: dict[str, str | None] | None = None
        self.round_trips = 0
        self.level_reads = 0  # of round_trips: the concurrent GET /config/{subject}

    @property
    def _client(self) -> Any:
        """The HTTP client, created on first use (a plan whose reads another process made never
        imports httpx)."""
        with self._lock:
            if self._http is None:
                from evtctl.registry.client import RegistryClient

                self._http = RegistryClient(
                    self.url,
                    username=self.config.registry_username,
                    password=self.config.registry_password,
                    timeout=self.config.timeout,
                )
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _req(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        with self._lock:
            self.round_trips += 1
        return self._client.request(method, path, params=params, body=body)

    # -- reads ---------------------------------------------------------------------------------

    def global_compatibility(self) -> str:
        """The global level. Asks evtctl's registry for every subject level in the same request
        (``subjectConfigs=true``, an extension other registries ignore); ``_bulk_levels`` holds them
        when the answer carries them, else None (levels are then read per subject)."""
        data = self._req("GET", "/config", params={"subjectConfigs": "true"})
        configs = data.get("evtctlSubjectConfigs") if isinstance(data, Mapping) else None
        self._bulk_levels = None
        if isinstance(configs, Mapping):
            self._bulk_levels = {}
            for subject, config in configs.items():
                level = config.get("compatibilityLevel") if isinstance(config, Mapping) else None
                self._bulk_levels[str(subject)] = None if level is None else str(level)
        return str(data.get("compatibilityLevel") or data.get("compatibility") or "BACKWARD")

    def _schemas_pages(self) -> list[Mapping[str, Any]] | None:
        """Every live version from ``GET /schemas``, or None when the registry lacks the endpoint.

        Paged with ``offset``/``limit``; a registry that ignores them answers everything in the
        first page (more rows than asked for) or repeats it, and either ends the loop."""
        from evtctl.registry.client import RegistryError

        rows: list[Mapping[str, Any]] = []
        seen: set[tuple[str, int]] = set()
        offset = 0
        while True:
            params = {"latestOnly": "false", "deleted": "false", "offset": offset, "limit": PAGE}
            try:
                page = self._req("GET", "/schemas", params=params)
            except RegistryError as err:
                if err.status not in (404, 405) or offset:
                    raise
                return None
            if not isinstance(page, list) or not all(isinstance(r, Mapping) and "subject" in r for r in page):
                return None if not offset else rows
            fresh = [r for r in page if (str(r["subject"]), int(r["version"])) not in seen]
            seen.update((str(r["subject"]), int(r["version"])) for r in fresh)
            rows.extend(fresh)
            if len(page) != PAGE or not fresh:
                return rows
            offset += PAGE

    def _all_versions(self) -> dict[str, list[Mapping[str, Any]]]:
        by_subject: dict[str, list[Mapping[str, Any]]] = {}
        with ThreadPoolExecutor(1) as side:
            listing = side.submit(self._req, "GET", "/subjects")  # concurrent with /schemas
            rows = self._schemas_pages()
            subjects = listing.result()
        if rows is not None:
            for r in rows:
                by_subject.setdefault(str(r["subject"]), []).append(r)
        # /schemas may omit subjects that exist (older registries): the subject list says which
        missing = [s for s in subjects if s not in by_subject]
        if missing:
            with ThreadPoolExecutor(POOL_SIZE) as pool:
                for subject, versions in zip(missing, pool.map(self._subject_versions, missing), strict=True):
                    by_subject[subject] = versions
        return by_subject

    def _subject_versions(self, subject: str) -> list[Mapping[str, Any]]:
        from urllib.parse import quote

        path = f"/subjects/{quote(subject, safe='')}/versions"
        return [self._req("GET", f"{path}/{v}") for v in self._req("GET", path)]

    def _subject_level(self, subject: str) -> str | None:
        from urllib.parse import quote

        from evtctl.registry.client import RegistryError

        with self._lock:
            self.level_reads += 1
        try:
            data = self._req("GET", f"/config/{quote(subject, safe='')}")
        except RegistryError as err:
            if err.status == 404:
                return None
            raise
        level = data.get("compatibilityLevel") or data.get("compatibility")
        return None if level is None else str(level)

    def read_subjects(
        self,
        only: Collection[str] | None = None,
        wants_level: Callable[[SubjectState], bool] | None = None,
    ) -> tuple[dict[str, SubjectState], str]:
        """Every subject (or just ``only``) with all versions, and the registry's global level.

        The subject-level compatibility is read, after the versions, for the subjects whose
        versions ``wants_level`` accepts (default all); the others carry None (no override seen)."""
        from evtctl.registry.client import RegistryError

        with ThreadPoolExecutor(1) as side:
            global_level = side.submit(self.global_compatibility)  # concurrent with the version reads
            if only is None:
                rows = self._all_versions()
            else:
                rows = {}
                for name in sorted(only):
                    try:
                        rows[name] = self._subject_versions(name)
                    except RegistryError as err:
                        if err.status != 404:
                            raise
            level = global_level.result()
        out: dict[str, SubjectState] = {}
        for name in sorted(rows):
            versions = []
            for r in sorted(rows[name], key=lambda r: int(r["version"])):
                st = str(r.get("schemaType") or "AVRO")
                refs = tuple(
                    SchemaRef(str(x["name"]), str(x["subject"]), int(x["version"]))
                    for x in r.get("references") or ()
                )
                text = str(r["schema"])
                versions.append(
                    SchemaVersion(int(r["version"]), st, text, canonical(st, text), refs, int(r["id"]))
                )
            out[name] = SubjectState(name, tuple(versions))
        leveled = [n for n, s in out.items() if wants_level is None or wants_level(s)]
        bulk = self._bulk_levels
        if bulk is not None:  # every subject level came with GET /config: no per-subject reads
            for name in leveled:
                out[name] = replace(out[name], compatibility=bulk.get(name))
            return out, level
        with ThreadPoolExecutor(POOL_SIZE) as pool:
            for name, subject_level in zip(leveled, pool.map(self._subject_level, leveled), strict=True):
                out[name] = replace(out[name], compatibility=subject_level)
        return out, level

    # -- writes --------------------------------------------------------------------------------

    def register(
        self, subject: str, version: Mapping[str, Any], resolved_refs: Sequence[Mapping[str, Any]]
    ) -> int:
        from urllib.parse import quote

        body: dict[str, Any] = {"schema": version["schema"]}
        if version.get("schema_type", "AVRO") != "AVRO":
            body["schemaType"] = version["schema_type"]
        if resolved_refs:
            body["references"] = [dict(r) for r in resolved_refs]
        data = self._req("POST", f"/subjects/{quote(subject, safe='')}/versions", body=body)
        return int(data["id"])

    def latest_version(self, subject: str) -> int | None:
        from urllib.parse import quote

        from evtctl.registry.client import RegistryError

        try:
            versions = self._req("GET", f"/subjects/{quote(subject, safe='')}/versions")
        except RegistryError as err:
            if err.status == 404:
                return None
            raise
        return max(int(v) for v in versions) if versions else None

    def set_compatibility(self, subject: str, level: str) -> None:
        from urllib.parse import quote

        self._req("PUT", f"/config/{quote(subject, safe='')}", body={"compatibility": level.upper()})

    def delete_subject(self, subject: str) -> None:
        from urllib.parse import quote

        self._req("DELETE", f"/subjects/{quote(subject, safe='')}")
