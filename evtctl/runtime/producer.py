"""Typed producer base class used by generated per-topic producers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from confluent_kafka import KafkaError, Message, Producer

from evtctl.runtime.binding import TopicBinding, make_serde, producer_config
from evtctl.runtime.context import new_event_id, standard_headers
from evtctl.runtime.registry import SchemaCache
from evtctl.runtime.serde import Codec, Serde, StringKeySerde, plain_codec
from evtctl.runtime.settings import ClientSettings
from evtctl.runtime.wire import schema_id_header

V = TypeVar("V")
HeadersArg = Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]] | None
RawHeaders = list[tuple[str, bytes]]


class DeliveryError(RuntimeError):
    """The broker did not acknowledge one or more records (after librdkafka's own retries)."""


def _header_list(headers: HeadersArg) -> RawHeaders:
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in items]


class TypedProducer(Generic[V]):
    """Sends typed events of one topic. Subclasses (generated) set ``binding`` and the codecs."""

    binding: TopicBinding
    value_codec: Codec[V]
    message_type: Any = None  # Protobuf message class, for Protobuf topics
    service_name: str | None = None  # the producing service, written in the ``producer`` header
    default_transactional_id: str | None = None  # from the manifest, for effectively-once services
    key_codec: Codec[Any] | None = None  # set for record (Avro/JSON) key schemas
    schema_id_headers: bool = False  # write the schema id in a header instead of the payload prefix

    def __init__(
        self,
        settings: ClientSettings,
        *,
        registry: SchemaCache | None = None,
        producer: Producer | None = None,
        auto_register: bool = False,
        transactional_id: str | None = None,
        service: str | None = None,
        config: Mapping[str, Any] | None = None,
        schema_id_headers: bool | None = None,
    ) -> None:
        from evtctl.runtime.registry import connect_registry

        if schema_id_headers is not None:
            self.schema_id_headers = schema_id_headers
        self.settings = settings
        self.service = service or self.service_name
        self.cache = registry or connect_registry(settings.registry_url)
        self.value_serde: Serde[V] = make_serde(
            self.binding.value,
            self.value_codec,
            self.cache,
            auto_register=auto_register,
            message_type=self.message_type,
        )
        self.key_serde: Serde[Any] | StringKeySerde = (
            make_serde(
                self.binding.key,
                self.key_codec or plain_codec(str),
                self.cache,
                is_key=True,
                auto_register=auto_register,
            )
            if self.binding.key is not None and self.binding.key.format != "PROTOBUF"
            else StringKeySerde()
        )
        self._transactional = self.binding.guarantee == "effectively-once"
        self._in_transaction = False
        self._errors: list[KafkaError] = []
        self._lock = threading.Lock()
        if producer is None:
            conf = settings.kafka_config()
            txn_id = transactional_id or self.default_transactional_id
            conf.update(producer_config(self.binding.guarantee, transactional_id=txn_id))
            conf.update(config or {})
            producer = Producer(conf)
            if self._transactional:
                producer.init_transactions()
        self.producer = producer

    # -- keys --------------------------------------------------------------------------------------
    def partition_key(self, value: V) -> object | None:
        """The declared partition-key field of ``value`` (generated subclasses override)."""
        return None

    def key_bytes(self, value: V, key: object | None) -> bytes | None:
        """The serialized record key: ``key`` if given, else the partition-key field's value."""
        key_value = key if key is not None else self.partition_key(value)
        if key_value is None:
            if self.key_codec is not None:
                raise ValueError(
                    f"topic {self.binding.topic} has a record key schema that cannot be derived "
                    "from the value: pass key=..."
                )
            return None
        if self.key_codec is None and not isinstance(key_value, (str, bytes, int)):
            key_value = str(key_value)  # UUIDs, enums' values etc. key by their text form
        return self.key_serde.serialize(key_value)

    # -- sending -----------------------------------------------------------------------------------
    def send(
        self,
        value: V,
        *,
        key: object | None = None,
        headers: HeadersArg = None,
        event_id: str | None = None,
    ) -> str:
        """Serialize and enqueue one event; returns its event id. ``flush()`` waits for acks."""
        event_id = event_id or new_event_id()
        key_bytes, payload, all_headers = self.encode(value, key=key, headers=headers, event_id=event_id)
        if self._transactional and not self._in_transaction:
            with self.transaction():
                self.produce_raw(self.binding.topic, key_bytes, payload, all_headers)
        else:
            self.produce_raw(self.binding.topic, key_bytes, payload, all_headers)
        return event_id

    def encode(
        self, value: V, *, key: object | None, headers: HeadersArg, event_id: str
    ) -> tuple[bytes | None, bytes, RawHeaders]:
        """Key bytes, framed value and headers of one event (used by ``send`` and the outbox)."""
        serde = self.value_serde
        writer = serde.writer()
        all_headers = standard_headers(
            event_id=event_id,
            event_type=self.binding.event_type,
            schema_id=writer.schema_id,
            schema_version=writer.version,
            producer=self.service,
        )
        if self.schema_id_headers:
            # The id travels in `__value_schema_id`; the value is the bare body.
            payload = serde.encode_body(value)
            all_headers.append(
                schema_id_header(writer.schema_id, is_key=False, message_indexes=serde.message_indexes())
            )
        else:
            payload = serde.serialize(value)
        all_headers.extend(_header_list(headers))
        return self.key_bytes(value, key), payload, all_headers

    def produce_raw(self, topic: str, key: bytes | None, value: bytes | None, headers: RawHeaders) -> None:
        """Enqueue already-serialized bytes; waits (serving callbacks) while the local queue is full."""
        wire_headers: list[tuple[str, str | bytes | None]] = list(headers)
        while True:
            try:
                self.producer.produce(
                    topic, value=value, key=key, headers=wire_headers, on_delivery=self._delivered
                )
                break
            except BufferError:
                # Back-pressure: librdkafka's queue is full; let deliveries drain, then retry.
                self.producer.poll(0.1)
        self.producer.poll(0)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(err)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for every enqueued event to be acknowledged; raise if any was not."""
        remaining = self.producer.flush(timeout)
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise DeliveryError(f"{len(errors)} event(s) were not delivered; first: {errors[0]}")
        if remaining:
            raise DeliveryError(f"{remaining} event(s) still undelivered after {timeout}s")

    @contextmanager
    def transaction(self, timeout: float = 30.0) -> Iterator[None]:
        """Group sends atomically (effectively-once topics): committed on success, aborted on error."""
        if not self._transactional:
            raise RuntimeError(f"topic {self.binding.topic} is {self.binding.guarantee}, not transactional")
        self.producer.begin_transaction()
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.producer.abort_transaction(timeout)
            raise
        else:
            self.producer.commit_transaction(timeout)
        finally:
            self._in_transaction = False

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)

    def __enter__(self) -> TypedProducer[V]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
