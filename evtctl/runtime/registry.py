"""Schema resolution for generated clients: writer schemas by id, own schema ids by lookup, cached.

The registry is reached through :class:`evtctl.registry.client.RegistryClient`. Both directions are
cached forever: a schema id is immutable in a Confluent registry, and so is the (subject, schema) ->
id binding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evtctl.registry.client import (
    SUBJECT_NOT_FOUND,
    VERSION_NOT_FOUND,
    RegisteredSchema,
    RegistryClient,
    RegistryError,
    SchemaById,
    SchemaReference,
)

MAX_REFERENCE_DEPTH = 32  # references of references ... deeper than this is refused
MAX_REFERENCES = 512  # distinct subject versions one schema may pull in

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WriterId:
    """The registry identity of the schema a producer writes with."""

    schema_id: int
    version: int | None  # None when registered without a lookup (the registry only returned the id)


class SchemaNotRegisteredError(LookupError):
    """The producer's schema is not registered under its subject and auto-registration is off."""


class UnresolvedReferenceError(LookupError):
    """A schema's reference names a subject version the registry does not have (or too many / too
    deeply nested references)."""


class SchemaCache:
    """Thread-safe memo of registry answers and of objects parsed from them."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._by_id: dict[int, SchemaById] = {}
        self._writer_ids: dict[tuple[str, str, str], WriterId] = {}
        self._parsed: dict[tuple[str, int], object] = {}
        self._versions: dict[tuple[str, int], RegisteredSchema] = {}

    def schema(self, schema_id: int) -> SchemaById:
        """The schema registered under ``schema_id`` (one HTTP request per id per process)."""
        with self._lock:
            found = self._by_id.get(schema_id)
        if found is None:
            found = self.registry.schema_by_id(schema_id)
            with self._lock:
                self._by_id[schema_id] = found
        return found

    def version(self, subject: str, version: int) -> RegisteredSchema:
        """One subject version, soft-deleted ones included (as Confluent's clients resolve references:
        a pinned version stays readable for the schemas that use it); one request per process."""
        key = (subject, version)
        with self._lock:
            found = self._versions.get(key)
        if found is None:
            found = self.registry.get_version(subject, version, deleted=True)
            with self._lock:
                self._versions[key] = found
        return found

    def resolve_references(self, references: Sequence[SchemaReference]) -> list[tuple[str, str]]:
        """(reference name, schema text) of every schema ``references`` need, references of
        references included, each before the schemas that use it; every subject version is fetched
        once. A subject version the registry does not have raises :class:`UnresolvedReferenceError`;
        other registry failures propagate as :class:`RegistryError`."""
        out: list[tuple[str, str]] = []
        done: set[tuple[str, int]] = set()

        def visit(ref: SchemaReference, chain: tuple[str, ...]) -> None:
            key = (ref.subject, ref.version)
            if key in done:
                return
            where = f"reference {ref.name!r} -> subject {ref.subject!r} version {ref.version}"
            if len(chain) >= MAX_REFERENCE_DEPTH:
                raise UnresolvedReferenceError(f"{where}: references nest deeper than {MAX_REFERENCE_DEPTH}")
            if len(done) >= MAX_REFERENCES:
                raise UnresolvedReferenceError(f"{where}: more than {MAX_REFERENCES} referenced schemas")
            done.add(key)  # also stops cycles
            try:
                found = self.version(ref.subject, ref.version)
            except RegistryError as exc:
                if exc.error_code not in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                    raise
                via = f" (via {' -> '.join(chain)})" if chain else ""
                raise UnresolvedReferenceError(
                    f"{where}{via} cannot be fetched: the registry does not have it"
                ) from exc
            for inner in found.references:
                visit(inner, (*chain, ref.subject))
            out.append((ref.name, found.schema))

        for ref in references:
            visit(ref, ())
        return out

    def parsed(self, kind: str, schema_id: int, parse: Callable[[SchemaById], T]) -> T:
        """``parse(schema)`` memoised per (kind, id): each writer schema is parsed once."""
        key = (kind, schema_id)
        with self._lock:
            if key in self._parsed:
                return self._parsed[key]  # type: ignore[return-value]
        value = parse(self.schema(schema_id))
        with self._lock:
            self._parsed[key] = value
        return value

    def writer_id(
        self,
        subject: str,
        schema: str,
        schema_type: str,
        *,
        auto_register: bool,
        references: Sequence[tuple[str, str, int | None]] = (),
    ) -> WriterId:
        """The id of ``schema`` under ``subject``: looked up, or registered when allowed."""
        key = (subject, schema_type, schema)
        with self._lock:
            found = self._writer_ids.get(key)
        if found is not None:
            return found
        refs = [self._reference(name, ref_subject, version) for name, ref_subject, version in references]
        registered = self.registry.lookup(subject, schema, schema_type, refs)
        if registered is not None:
            found = WriterId(registered.id, registered.version)
        elif auto_register:
            found = WriterId(self.registry.register(subject, schema, schema_type, refs), None)
        else:
            raise SchemaNotRegisteredError(
                f"the generated {schema_type} schema is not registered under subject {subject!r}; "
                "run `evtctl apply` (or pass auto_register=True in development)"
            )
        with self._lock:
            self._writer_ids[key] = found
        return found

    def _reference(self, name: str, subject: str, version: int | None) -> SchemaReference:
        if version is None:  # "latest" in the manifest: pinned to what the registry holds now
            latest = self.registry.get_latest(subject)
            if latest is None:
                raise SchemaNotRegisteredError(f"referenced subject {subject!r} is not registered")
            version = latest.version
        return SchemaReference(name=name, subject=subject, version=version)


def connect_registry(url: str, *, username: str | None = None, password: str | None = None) -> SchemaCache:
    """A cached registry connection for generated clients."""
    return SchemaCache(RegistryClient(url, username=username, password=password))
