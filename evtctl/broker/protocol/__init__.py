"""Kafka wire protocol: spec-driven codec, request/response headers, error codes, record batches."""
