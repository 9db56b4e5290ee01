"""What generated code knows about one topic: its contract, key, guarantee and failure policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from evtctl.runtime.registry import SchemaCache
from evtctl.runtime.retry import DeadLetterPolicy, RetryPolicy
from evtctl.runtime.serde import AvroSerde, Codec, JsonSchemaSerde, ProtobufSerde, Serde

Guarantee = Literal["at-most-once", "at-least-once", "effectively-once"]
SchemaFormat = Literal["AVRO", "JSON", "PROTOBUF"]


@dataclass(frozen=True, slots=True)
class SchemaBinding:
    """A registered contract: subject, format and the exact text the registry holds."""

    subject: str
    format: SchemaFormat
    schema: str
    # Registry references: (name as written in the schema, subject, version or None for latest).
    references: tuple[tuple[str, str, int | None], ...] = ()
    # Avro: (reference name, schema text) of each reference, so the encoder knows the named types.
    reference_schemas: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TopicBinding:
    topic: str
    event_type: str
    value: SchemaBinding
    key: SchemaBinding | None = None
    key_field: str | None = None  # the declared partition-key field of the value
    guarantee: Guarantee = "at-least-once"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter: DeadLetterPolicy = field(default_factory=lambda: DeadLetterPolicy(topic=None))


def make_serde(
    binding: SchemaBinding,
    codec: Codec[Any],
    cache: SchemaCache,
    *,
    is_key: bool = False,
    auto_register: bool = False,
    message_type: Any = None,
) -> Serde[Any]:
    common: dict[str, Any] = {
        "subject": binding.subject,
        "schema": binding.schema,
        "codec": codec,
        "cache": cache,
        "is_key": is_key,
        "auto_register": auto_register,
        "references": binding.references,
    }
    if binding.format == "AVRO":
        return AvroSerde(reference_schemas=binding.reference_schemas, **common)
    if binding.format == "JSON":
        return JsonSchemaSerde(**common)
    return ProtobufSerde(message_type=message_type, **common)


def producer_config(guarantee: Guarantee, *, transactional_id: str | None = None) -> dict[str, Any]:
    """librdkafka delivery settings for a declared guarantee."""
    if guarantee == "at-most-once":
        # No broker retries: a lost request is lost, never duplicated.
        return {"acks": 1, "enable.idempotence": False, "retries": 0}
    config: dict[str, Any] = {"acks": "all", "enable.idempotence": True}
    if guarantee == "effectively-once":
        if not transactional_id:
            raise ValueError("an effectively-once producer needs a transactional id (stable per instance)")
        config["transactional.id"] = transactional_id
    return config
