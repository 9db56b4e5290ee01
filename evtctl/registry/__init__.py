"""Confluent Schema Registry REST client (used by plan/apply, schema check and codegen)."""

from evtctl.registry.client import (
    CompatibilityResult,
    RegisteredSchema,
    RegistryClient,
    RegistryError,
    SchemaById,
    SchemaReference,
)

__all__ = [
    "CompatibilityResult",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "SchemaById",
    "SchemaReference",
]
