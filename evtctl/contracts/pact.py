"""Pact V4 asynchronous-message pacts, in and out.

Teams already on Pact keep their consumer tests; evtctl reads the pacts those tests write
(``Asynchronous/Messages`` interactions, Kafka topic, key and headers in the message metadata)
as contracts, and writes contracts back as pacts. Pact has no matcher for everything evtctl models
(enum membership, numeric ranges, required values), so the export also carries the exact evtctl
contract under the pact's top-level ``metadata.evtctl``: a round trip loses nothing, and Pact tools
ignore the extra metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evtctl.contracts.model import (
    CONTRACT_SPEC_SCHEMA,
    Contract,
    Example,
    Rule,
    SpecProblem,
    build_contract,
    contract_to_spec,
)
from evtctl.errors import InputError, Location

MESSAGE_TYPE = "Asynchronous/Messages"
_TOPIC_KEYS = ("kafka_topic", "topic", "destination")
_NOT_HEADERS = {*_TOPIC_KEYS, "key", "contentType", "content-type", "content_type"}
_EVTCTL_META = "evtctl"


@dataclass(frozen=True, slots=True)
class ImportedPact:
    consumer: str
    provider: str
    contracts: tuple[Contract, ...]


def read_pact(path: Path) -> ImportedPact:
    """Contracts from a Pact V4 file; raises :class:`InputError` naming the file and the problem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read pact: {err}", location=Location(str(path))) from None
    except json.JSONDecodeError as err:
        raise InputError(
            f"not JSON: {err.msg}", location=Location(str(path), err.lineno, err.colno)
        ) from None
    return import_pact(document, str(path))


def import_pact(document: Any, origin: str) -> ImportedPact:
    where = Location(origin)
    if not isinstance(document, dict):
        raise InputError("a pact must be a JSON object", location=where)
    version = str(document.get("metadata", {}).get("pactSpecification", {}).get("version", ""))
    if not version.startswith("4"):
        raise InputError(
            f"pact specification {version or 'unknown'} is not supported",
            location=where,
            help="write the pact with specification V4 (pact-python: Pact(...).with_specification('V4'))",
        )
    consumer = _name(document, "consumer", where)
    provider = _name(document, "provider", where)
    exact = document.get("metadata", {}).get(_EVTCTL_META, {}).get("contracts")
    if isinstance(exact, list):
        return ImportedPact(consumer, provider, tuple(_exact(spec, origin) for spec in exact))
    by_topic: dict[str, list[Mapping[str, Any]]] = {}
    for i, interaction in enumerate(document.get("interactions") or ()):
        if not isinstance(interaction, dict) or interaction.get("type") != MESSAGE_TYPE:
            continue  # HTTP and synchronous interactions are not events
        metadata = interaction.get("metadata") or {}
        topic = next((str(metadata[k]) for k in _TOPIC_KEYS if k in metadata), None)
        if topic is None:
            raise InputError(
                f"interaction {i} ({interaction.get('description', '')!r}) names no Kafka topic",
                location=where,
                help="add 'kafka_topic' to the message metadata",
            )
        by_topic.setdefault(topic, []).append(interaction)
    if not by_topic:
        raise InputError("the pact has no Asynchronous/Messages interactions", location=where)
    contracts = tuple(
        _from_interactions(consumer, topic, items, origin) for topic, items in sorted(by_topic.items())
    )
    return ImportedPact(consumer, provider, contracts)


def _name(document: Mapping[str, Any], role: str, where: Location) -> str:
    value = document.get(role, {}).get("name") if isinstance(document.get(role), dict) else None
    if not isinstance(value, str) or not value:
        raise InputError(f"the pact has no {role} name", location=where)
    return value


def _exact(spec: Any, origin: str) -> Contract:
    import jsonschema

    body = {k: v for k, v in spec.items() if k != "name"} if isinstance(spec, dict) else spec
    errors = sorted(jsonschema.Draft202012Validator(CONTRACT_SPEC_SCHEMA).iter_errors(body), key=str)
    if errors or not isinstance(spec, dict):
        detail = errors[0].message if errors else "not an object"
        raise InputError(f"metadata.evtctl holds an invalid contract: {detail}", location=Location(origin))
    problems: list[SpecProblem] = []
    spec = dict(spec)
    name = str(spec.pop("name", f"{spec['consumer']}.{spec['topic']}"))
    contract = build_contract(name, spec, lambda path: Location(origin), problems)
    if problems:
        raise InputError(problems[0].message, location=Location(origin))
    return contract


# ----------------------------------------------------------------------------------- import


def _from_interactions(
    consumer: str, topic: str, interactions: Sequence[Mapping[str, Any]], origin: str
) -> Contract:
    fields: dict[str, Rule] = {}
    headers: dict[str, Rule] = {}
    key: Rule | None = None
    examples: list[Example] = []
    for interaction in interactions:
        contents = interaction.get("contents") or {}
        content = contents.get("content")
        if contents.get("encoded") or not isinstance(content, dict | list):
            raise InputError(
                f"interaction {interaction.get('description', '')!r} has no JSON content",
                location=Location(origin),
                help="evtctl imports JSON message bodies; binary bodies are checked through the schema",
            )
        rules = interaction.get("matchingRules") or {}
        body_rules = _matchers(rules.get("body") or rules.get("content") or {})
        meta_rules = _matchers(rules.get("metadata") or {})
        for path, value in _leaves(content):
            fields.setdefault(path, _rule(path, value, body_rules.get(path)))
        metadata = dict(interaction.get("metadata") or {})
        for name, value in metadata.items():
            if name not in _NOT_HEADERS:
                headers.setdefault(name, _rule(name, value, meta_rules.get(name)))
        if "key" in metadata and key is None:
            key = _rule("key", metadata["key"], meta_rules.get("key"))
        examples.append(
            Example(
                value=content,
                key=metadata.get("key"),
                headers={
                    k: None if v is None else str(v) for k, v in metadata.items() if k not in _NOT_HEADERS
                },
                name=str(interaction.get("description") or f"interaction {len(examples) + 1}"),
                location=Location(origin),
            )
        )
    return Contract(
        name=f"{consumer}.{topic}",
        consumer=consumer,
        topic=topic,
        fields=tuple(fields.values()),
        headers=tuple(headers.values()),
        key=key,
        examples=tuple(examples),
        location=Location(origin),
    )


def _matchers(raw: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for jsonpath, spec in raw.items():
        matchers = spec.get("matchers") if isinstance(spec, dict) else None
        if isinstance(matchers, list):
            out[_from_jsonpath(jsonpath)] = [m for m in matchers if isinstance(m, dict)]
    return out


def _from_jsonpath(jsonpath: str) -> str:
    """``$.items[*].sku`` -> ``items[].sku``; ``$['a-b']`` -> ``a-b``; metadata keys stay as they are."""
    if not jsonpath.startswith("$"):
        return jsonpath
    text = re.sub(r"\[\s*'([^']*)'\s*\]", r".\1", jsonpath[1:])
    text = text.replace("[*]", "[]")
    text = re.sub(r"\[\d+\]", "[]", text)
    return text.lstrip(".")


def _to_jsonpath(path: str) -> str:
    parts = []
    for segment in path.split("."):
        name = segment.replace("[]", "").replace("{}", "")
        suffix = segment[len(name) :].replace("[]", "[*]").replace("{}", ".*")
        parts.append((f"['{name}']" if not re.fullmatch(r"[A-Za-z_][\w]*", name) else f".{name}") + suffix)
    return "$" + "".join(parts)


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for name, inner in value.items():
            yield from _leaves(inner, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(value, list) and value and prefix:
        # Pact matches array elements by the first one's shape (each_like); fold the rest.
        yield from _leaves(value[0], f"{prefix}[]")
    elif prefix:
        yield prefix, value


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return None


def _rule(target: str, value: Any, matchers: Sequence[Mapping[str, Any]] | None) -> Rule:
    if not matchers:
        # Pact's default for message content without a matcher is equality.
        return Rule(
            target, type=_json_type(value), equals=value if not isinstance(value, dict | list) else None
        )
    kind: str | None = _json_type(value)
    regex: str | None = None
    equals: Any = None
    for matcher in matchers:
        match = matcher.get("match")
        if match in ("number", "decimal"):
            kind = "number"
        elif match == "integer":
            kind = "integer"
        elif match == "boolean":
            kind = "boolean"
        elif match == "regex" and isinstance(matcher.get("regex"), str):
            kind, regex = "string", matcher["regex"]
        elif match == "include" and isinstance(matcher.get("value"), str):
            kind, regex = "string", re.escape(matcher["value"])
        elif match == "equality":
            equals = value
    return Rule(target, type=kind, regex=regex, equals=equals)


# ----------------------------------------------------------------------------------- export


def export_pact(contracts: Sequence[Contract], provider: str) -> dict[str, Any]:
    """A Pact V4 document for one consumer's contracts with one provider."""
    if not contracts:
        raise InputError("nothing to export: no contracts for that consumer and provider")
    consumer = contracts[0].consumer
    interactions: list[dict[str, Any]] = []
    for contract in contracts:
        for example in contract.examples or (_synthesized(contract),):
            interactions.append(_interaction(contract, example))
    return {
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": interactions,
        "metadata": {
            "pactSpecification": {"version": "4.0"},
            _EVTCTL_META: {
                "formatVersion": 1,
                "contracts": [{"name": c.name, **contract_to_spec(c)} for c in contracts],
            },
        },
    }


def _interaction(contract: Contract, example: Example) -> dict[str, Any]:
    metadata: dict[str, Any] = {"contentType": "application/json", "kafka_topic": contract.topic}
    if example.key is not None:
        metadata["key"] = example.key  # keeps its JSON type: an integer key stays an integer
    metadata.update({k: v for k, v in example.headers.items() if v is not None})
    body = {_to_jsonpath(r.target): _pact_matchers(r) for r in contract.fields}
    meta_rules = {r.target: _pact_matchers(r) for r in contract.headers}
    if contract.key is not None:
        meta_rules["key"] = _pact_matchers(contract.key)
    return {
        "type": MESSAGE_TYPE,
        "description": f"{contract.name}: {example.name}",
        "pending": False,
        "contents": {"content": example.value, "contentType": "application/json", "encoded": False},
        "metadata": metadata,
        "matchingRules": {
            "body": {p: m for p, m in body.items() if m["matchers"]},
            "metadata": {p: m for p, m in meta_rules.items() if m["matchers"]},
        },
    }


def _pact_matchers(rule: Rule) -> dict[str, Any]:
    matchers: list[dict[str, Any]] = []
    if rule.equals is not None:
        matchers.append({"match": "equality"})
    elif rule.regex is not None:
        matchers.append({"match": "regex", "regex": rule.regex})
    elif rule.enum is not None and all(isinstance(v, str) for v in rule.enum):
        matchers.append(
            {"match": "regex", "regex": "^(" + "|".join(re.escape(str(v)) for v in rule.enum) + ")$"}
        )
    elif rule.type in ("integer", "boolean"):
        matchers.append({"match": rule.type})
    elif rule.type == "number":
        matchers.append({"match": "number"})
    elif rule.type is not None:
        matchers.append({"match": "type"})
    return {"combine": "AND", "matchers": matchers}


_SAMPLES: dict[str, Any] = {
    "string": "string",
    "enum": "string",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "object": {},
    "map": {},
    "array": [],
    "bytes": "",
}


def _synthesized(contract: Contract) -> Example:
    """A sample message built from the rules, for contracts that carry no example."""
    value: dict[str, Any] = {}
    for rule in contract.fields:
        sample: Any = rule.equals
        if sample is None and rule.enum:
            sample = rule.enum[0]
        if sample is None:
            sample = _SAMPLES.get(rule.type or "string", "string")
        _put(value, rule.target, sample)
    headers = {r.target: str(r.equals) if r.equals is not None else "value" for r in contract.headers}
    key = (
        None if contract.key is None else (contract.key.equals or _SAMPLES.get(contract.key.type or "string"))
    )
    return Example(value=value, key=key, headers=headers, name="synthesized from the contract")


def _put(target: dict[str, Any], path: str, sample: Any) -> None:
    steps = path.split(".")
    node: Any = target
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        name = step.replace("[]", "").replace("{}", "")
        if step.endswith("[]"):
            items = node.setdefault(name, [{}])
            if last:
                node[name] = [sample]
            node = items[0]
        elif last:
            node[name] = sample
        else:
            node = node.setdefault(name, {})


def write_pact(document: Mapping[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{document['consumer']['name']}-{document['provider']['name']}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
