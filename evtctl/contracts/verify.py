"""Contract verification: does a producer give every consumer what its contract says it reads?

Two independent checks, both pure:

* **static** — the producer's key and value schemas against each consumer's field, key and header
  rules (a field removed, retyped, made optional, moved into a oneof/union, an enum widened past
  what the consumer accepts or narrowed below what it relies on);
* **examples** — every producer example event validates against the producer's schema and
  satisfies every consumer's rules (values, regexes, ranges, headers, key).

The live mode (``evtctl.contracts.live``) feeds the same example check with events that went
through the real broker, registry and wire format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evtctl.compat import ParsedSchema
from evtctl.contracts.fields import Node, kind_of, resolve, satisfies, split_path, symbols_of, view
from evtctl.contracts.model import Contract, Example, Rule
from evtctl.errors import Location
from evtctl.runtime.context import STANDARD_HEADERS


@dataclass(frozen=True, slots=True)
class Finding:
    """One way a producer breaks a consumer's contract."""

    consumer: str
    contract: str
    producer: str
    topic: str
    target: str  # field path, "header <name>" or "key"
    rule: str  # stable slug, e.g. field-missing, field-type, enum-widened, header-missing
    reason: str  # one plain sentence
    source: str  # "schema" or "example '<name>'" or "live '<name>'"
    location: Location = field(default_factory=Location)

    def to_dict(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "contract": self.contract,
            "producer": self.producer,
            "topic": self.topic,
            "target": self.target,
            "rule": self.rule,
            "reason": self.reason,
            "source": self.source,
            "location": str(self.location),
        }


@dataclass(frozen=True, slots=True)
class Producer:
    """What a producer offers on one topic."""

    name: str
    topic: str
    value_schema: ParsedSchema | None
    value_record: str | None = None
    key_schema: ParsedSchema | None = None
    key_record: str | None = None
    partition_key: str | None = None  # value field used as the key when no key schema is bound
    headers: tuple[str, ...] = STANDARD_HEADERS
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class Pairing:
    """The verdict for one (producer, consumer contract) pair."""

    producer: str
    contract: Contract
    findings: tuple[Finding, ...]
    checked: int  # rules and examples evaluated

    @property
    def ok(self) -> bool:
        return not self.findings


class _Emit:
    def __init__(self, contract: Contract, producer: Producer) -> None:
        self.contract, self.producer = contract, producer
        self.out: list[Finding] = []
        self.checked = 0

    def __call__(self, rule: Rule, slug: str, reason: str, source: str, target: str | None = None) -> None:
        self.out.append(
            Finding(
                consumer=self.contract.consumer,
                contract=self.contract.name,
                producer=self.producer.name,
                topic=self.contract.topic,
                target=target or rule.target,
                rule=slug,
                reason=reason,
                source=source,
                location=rule.location,
            )
        )


def verify_pair(contract: Contract, producer: Producer) -> Pairing:
    emit = _Emit(contract, producer)
    _static(contract, producer, emit)
    for example in producer.examples:
        check_event(contract, producer, example, emit, source=f"example '{example.name}'")
    for example in contract.examples:
        # A consumer's sample is usually partial (Pact bodies hold only what the consumer reads), so
        # it is held to the contract's own rules, not to the producer's whole schema.
        check_event(
            contract, producer, example, emit, source=f"consumer example '{example.name}'", full=False
        )
    return Pairing(producer.name, contract, tuple(emit.out), emit.checked)


# ------------------------------------------------------------------------------------- static


def _static(contract: Contract, producer: Producer, emit: _Emit) -> None:
    if producer.value_schema is not None:
        root = view(producer.value_schema, producer.value_record)
        for rule in contract.fields:
            emit.checked += 1
            _static_field(root, rule, emit, producer.name)
    elif contract.fields:
        first = contract.fields[0]
        emit(
            first,
            "no-value-schema",
            f"{producer.name} binds no value schema to {contract.topic}, so no field can be checked.",
            "schema",
        )
    for rule in contract.headers:
        emit.checked += 1
        if rule.required and rule.target not in producer.headers:
            near = _near(rule.target, producer.headers)
            hint = f" (it sends '{near}')" if near else ""
            emit(
                rule,
                "header-missing",
                f"{producer.name} does not send header '{rule.target}'{hint}.",
                "schema",
                f"header {rule.target}",
            )
    _static_key(contract, producer, emit)


def _static_field(
    root: Node, rule: Rule, emit: _Emit, producer: str, *, source: str = "schema", prefix: str = ""
) -> None:
    found = resolve(root, rule.target)
    target = prefix + rule.target
    if found.node is None:
        if rule.required:
            where = (
                f" ('{found.missing_at}' does not exist)"
                if found.missing_at and found.missing_at != rule.target
                else ""
            )
            emit(
                rule,
                "field-missing",
                f"{producer}'s schema has no field '{rule.target}'{where}.",
                source,
                target,
            )
        return
    node = found.node
    if rule.required and not found.always_present:
        emit(
            rule,
            "field-optional",
            f"'{rule.target}' is not guaranteed to be present: {found.why_optional}.",
            source,
            target,
        )
    if rule.type and not satisfies(node, rule.type):
        emit(
            rule,
            "field-type",
            f"'{rule.target}' is {kind_of(node)} in {producer}'s schema, "
            f"but the consumer reads it as {rule.type}.",
            source,
            target,
        )
    symbols = symbols_of(node)
    if symbols is not None:
        if rule.enum is not None:
            extra = [s for s in symbols if s not in {str(v) for v in rule.enum}]
            if extra:
                emit(
                    rule,
                    "enum-widened",
                    f"'{rule.target}' can be {', '.join(extra)}, which the consumer does not accept.",
                    source,
                    target,
                )
        missing = [str(v) for v in rule.requires_values if str(v) not in symbols]
        if missing:
            emit(
                rule,
                "enum-value-removed",
                f"'{rule.target}' can no longer be {', '.join(missing)}, which the consumer relies on.",
                source,
                target,
            )
    if rule.minimum is not None and node.minimum is not None and node.minimum < rule.minimum:
        emit(
            rule,
            "range",
            f"'{rule.target}' may be as low as {_fmt(node.minimum)}, "
            f"below the consumer's minimum {_fmt(rule.minimum)}.",
            source,
            target,
        )
    if rule.maximum is not None and node.maximum is not None and node.maximum > rule.maximum:
        emit(
            rule,
            "range",
            f"'{rule.target}' may be as high as {_fmt(node.maximum)}, "
            f"above the consumer's maximum {_fmt(rule.maximum)}.",
            source,
            target,
        )


def _static_key(contract: Contract, producer: Producer, emit: _Emit) -> None:
    rule = contract.key
    if rule is None and not contract.key_fields:
        return
    if producer.key_schema is not None:
        root = view(producer.key_schema, producer.key_record)
        if rule is not None and rule.type:
            emit.checked += 1
            if not satisfies(root, rule.type):
                emit(
                    rule,
                    "key-type",
                    f"{producer.name}'s key is {kind_of(root)}, but the consumer reads it as {rule.type}.",
                    "schema",
                    "key",
                )
        for field_rule in contract.key_fields:
            emit.checked += 1
            _static_field(root, field_rule, emit, producer.name, prefix="key.")
        return
    if producer.partition_key and producer.value_schema is not None and rule is not None:
        emit.checked += 1
        found = resolve(view(producer.value_schema, producer.value_record), producer.partition_key)
        # The generated producer sends the partition-key field as a UTF-8 string key.
        if rule.type and rule.type not in ("string", "any"):
            emit(
                rule,
                "key-type",
                f"{producer.name} keys by '{producer.partition_key}' as a string, "
                f"but the consumer reads the key as {rule.type}.",
                "schema",
                "key",
            )
        elif found.node is None:
            emit(
                rule,
                "key-missing",
                f"{producer.name} keys by '{producer.partition_key}', which its schema does not have.",
                "schema",
                "key",
            )
        return
    if rule is not None and rule.required:
        emit.checked += 1
        emit(
            rule,
            "key-missing",
            f"{producer.name} declares no key for {contract.topic} (no key schema and no partition key).",
            "schema",
            "key",
        )


# ------------------------------------------------------------------------------------ examples


def check_event(
    contract: Contract, producer: Producer, event: Example, emit: _Emit, *, source: str, full: bool = True
) -> None:
    """Check one concrete event (an example, or one read back from the broker).

    ``full`` also validates the event against the producer's value schema."""
    if full and producer.value_schema is not None:
        emit.checked += 1
        error = validate_value(producer.value_schema, event.value, producer.value_record)
        if error is not None:
            first = contract.fields[0] if contract.fields else Rule("value", location=event.location)
            emit(
                first,
                "example-invalid",
                f"the event does not match {producer.name}'s schema: {error}.",
                source,
                "value",
            )
    for rule in contract.fields:
        emit.checked += 1
        _check_values(rule, list(extract(event.value, rule.target)), emit, source)
    for rule in contract.headers:
        emit.checked += 1
        present = rule.target in event.headers and event.headers[rule.target] is not None
        if not present:
            if rule.required:
                emit(
                    rule,
                    "header-missing",
                    f"the event has no header '{rule.target}'.",
                    source,
                    f"header {rule.target}",
                )
            continue
        _check_values(rule, [event.headers[rule.target]], emit, source, target=f"header {rule.target}")
    if contract.key is not None:
        emit.checked += 1
        if event.key is None:
            if contract.key.required:
                emit(contract.key, "key-missing", "the event has no key.", source, "key")
        else:
            _check_values(contract.key, [event.key], emit, source, target="key")
    for rule in contract.key_fields:
        emit.checked += 1
        _check_values(rule, list(extract(event.key, rule.target)), emit, source, target=f"key.{rule.target}")


_MISSING = object()


def extract(value: Any, path: str) -> Iterator[Any]:
    """Every value at ``path``; ``[]`` fans out over arrays, ``{}`` over map values.

    ``_MISSING`` stands for an absent value."""
    current: list[Any] = [value]
    for step in split_path(path):
        nxt: list[Any] = []
        for item in current:
            if item is _MISSING or item is None:
                nxt.append(_MISSING if item is _MISSING else None)
            elif step == "[]":
                nxt.extend(item if isinstance(item, list) else [_MISSING])
            elif step == "{}":
                nxt.extend(item.values() if isinstance(item, dict) else [_MISSING])
            elif isinstance(item, dict):
                nxt.append(_unwrap_union(item.get(step, _MISSING)))
            else:
                nxt.append(_MISSING)
        current = nxt
    yield from current


def _unwrap_union(value: Any) -> Any:
    # Avro's JSON encoding wraps union values as {"type": value}; read through a single-key wrapper
    # only when the key names a type (contains a dot or is a primitive name).
    if isinstance(value, dict) and len(value) == 1:
        ((name, inner),) = value.items()
        if name in ("string", "int", "long", "float", "double", "boolean", "bytes") or "." in name:
            return inner
    return value


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "enum": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "map": (dict,),
    "array": (list,),
    "bytes": (bytes, str),
}


def _check_values(
    rule: Rule, values: Sequence[Any], emit: _Emit, source: str, target: str | None = None
) -> None:
    label = target or rule.target
    for value in values:
        if value is _MISSING or value is None:
            if rule.required:
                what = "missing" if value is _MISSING else "null"
                emit(rule, "value-missing", f"'{label}' is {what} in the event.", source, label)
            continue
        if rule.type and rule.type != "any":
            allowed = _PY_TYPES[rule.type]
            if not isinstance(value, allowed) or (
                rule.type in ("integer", "number") and isinstance(value, bool)
            ):
                emit(rule, "value-type", f"'{label}' is {_json(value)}, not a {rule.type}.", source, label)
                continue
        if rule.equals is not None and value != rule.equals:
            emit(
                rule,
                "value-equals",
                f"'{label}' is {_json(value)}, the consumer expects {_json(rule.equals)}.",
                source,
                label,
            )
        if rule.enum is not None and value not in rule.enum:
            emit(
                rule,
                "value-enum",
                f"'{label}' is {_json(value)}, which the consumer does not accept.",
                source,
                label,
            )
        if rule.regex is not None and isinstance(value, str) and re.search(rule.regex, value) is None:
            emit(
                rule,
                "value-regex",
                f"'{label}' is {_json(value)}, which does not match {rule.regex!r}.",
                source,
                label,
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if rule.minimum is not None and value < rule.minimum:
                emit(
                    rule,
                    "value-range",
                    f"'{label}' is {_fmt(value)}, below the minimum {_fmt(rule.minimum)}.",
                    source,
                    label,
                )
            if rule.maximum is not None and value > rule.maximum:
                emit(
                    rule,
                    "value-range",
                    f"'{label}' is {_fmt(value)}, above the maximum {_fmt(rule.maximum)}.",
                    source,
                    label,
                )


def validate_value(schema: ParsedSchema, value: Any, record: str | None = None) -> str | None:
    """``None`` if ``value`` (JSON-like) is a valid event of ``schema``, else the first reason."""
    try:
        if schema.schema_type == "AVRO":
            return _validate_avro(schema, value)
        if schema.schema_type == "JSON":
            return _validate_json(schema, value)
        return _validate_protobuf(schema, value, record)
    except RecursionError:
        return "the event nests too deeply"


def _validate_avro(schema: ParsedSchema, value: Any) -> str | None:
    import fastavro
    from fastavro.validation import ValidationError

    named: dict[str, Any] = {}
    for text in schema.references.values():
        fastavro.parse_schema(json.loads(text), named_schemas=named)
    parsed = fastavro.parse_schema(json.loads(schema.text), named_schemas=named)
    try:
        fastavro.validate(value, parsed, raise_errors=True)
    except ValidationError as err:
        return "; ".join(str(e) for e in err.errors) or "invalid"
    return None


def _validate_json(schema: ParsedSchema, value: Any) -> str | None:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = json.loads(schema.text)
    resources = [
        (name, Resource.from_contents(json.loads(text), default_specification=DRAFT202012))
        for name, text in schema.references.items()
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft202012Validator)
    validator = cls(document, registry=registry)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" at /{where}" if where else "")


def protobuf_message_class(schema: ParsedSchema, record: str | None) -> Any:
    """The message class of ``record`` (default: the file's first message) built from the compat
    engine's descriptors; None when the schema imports user files, which only the compat engine
    resolves. Raises ``KeyError`` when the message is not defined."""
    from google.protobuf import descriptor_pool, message_factory

    model = schema.model
    pool = descriptor_pool.DescriptorPool()
    for name in model.imports:
        if not name.startswith("google/protobuf/"):
            return None
        module = __import__(
            "google.protobuf." + name.rsplit("/", 1)[-1].replace(".proto", "_pb2"), fromlist=["DESCRIPTOR"]
        )
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    pool.Add(model.descriptor)
    full = record or next(iter(model.messages), None)
    if full is None:
        return None
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full))


def _validate_protobuf(schema: ParsedSchema, value: Any, record: str | None) -> str | None:
    from google.protobuf import json_format

    try:
        cls = protobuf_message_class(schema, record)
    except KeyError:
        return f"message {record or 'of the schema'} is not defined"
    if cls is None:
        return None  # user imports: the compat engine checked them; value checks still run
    try:
        json_format.ParseDict(value, cls())
    except json_format.ParseError as err:
        return str(err)
    return None


# ------------------------------------------------------------------------------------ helpers


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _near(name: str, options: Iterable[str]) -> str | None:
    import difflib

    squashed = {re.sub(r"[-_.]", "", o.lower()): o for o in options}
    key = re.sub(r"[-_.]", "", name.lower())
    if key in squashed:
        return squashed[key]
    found = difflib.get_close_matches(name, list(options), n=1, cutoff=0.75)
    return found[0] if found else None


def summarize(pairings: Sequence[Pairing]) -> Mapping[str, int]:
    return {
        "pairs": len(pairings),
        "broken": sum(1 for p in pairings if not p.ok),
        "findings": sum(len(p.findings) for p in pairings),
        "checked": sum(p.checked for p in pairings),
    }
