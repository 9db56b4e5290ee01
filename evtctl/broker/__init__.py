"""The bundled Kafka-wire-compatible reference broker (see docs/broker.md)."""
