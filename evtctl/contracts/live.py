"""``contract verify --live``: the producer's examples through the real broker, registry and wire format.

Each producer example is serialized by the same runtime generated clients use (Confluent framing,
schema registered in the registry), produced to the topic with its key and headers, read back
with the consumer's group id and the writer's schema resolved by id, and only then held to the
consumer's contract. What the static check cannot see (a serializer dropping a field, a header
lost on the way, a key re-encoded) shows up here.

The read-back assigns the exact partitions and offsets just written instead of joining the
consumer group, so verifying never rebalances or commits for the real consumers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from evtctl.contracts.model import Example
from evtctl.contracts.verify import Pairing, Producer, _Emit, check_event, protobuf_message_class
from evtctl.contracts.workspace import ContractSet, load_schema, producers_for, value_binding
from evtctl.errors import BackendError, Location
from evtctl.manifest.model import Workspace

_TIMEOUT_S = 15.0


def verify_live(
    workspace: Workspace, contracts: ContractSet, pairings: Sequence[Pairing], *, context: str | None = None
) -> list[Pairing]:
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka import Producer as KafkaProducer

    from evtctl.plan.session import cluster_config
    from evtctl.runtime.binding import SchemaBinding, make_serde
    from evtctl.runtime.registry import connect_registry
    from evtctl.runtime.serde import plain_codec, protobuf_dict_codec

    config, _local = cluster_config(workspace, context)
    if config.registry_url is None:
        raise BackendError(
            "live contract verification needs a schema registry",
            location=Location(context=f"context {context or workspace.config.default_context}"),
            help="set registry_url on the context",
        )
    cache = connect_registry(
        config.registry_url, username=config.registry_username, password=config.registry_password
    )
    out: list[Pairing] = []
    received: dict[tuple[str, str], list[Example]] = {}
    for topic in sorted({p.contract.topic for p in pairings}):
        binding = value_binding(workspace, topic)
        if binding is None or binding.value is None:
            continue
        ref = binding.value
        codec: Any = plain_codec(dict)
        message_type = None
        if ref.format.value == "PROTOBUF":
            message_type = protobuf_message_class(load_schema(ref), ref.record_name)
            if message_type is None:
                continue  # imports user .proto files: covered by the static and example checks
            codec = protobuf_dict_codec(message_type)
        serde = make_serde(
            SchemaBinding(ref.subject, ref.format.value, ref.file.read_text(encoding="utf-8")),
            codec,
            cache,
            auto_register=True,
            message_type=message_type,
        )
        kafka = KafkaProducer({**config.librdkafka(), "acks": "all", "enable.idempotence": True})
        metadata = kafka.list_topics(topic, timeout=_TIMEOUT_S)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise BackendError(
                f"topic {topic} does not exist on the cluster",
                location=Location(context=f"Metadata {config.bootstrap}"),
                help="run `evtctl apply` first: live verification produces to the declared topics",
            )
        for producer in producers_for(workspace, contracts, topic):
            written: list[tuple[int, int, Example]] = []  # (partition, offset, example sent)
            event_type = (ref.record_name or ref.file.stem).rsplit(".", 1)[-1]
            for example in producer.examples:
                _produce(kafka, topic, serde, example, written, producer=producer.name, event_type=event_type)
            kafka.flush(_TIMEOUT_S)
            if len(written) != len(producer.examples):
                raise BackendError(
                    f"only {len(written)} of {len(producer.examples)} examples of {producer.name} "
                    "were acknowledged",
                    location=Location(context=f"Produce {topic}"),
                )
            consumer_groups = {
                c.consumer: _group_of(workspace, c.consumer, topic)
                for c in contracts.contracts
                if c.topic == topic
            }
            for consumer_name, group in consumer_groups.items():
                consumer = Consumer(
                    {
                        **config.librdkafka(),
                        "group.id": group,
                        "enable.auto.commit": False,
                        "auto.offset.reset": "earliest",
                    }
                )
                try:
                    consumer.assign([TopicPartition(topic, part, off) for part, off, _ in written])
                    events = _read(consumer, serde, written)
                except KafkaException as err:
                    raise BackendError(
                        f"reading back {topic} failed: {err}", location=Location(context=f"Fetch {topic}")
                    ) from None
                finally:
                    consumer.close()
                received[(producer.name, consumer_name)] = events
    for pairing in pairings:
        got = received.get((pairing.producer, pairing.contract.consumer))
        if got is None:
            out.append(pairing)
            continue
        producer = Producer(pairing.producer, pairing.contract.topic, None)
        emit = _Emit(pairing.contract, producer)
        for event in got:
            check_event(pairing.contract, producer, event, emit, source=f"live '{event.name}'", full=False)
        out.append(
            replace(
                pairing, findings=pairing.findings + tuple(emit.out), checked=pairing.checked + emit.checked
            )
        )
    return out


def _group_of(workspace: Workspace, consumer: str, topic: str) -> str:
    service = workspace.service(consumer)
    if service is not None:
        for consumption in service.consumes:
            if consumption.topic == topic:
                return consumption.group
        if service.consumer_group:
            return service.consumer_group
    return f"evtctl-contract-{consumer}"


def _produce(
    kafka: Any,
    topic: str,
    serde: Any,
    example: Example,
    written: list[tuple[int, int, Example]],
    *,
    producer: str,
    event_type: str,
) -> None:
    from evtctl.runtime.context import EVENT_ID, new_event_id, standard_headers

    def delivered(err: Any, msg: Any) -> None:
        if err is None:
            written.append((msg.partition(), msg.offset(), example))

    # Non-string example keys travel as their JSON text and are decoded back to the same type.
    key = (
        None
        if example.key is None
        else (example.key if isinstance(example.key, str) else json.dumps(example.key))
    )
    # The headers a generated producer writes, the example's own values taking precedence.
    writer = serde.writer()
    own = {k: v for k, v in example.headers.items() if v is not None}
    standard = standard_headers(
        event_id=own.get(EVENT_ID) or new_event_id(),
        event_type=event_type,
        schema_id=writer.schema_id,
        schema_version=writer.version,
        producer=producer,
    )
    headers = [(k, v) for k, v in standard if k not in own] + [(k, v.encode()) for k, v in own.items()]
    kafka.produce(
        topic,
        value=serde.serialize(example.value),
        key=None if key is None else key.encode(),
        headers=headers,
        on_delivery=delivered,
    )


def _read(consumer: Any, serde: Any, written: Sequence[tuple[int, int, Example]]) -> list[Example]:
    import time

    wanted = {(part, off): sent for part, off, sent in written}
    events: list[Example] = []
    deadline = time.monotonic() + _TIMEOUT_S
    while wanted and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        sent = wanted.pop((msg.partition(), msg.offset()), None)
        if sent is None:
            continue
        headers = {
            k: (v.decode("utf-8", "replace") if v is not None else None) for k, v in (msg.headers() or [])
        }
        raw_key = msg.key()
        events.append(
            Example(
                value=serde.deserialize(msg.value(), msg.headers()),
                key=None if raw_key is None else _decode_key(raw_key, sent.key),
                headers=headers,
                name=sent.name,
            )
        )
    if wanted:
        raise BackendError(
            f"{len(wanted)} produced example(s) could not be read back in {_TIMEOUT_S:.0f}s",
            location=Location(context="Fetch"),
        )
    return events


def _decode_key(raw: bytes, sent: object) -> object:
    text = raw.decode("utf-8", "replace")
    if isinstance(sent, str) or sent is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
