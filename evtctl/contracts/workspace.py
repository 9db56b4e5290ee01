"""Contracts in a workspace: pair every consumer contract with every producer of its topic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evtctl.compat import ParsedSchema, parse_schema_file
from evtctl.contracts.model import Contract, EventExamples
from evtctl.contracts.verify import Pairing, Producer, verify_pair
from evtctl.manifest.model import SchemaRef, SubjectBinding, Workspace
from evtctl.runtime.context import STANDARD_HEADERS


@dataclass(frozen=True, slots=True)
class ContractSet:
    contracts: tuple[Contract, ...]
    examples: tuple[EventExamples, ...]


def contract_set(workspace: Workspace) -> ContractSet:
    """The workspace's contracts and producer examples (manifest kinds ``Contract``, ``EventExamples``)."""
    return ContractSet(
        tuple(getattr(workspace, "contracts", ())), tuple(getattr(workspace, "event_examples", ()))
    )


def load_schema(ref: SchemaRef) -> ParsedSchema:
    references: Mapping[str, Path] = {r.name: r.file for r in ref.references if r.file is not None}
    return parse_schema_file(ref.file, ref.format.value, reference_paths=references)


def value_binding(workspace: Workspace, topic: str) -> SubjectBinding | None:
    return next((b for b in workspace.bindings_for(topic) if b.value is not None), None)


def producers_for(
    workspace: Workspace,
    contracts: ContractSet,
    topic: str,
    *,
    value_schema: ParsedSchema | None = None,
    key_schema: ParsedSchema | None = None,
) -> list[Producer]:
    """Every producer of ``topic`` with its schemas; ``value_schema``/``key_schema`` override the
    working tree's (a candidate under review)."""
    binding = value_binding(workspace, topic)
    key_binding = next((b for b in workspace.bindings_for(topic) if b.key is not None), None)
    value = value_schema
    if value is None and binding is not None and binding.value is not None:
        value = load_schema(binding.value)
    key = key_schema
    if key is None and key_binding is not None and key_binding.key is not None:
        key = load_schema(key_binding.key)
    out: list[Producer] = []
    for service in workspace.producers_of(topic):
        production = next(p for p in service.produces if p.topic == topic)
        samples = [e for e in contracts.examples if e.producer == service.metadata.name and e.topic == topic]
        headers: tuple[str, ...] = STANDARD_HEADERS
        for sample in samples:
            if sample.headers is not None:
                headers = sample.headers
        out.append(
            Producer(
                name=service.metadata.name,
                topic=topic,
                value_schema=value,
                value_record=binding.value.record_name if binding is not None and binding.value else None,
                key_schema=key,
                key_record=key_binding.key.record_name
                if key_binding is not None and key_binding.key
                else None,
                partition_key=production.partition_key,
                headers=headers,
                examples=tuple(e for sample in samples for e in sample.examples),
            )
        )
    return out


def verify_workspace(
    workspace: Workspace,
    contracts: ContractSet,
    *,
    consumer: str | None = None,
    producer: str | None = None,
    overrides: Mapping[str, tuple[ParsedSchema | None, ParsedSchema | None]] | None = None,
) -> list[Pairing]:
    """Every (producer, contract) pairing, optionally filtered; ``overrides`` maps a topic to
    candidate (value, key) schemas."""
    pairings: list[Pairing] = []
    cache: dict[str, list[Producer]] = {}
    for contract in contracts.contracts:
        if consumer is not None and contract.consumer != consumer:
            continue
        if contract.topic not in cache:
            value, key = (overrides or {}).get(contract.topic, (None, None))
            cache[contract.topic] = producers_for(
                workspace, contracts, contract.topic, value_schema=value, key_schema=key
            )
        for prod in cache[contract.topic]:
            if producer is None or prod.name == producer:
                pairings.append(verify_pair(contract, prod))
    return pairings


def findings_for_candidate(
    workspace: Workspace,
    topic: str,
    value_schema: ParsedSchema | None,
    key_schema: ParsedSchema | None = None,
) -> list[Pairing]:
    """The pairings a candidate schema for ``topic`` breaks (used by ``schema check`` and ``plan``)."""
    contracts = contract_set(workspace)
    if not any(c.topic == topic for c in contracts.contracts):
        return []
    broken = verify_workspace(workspace, contracts, overrides={topic: (value_schema, key_schema)})
    return [p for p in broken if p.contract.topic == topic and not p.ok]
