"""Registry semantics (Confluent Schema Registry rules) over the durable state.

Everything here is transport-free: methods take decoded values and return JSON-ready values or
raise :class:`~evtctl.broker.registry.errors.RegistryHTTPError`. Writes go through
:meth:`Registry._commit`, which appends to the log (fsync) *before* the in-memory state changes,
so nothing is acknowledged that a ``kill -9`` could lose.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from evtctl.broker.registry import errors
from evtctl.broker.registry.schemas import parse, resolve_references, schema_type_of, source_text
from evtctl.broker.registry.store import (
    DEFAULT_COMPATIBILITY,
    DEFAULT_MODE,
    Reference,
    RegistryLog,
    RegistryState,
    StoredSchema,
    StoredVersion,
    schema_record,
)
from evtctl.compat import LEVELS, ParsedSchema, check_compatibility

T = TypeVar("T")

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
MAX_VERSION = 2**31 - 1
GUID_NAMESPACE = uuid.UUID("6f1c5b8e-3d0a-4f6e-9c39-1d2a7e0b5c41")


def parse_version(raw: str | int) -> int | None:
    """A version id, or None for ``latest`` (also spelled ``-1``); 42202 otherwise."""
    text = str(raw).strip()
    if text.lower() == "latest" or text == "-1":
        return None
    try:
        value = int(text)
    except ValueError:
        raise errors.invalid_version(raw) from None
    if not 1 <= value <= MAX_VERSION:
        raise errors.invalid_version(raw)
    return value


def parse_references(raw: object) -> tuple[Reference, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise errors.unprocessable("references must be a list of {name, subject, version} objects")
    refs: list[Reference] = []
    for item in raw:
        if not isinstance(item, dict):
            raise errors.unprocessable("each reference must be an object with name, subject and version")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name or not isinstance(subject, str) or not subject:
            raise errors.unprocessable("a reference needs a non-empty name and subject")
        if isinstance(version, bool) or not isinstance(version, int | str):
            raise errors.unprocessable(f"reference '{name}' needs an integer version")
        resolved = parse_version(version)
        refs.append(Reference(name, subject, -1 if resolved is None else resolved))
    return tuple(refs)


def schema_json(stored: StoredSchema, *, fmt: str | None = None, text: str | None = None) -> dict[str, Any]:
    """The ``schema``/``schemaType``/``references`` part of answers, in Confluent's shape
    (``schemaType`` and ``references`` are left out for AVRO and when empty)."""
    out: dict[str, Any] = {"schema": stored.text if text is None else text}
    if stored.schema_type != "AVRO":
        out["schemaType"] = stored.schema_type
    if stored.references:
        out["references"] = [r.to_json() for r in stored.references]
    return out


class Registry:
    def __init__(self, data_dir: Path) -> None:
        self.log = RegistryLog(data_dir)
        self.state = RegistryState()
        self._lock = asyncio.Lock()
        self._parsed: dict[int, ParsedSchema] = {}
        # Parsing, compatibility checks and protoc take milliseconds to seconds for big schemas; they
        # run on one worker thread so the event loop (shared with the Kafka broker) keeps serving.
        # Registry state is only read and written on the loop; the worker gets plain values.
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-cpu")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        self.state = await asyncio.to_thread(self.log.open)

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self.log.close)
        self._cpu.shutdown(wait=False, cancel_futures=True)

    async def _commit(self, rec: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self.log.append, rec)
        except OSError as exc:
            raise errors.store_error(str(exc)) from exc
        self.state.apply(rec)

    # -- lookups --------------------------------------------------------------------------------
    def _versions(self, subject: str, *, deleted: bool) -> list[StoredVersion]:
        versions = self.state.subjects.get(subject, {})
        return [versions[v] for v in sorted(versions) if deleted or not versions[v].deleted]

    def _require_subject(self, subject: str, *, deleted: bool) -> list[StoredVersion]:
        versions = self._versions(subject, deleted=deleted)
        if not versions:
            raise errors.subject_not_found(subject)
        return versions

    def _version(self, subject: str, raw: str | int, *, deleted: bool) -> StoredVersion:
        wanted = parse_version(raw)
        versions = self._require_subject(subject, deleted=deleted)
        if wanted is None:
            return versions[-1]
        for sv in versions:
            if sv.version == wanted:
                return sv
        raise errors.version_not_found(wanted)

    def _schema_at(self, subject: str, version: int) -> StoredSchema | None:
        """Target of a reference: a registered (not hard-deleted) version; -1 means latest."""
        if version == -1:
            live = self._versions(subject, deleted=False)
            return self.state.schemas[live[-1].schema_id] if live else None
        # A pinned version stays resolvable while soft-deleted: schemas referring to it must still parse.
        for sv in self._versions(subject, deleted=True):
            if sv.version == version:
                return self.state.schemas[sv.schema_id]
        return None

    async def _parsed_schema(self, stored: StoredSchema) -> ParsedSchema:
        hit = self._parsed.get(stored.id)
        if hit is None:
            refs = resolve_references(stored.references, self._schema_at)
            hit = await self._run(parse, stored.schema_type, stored.text, refs, f"schema id {stored.id}")
            self._parsed[stored.id] = hit
        return hit

    async def _history(self, versions: Sequence[StoredVersion]) -> list[ParsedSchema]:
        return [await self._parsed_schema(self.state.schemas[sv.schema_id]) for sv in versions]

    async def _candidate(
        self, subject: str, body: Mapping[str, Any], *, normalize: bool
    ) -> tuple[str, str, tuple[Reference, ...], ParsedSchema]:
        raw = body.get("schema")
        if not isinstance(raw, str):
            raise errors.unprocessable("the request needs a 'schema' string field")
        schema_type = schema_type_of(body.get("schemaType"))
        refs = parse_references(body.get("references"))
        # "latest" in a reference is pinned to the concrete version at registration time
        refs = tuple(self._pin(r) for r in refs)
        ref_texts = resolve_references(refs, self._schema_at)
        text, parsed = await self._run(_parse_candidate, schema_type, raw, ref_texts, f"subject '{subject}'")
        if normalize or self._config(subject).get("normalize") is True:
            text = parsed.canonical
        return schema_type, text, refs, parsed

    def _pin(self, ref: Reference) -> Reference:
        if ref.version != -1:
            return ref
        versions = self._versions(ref.subject, deleted=False)
        if not versions:
            raise errors.invalid_schema(f"Invalid schema: reference '{ref.name}' points to unknown subject")
        return Reference(ref.name, ref.subject, versions[-1].version)

    # -- config and mode ------------------------------------------------------------------------
    def _config(self, subject: str | None) -> dict[str, Any]:
        if subject is not None and subject in self.state.configs:
            return self.state.configs[subject]
        return self.state.configs.get(None, {})

    def level(self, subject: str | None) -> str:
        level = self._config(subject).get("compatibilityLevel")
        return str(level) if level else DEFAULT_COMPATIBILITY

    def mode(self, subject: str | None) -> str:
        if subject is not None and subject in self.state.modes:
            return self.state.modes[subject]
        return self.state.modes.get(None, DEFAULT_MODE)

    def get_config(self, subject: str | None, *, default_to_global: bool) -> dict[str, Any]:
        if subject is not None and subject not in self.state.configs:
            if not default_to_global:
                raise errors.subject_compat_not_configured(subject)
            subject = None
        config = dict(self.state.configs.get(subject, {}))
        config.setdefault("compatibilityLevel", DEFAULT_COMPATIBILITY)
        return config

    def subject_configs(self) -> dict[str, dict[str, Any]]:
        """Every subject-level config, each as ``get_config(subject)`` answers it (extension)."""
        return {s: self.get_config(s, default_to_global=False) for s in self.state.configs if s is not None}

    async def set_config(self, subject: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        level = body.get("compatibility", body.get("compatibilityLevel"))
        normalize = body.get("normalize")
        if level is None and normalize is None:
            raise errors.invalid_compatibility_level(None)
        if level is not None and (not isinstance(level, str) or level.upper() not in LEVELS):
            raise errors.invalid_compatibility_level(level)
        if normalize is not None and not isinstance(normalize, bool):
            raise errors.unprocessable("normalize must be true or false")
        async with self._lock:
            config = dict(self.state.configs.get(subject, {}))
            answer: dict[str, Any] = {}
            if level is not None:
                config["compatibilityLevel"] = answer["compatibility"] = level.upper()
            if normalize is not None:
                config["normalize"] = answer["normalize"] = normalize
            await self._commit({"op": "config", "subject": subject, "config": config})
        return answer

    async def delete_config(self, subject: str | None) -> dict[str, Any]:
        async with self._lock:
            if subject is not None and subject not in self.state.configs:
                if subject not in self.state.subjects:
                    raise errors.subject_not_found(subject)
                raise errors.subject_compat_not_configured(subject)
            old = dict(self.state.configs.get(subject, {}))
            old.setdefault("compatibilityLevel", DEFAULT_COMPATIBILITY)
            await self._commit({"op": "config", "subject": subject, "config": None})
        return old

    def get_mode(self, subject: str | None, *, default_to_global: bool) -> dict[str, Any]:
        if subject is not None and subject not in self.state.modes:
            if not default_to_global:
                raise errors.subject_mode_not_configured(subject)
            subject = None
        return {"mode": self.state.modes.get(subject, DEFAULT_MODE)}

    async def set_mode(self, subject: str | None, body: Mapping[str, Any], *, force: bool) -> dict[str, Any]:
        mode = body.get("mode")
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode(mode)
        mode = mode.upper()
        async with self._lock:
            if mode == "IMPORT" and not force:
                # Import keeps ids from elsewhere: only safe where no id has been handed out yet.
                occupied = self.state.subjects if subject is None else self.state.subjects.get(subject)
                if occupied:
                    raise errors.operation_not_permitted(
                        "Cannot import since found existing subjects"
                        if subject is None
                        else f"Cannot import since subject '{subject}' has existing versions"
                    )
            await self._commit({"op": "mode", "subject": subject, "mode": mode})
        return {"mode": mode}

    async def delete_mode(self, subject: str) -> dict[str, Any]:
        async with self._lock:
            if subject not in self.state.modes:
                if subject not in self.state.subjects:
                    raise errors.subject_not_found(subject)
                raise errors.subject_mode_not_configured(subject)
            old = self.state.modes[subject]
            await self._commit({"op": "mode", "subject": subject, "mode": None})
        return {"mode": old}

    def _writable(self, subject: str) -> None:
        mode = self.mode(subject)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise errors.operation_not_permitted(f"Subject {subject} is in read-only mode")

    # -- subjects and versions ------------------------------------------------------------------
    def subjects(self, *, deleted: bool, deleted_only: bool, prefix: str | None) -> list[str]:
        out: list[str] = []
        for subject, versions in sorted(self.state.subjects.items()):
            if prefix and not subject.startswith(prefix):
                continue
            live = any(not sv.deleted for sv in versions.values())
            if deleted_only:
                if not live:
                    out.append(subject)
            elif live or deleted:
                out.append(subject)
        return out

    def versions(self, subject: str, *, deleted: bool, deleted_only: bool) -> list[int]:
        versions = self._require_subject(subject, deleted=deleted or deleted_only)
        return [sv.version for sv in versions if not deleted_only or sv.deleted]

    def version_json(self, sv: StoredVersion, *, text: str | None = None) -> dict[str, Any]:
        stored = self.state.schemas[sv.schema_id]
        out: dict[str, Any] = {
            "subject": sv.subject,
            "version": sv.version,
            "id": stored.id,
            "guid": stored.guid,
        }
        out.update(schema_json(stored, text=text))
        return out

    async def get_version(
        self, subject: str, version: str, *, deleted: bool, fmt: str | None
    ) -> dict[str, Any]:
        sv = self._version(subject, version, deleted=deleted)
        text = await self.formatted(self.state.schemas[sv.schema_id], fmt)
        return self.version_json(sv, text=text)

    async def get_version_schema(self, subject: str, version: str, *, deleted: bool, fmt: str | None) -> str:
        sv = self._version(subject, version, deleted=deleted)
        return await self.formatted(self.state.schemas[sv.schema_id], fmt)

    async def formatted(self, stored: StoredSchema, fmt: str | None) -> str:
        """``format=serialized`` gives Protobuf as base64 ``FileDescriptorProto`` (what Confluent's
        Python/Go deserializers ask for); other formats are the stored text."""
        if fmt != "serialized" or stored.schema_type != "PROTOBUF":
            return stored.text
        deps = resolve_references(stored.references, self._schema_at)
        return await self._run(_serialized_descriptor, f"evtctl_schema_{stored.id}.proto", stored.text, deps)

    def referenced_by(self, subject: str, version: str) -> list[int]:
        sv = self._version(subject, version, deleted=True)
        return self._referrers(sv.subject, sv.version, include_deleted=False)

    def _referrers(self, subject: str, version: int, *, include_deleted: bool) -> list[int]:
        ids: set[int] = set()
        for versions in self.state.subjects.values():
            for other in versions.values():
                if other.deleted and not include_deleted:
                    continue
                for ref in self.state.schemas[other.schema_id].references:
                    if ref.subject == subject and ref.version == version:
                        ids.add(other.schema_id)
        return sorted(ids)

    async def lookup(
        self, subject: str, body: Mapping[str, Any], *, normalize: bool, deleted: bool
    ) -> dict[str, Any]:
        self._require_subject(subject, deleted=deleted)
        schema_type, _text, refs, parsed = await self._candidate(subject, body, normalize=normalize)
        key = (schema_type, parsed.fingerprint, refs)
        # read again after the await: a concurrent delete may have changed the subject
        for sv in reversed(self._require_subject(subject, deleted=deleted)):
            if self.state.schemas[sv.schema_id].key == key:
                return self.version_json(sv)
        raise errors.schema_not_found()

    async def register(self, subject: str, body: Mapping[str, Any], *, normalize: bool) -> dict[str, Any]:
        if not subject or any(ord(c) < 32 for c in subject):
            raise errors.invalid_subject(subject)
        explicit_id = body.get("id")
        explicit_version = body.get("version")
        for name, value in (("id", explicit_id), ("version", explicit_version)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise errors.unprocessable(f"{name} must be an integer")
        if explicit_id is not None and explicit_id < 0:
            explicit_id = None  # Confluent clients send -1 for "no id"
        if explicit_version is not None and explicit_version < 0:
            explicit_version = None
        async with self._lock:
            mode = self.mode(subject)
            importing = explicit_id is not None
            if importing and mode != "IMPORT":
                raise errors.operation_not_permitted(f"Subject {subject} is not in import mode")
            if not importing and mode != "READWRITE":
                raise errors.operation_not_permitted(f"Subject {subject} is not in read-write mode")
            schema_type, text, refs, parsed = await self._candidate(subject, body, normalize=normalize)
            key = (schema_type, parsed.fingerprint, refs)
            live = self._versions(subject, deleted=False)
            for sv in live:
                if self.state.schemas[sv.schema_id].key == key:
                    if importing and explicit_id != sv.schema_id:
                        raise errors.id_does_not_match(
                            f"Schema already registered with id {sv.schema_id} "
                            f"instead of input id {explicit_id}"
                        )
                    return {"id": sv.schema_id}
            if not importing:
                await self._check_or_raise(subject, parsed, live)
            existing = self.state.ids_by_key.get(key)
            if importing:
                assert explicit_id is not None
                taken = self.state.schemas.get(explicit_id)
                if taken is not None and taken.key != key:
                    # Confluent answers OPERATION_NOT_PERMITTED here (42207 is for the case above)
                    raise errors.operation_not_permitted(
                        f"Overwrite new schema with id {explicit_id} is not permitted."
                    )
                schema_id = explicit_id
            else:
                schema_id = existing if existing is not None else self.state.max_id + 1
            all_versions = self._versions(subject, deleted=True)
            next_version = all_versions[-1].version + 1 if all_versions else 1
            if explicit_version is not None:
                if not importing and explicit_version != next_version:
                    raise errors.invalid_schema("Version is not one more than previous version")
                if any(sv.version == explicit_version for sv in all_versions):
                    raise errors.operation_not_permitted(
                        f"Subject {subject} already has a version {explicit_version}"
                    )
                version = explicit_version
            else:
                version = next_version
            new_schema = None
            if schema_id not in self.state.schemas:
                new_schema = schema_record(
                    StoredSchema(
                        schema_id,
                        schema_type,
                        text,
                        refs,
                        parsed.fingerprint,
                        str(uuid.uuid5(GUID_NAMESPACE, f"{schema_type}:{parsed.fingerprint}:{refs}")),
                    )
                )
            rec: dict[str, Any] = {
                "op": "register",
                "subject": subject,
                "version": version,
                "id": schema_id,
                "schema": new_schema,
            }
            # As Confluent: registering a schema again after soft-deleting it replaces the soft-deleted
            # version(s) with the same id (they are removed), unless another schema references them.
            replaced = [
                sv.version
                for sv in all_versions
                if sv.deleted
                and sv.schema_id == schema_id
                and not self._referrers(subject, sv.version, include_deleted=True)
            ]
            if replaced:
                rec["replaces"] = replaced
            await self._commit(rec)
            self._parsed.setdefault(schema_id, parsed)
        return {"id": schema_id}

    async def _check_or_raise(
        self, subject: str, candidate: ParsedSchema, live: Sequence[StoredVersion]
    ) -> None:
        level = self.level(subject)
        if level == "NONE" or not live:
            return
        history = await self._history(live)
        report = await self._run(check_compatibility, candidate, history, level)
        if not report.compatible:
            details = "; ".join(v.message for v in report.violations)
            raise errors.incompatible(
                f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
                f"details: [{details}] (compatibility level {level})"
            )

    async def test_compatibility(
        self,
        subject: str,
        version: str | None,
        body: Mapping[str, Any],
        *,
        normalize: bool,
        verbose: bool,
    ) -> dict[str, Any]:
        """``version`` None: against the subject's history as its level says; else that one version."""
        wanted = None if version is None else parse_version(version)
        _st, _text, _refs, candidate = await self._candidate(subject, body, normalize=normalize)
        level = self.level(subject)
        live = self._versions(subject, deleted=False)
        if version is None:
            targets = live
        elif wanted is None:
            # "latest" of an empty subject: nothing to be incompatible with (Confluent answers true)
            targets = live[-1:]
        else:
            targets = [self._version(subject, wanted, deleted=False)]
        history = await self._history(targets)
        if level == "NONE" or not history:
            out: dict[str, Any] = {"is_compatible": True}
        else:
            report = await self._run(check_compatibility, candidate, history, level)
            out = {"is_compatible": report.compatible}
            if verbose:
                out["messages"] = [v.message for v in report.violations]
        if verbose:
            out.setdefault("messages", [])
        return out

    # -- deletes --------------------------------------------------------------------------------
    def _guard_references(self, subject: str, versions: Sequence[int], *, include_deleted: bool) -> None:
        for version in versions:
            ids = self._referrers(subject, version, include_deleted=include_deleted)
            if ids:
                raise errors.reference_exists(
                    f"One or more references exist to the schema {{subject={subject},version={version}}}: "
                    f"referenced by schema ids {ids}"
                )

    async def delete_subject(self, subject: str, *, permanent: bool) -> list[int]:
        async with self._lock:
            every = self._versions(subject, deleted=True)
            if not every:
                raise errors.subject_not_found(subject)
            self._writable(subject)
            live = [sv.version for sv in every if not sv.deleted]
            if permanent:
                if live:
                    raise errors.subject_not_soft_deleted(subject)
                gone = [sv.version for sv in every]
                self._guard_references(subject, gone, include_deleted=True)
                await self._commit(
                    {"op": "hard_delete", "subject": subject, "versions": gone, "subject_gone": True}
                )
                self._forget(every)
                return gone
            if not live:
                raise errors.subject_soft_deleted(subject)
            self._guard_references(subject, live, include_deleted=False)
            await self._commit({"op": "soft_delete", "subject": subject, "versions": live})
            return live

    async def delete_version(self, subject: str, raw: str, *, permanent: bool) -> int:
        wanted = parse_version(raw)
        async with self._lock:
            every = self._versions(subject, deleted=True)
            if not every:
                raise errors.subject_not_found(subject)
            self._writable(subject)
            if wanted is None:
                pool = every if permanent else [sv for sv in every if not sv.deleted]
                if not pool:
                    raise errors.subject_not_found(subject)
                sv = pool[-1]
            else:
                found = [sv for sv in every if sv.version == wanted]
                if not found:
                    raise errors.version_not_found(wanted)
                sv = found[0]
            if permanent:
                if not sv.deleted:
                    raise errors.version_not_soft_deleted(subject, sv.version)
                self._guard_references(subject, [sv.version], include_deleted=True)
                await self._commit(
                    {
                        "op": "hard_delete",
                        "subject": subject,
                        "versions": [sv.version],
                        "subject_gone": len(every) == 1,
                    }
                )
                self._forget([sv])
            else:
                if sv.deleted:
                    raise errors.version_soft_deleted(subject, sv.version)
                self._guard_references(subject, [sv.version], include_deleted=False)
                await self._commit({"op": "soft_delete", "subject": subject, "versions": [sv.version]})
            return sv.version

    def _forget(self, versions: Sequence[StoredVersion]) -> None:
        """Drop parse caches of ids no version points to any more."""
        used = {sv.schema_id for vs in self.state.subjects.values() for sv in vs.values()}
        for sv in versions:
            if sv.schema_id not in used:
                self._parsed.pop(sv.schema_id, None)

    # -- schemas by id --------------------------------------------------------------------------
    def _id_versions(self, schema_id: int, *, deleted: bool) -> list[StoredVersion]:
        out = [self.state.subjects[s][v] for s, v in sorted(self.state.id_versions.get(schema_id, ()))]
        return [sv for sv in out if deleted or not sv.deleted]

    def stored_by_id(self, schema_id: int) -> StoredSchema:
        stored = self.state.schemas.get(schema_id)
        # Soft-deleted versions keep their id readable: consumers still need old writer schemas.
        if stored is None or not self._id_versions(schema_id, deleted=True):
            raise errors.schema_not_found(schema_id)
        return stored

    async def schema_by_id(self, schema_id: int, *, fmt: str | None, fetch_max_id: bool) -> dict[str, Any]:
        stored = self.stored_by_id(schema_id)
        out = schema_json(stored, text=await self.formatted(stored, fmt))
        out["guid"] = stored.guid
        if fetch_max_id:
            out["maxId"] = self.state.max_id
        return out

    async def schema_by_guid(self, guid: str, *, fmt: str | None) -> dict[str, Any]:
        schema_id = self.state.ids_by_guid.get(guid)
        if schema_id is None:
            raise errors.schema_not_found(guid)
        return await self.schema_by_id(schema_id, fmt=fmt, fetch_max_id=False)

    def subjects_by_id(self, schema_id: int, *, deleted: bool) -> list[str]:
        self.stored_by_id(schema_id)
        return sorted({sv.subject for sv in self._id_versions(schema_id, deleted=deleted)})

    def versions_by_id(self, schema_id: int, *, deleted: bool) -> list[dict[str, Any]]:
        self.stored_by_id(schema_id)
        return [
            {"subject": sv.subject, "version": sv.version}
            for sv in self._id_versions(schema_id, deleted=deleted)
        ]

    def list_schemas(
        self, *, prefix: str | None, deleted: bool, latest_only: bool, visible: Callable[[str], bool]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for subject in self.subjects(deleted=deleted, deleted_only=False, prefix=prefix):
            if not visible(subject):
                continue
            versions = self._versions(subject, deleted=deleted)
            for sv in versions[-1:] if latest_only else versions:
                out.append(self.version_json(sv))
        return out


def _parse_candidate(
    schema_type: str, raw: str, ref_texts: Mapping[str, str], origin: str
) -> tuple[str, ParsedSchema]:
    """(text to store, parsed schema); runs on the registry's worker thread."""
    text = source_text(schema_type, raw)
    return text, parse(schema_type, text, ref_texts, origin)


def _serialized_descriptor(name: str, text: str, deps: Mapping[str, str]) -> str:
    from evtctl.broker.registry.protobuf_text import text_to_descriptor, with_builtin_imports

    try:
        raw = text_to_descriptor(name, text, with_builtin_imports(text, deps))
    except ValueError as exc:
        raise errors.invalid_schema(f"Invalid schema: {exc}") from None
    return base64.b64encode(raw).decode("ascii")
