"""Contracts written back as manifests (``evtctl contract import-pact``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from evtctl.contracts.model import CONTRACT_KIND, Contract, contract_to_spec

API_VERSION = "evtctl/v1"


def contract_document(contract: Contract) -> dict[str, object]:
    metadata: dict[str, object] = {"name": contract.name}
    if contract.owner:
        metadata["owner"] = contract.owner
    return {
        "apiVersion": API_VERSION,
        "kind": CONTRACT_KIND,
        "metadata": metadata,
        "spec": contract_to_spec(contract),
    }


def write_contract_manifests(contracts: Iterable[Contract], out_dir: Path) -> list[Path]:
    """One file per consumer, ``<consumer>.contracts.yaml``, documents sorted by name."""
    by_consumer: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_consumer.setdefault(contract.consumer, []).append(contract)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for consumer, own in sorted(by_consumer.items()):
        path = out_dir / f"{consumer}.contracts.yaml"
        docs = [contract_document(c) for c in sorted(own, key=lambda c: c.name)]
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(path)
    return written
