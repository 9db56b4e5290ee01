"""The published JSON Schema (draft 2020-12) of every manifest kind and of ``evtctl.yaml``.

These schemas are the contract for the manifest format: ``evtctl manifest-schema`` prints them for
editors (``# yaml-language-server: $schema=...``) and :mod:`evtctl.manifest.validate` checks every
document against them. Topic config keys are generated from the Kafka catalog so the two agree.
"""

from __future__ import annotations

import functools
from typing import Any

from evtctl.contracts.model import CONTRACT_SPEC_SCHEMA, EXAMPLES_SPEC_SCHEMA
from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigType
from evtctl.manifest.model import (
    API_VERSION,
    Classification,
    Compatibility,
    DeliveryGuarantee,
    Kind,
    NamingStrategy,
    OffsetReset,
    Operation,
    PatternType,
    Permission,
    PiiPolicy,
    PrincipalType,
    ResourceType,
    SaslMechanism,
    SchemaFormat,
    TrafficKind,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://evtctl.dev/schemas/v1/"
WORKSPACE_KIND = "Workspace"
ENVIRONMENT_KIND = "Environment"

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# Kafka topic names: [a-zA-Z0-9._-], at most 249 characters.
TOPIC_PATTERN = r"^[A-Za-z0-9._-]+$"

_S: dict[str, Any] = {"type": "string"}
_NONEMPTY: dict[str, Any] = {"type": "string", "minLength": 1}
_BOOL: dict[str, Any] = {"type": "boolean"}
_DURATION: dict[str, Any] = {
    "type": ["integer", "string"],
    "description": "milliseconds, or a duration such as 500ms, 30s, 15m, 12h, 7d",
}
_BYTES: dict[str, Any] = {
    "type": ["integer", "string"],
    "description": "bytes, or a size such as 512KiB, 1MB",
}


def _enum(values: type[Any], description: str) -> dict[str, Any]:
    return {"enum": [v.value for v in values], "description": description}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _string_map(description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "string"}, "description": description}


METADATA = _obj(
    {
        "name": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 249, "description": "unique"},
        "owner": {**_NONEMPTY, "description": "owning team"},
        "description": _S,
        "labels": _string_map("free-form key/value labels"),
        "annotations": _string_map("tool annotations, e.g. lint suppressions"),
        "classification": _enum(Classification, "data classification of the payload"),
    },
    ("name",),
)


def _config_value_schema(ctype: ConfigType) -> dict[str, Any]:
    if ctype is ConfigType.BOOLEAN:
        return {"type": ["boolean", "string"]}
    if ctype is ConfigType.LIST:
        return {"type": ["string", "array"], "items": {"type": "string"}}
    if ctype is ConfigType.DOUBLE:
        return {"type": ["number", "string"]}
    if ctype is ConfigType.STRING:
        return {"type": "string"}
    return {"type": ["integer", "string"]}


def _topic_configs() -> dict[str, Any]:
    props = {
        name: {**_config_value_schema(d.type), "description": d.doc}
        for name, d in sorted(TOPIC_CONFIGS.items())
    }
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "description": "Kafka topic-level configs; durations and sizes accept units (7d, 1GiB)",
    }


_RETRY = _obj(
    {
        "attempts": {"type": "integer", "minimum": 0, "maximum": 1000},
        "backoff": _DURATION,
        "maxBackoff": _DURATION,
        "topic": {**_S, "pattern": TOPIC_PATTERN, "description": "retry topic"},
    },
    ("attempts",),
)

_DELIVERY = _enum(DeliveryGuarantee, "delivery guarantee")
_TRAFFIC = _enum(TrafficKind, "realtime or bulk/batch traffic")
_TOPIC_REF = {"type": "string", "pattern": TOPIC_PATTERN, "maxLength": 249}

_PRODUCES_ITEM = {
    "anyOf": [
        _TOPIC_REF,
        _obj(
            {
                "topic": _TOPIC_REF,
                "partitionKey": {**_NONEMPTY, "description": "record field used as the message key"},
                "orderingCritical": _BOOL,
                "traffic": _TRAFFIC,
                "deliveryGuarantee": _DELIVERY,
            },
            ("topic",),
        ),
    ]
}
_CONSUMES_ITEM = {
    "anyOf": [
        _TOPIC_REF,
        _obj(
            {
                "topic": _TOPIC_REF,
                "group": _NONEMPTY,
                "deliveryGuarantee": _DELIVERY,
                "idempotencyKey": _NONEMPTY,
                "retry": _RETRY,
                "deadLetterTopic": _TOPIC_REF,
                "orderingCritical": _BOOL,
                "tombstoneSafe": {**_BOOL, "description": "the handler copes with null (delete) records"},
            },
            ("topic",),
        ),
    ]
}

_REFERENCE = _obj(
    {
        "name": _NONEMPTY,
        "subject": _NONEMPTY,
        "version": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "latest"}]},
        "schema": {**_NONEMPTY, "description": "local file of the referenced schema"},
    },
    ("name", "subject"),
)
_SIDE = _obj(
    {
        "schema": {**_NONEMPTY, "description": "schema file, relative to the workspace root"},
        "format": _enum(SchemaFormat, "AVRO, PROTOBUF or JSON (default from the file extension)"),
        "recordName": {**_NONEMPTY, "description": "fully-qualified record/message name"},
        "subject": {**_NONEMPTY, "description": "explicit subject name (overrides the naming strategy)"},
        "references": {"type": "array", "items": _REFERENCE},
    },
    ("schema",),
)

_QUOTA_LIMITS = {
    "producerByteRate": _BYTES,
    "consumerByteRate": _BYTES,
    "requestPercentage": {"type": "number", "exclusiveMinimum": 0},
}

SPECS: dict[str, dict[str, Any]] = {
    Kind.TOPIC.value: _obj(
        {
            "partitions": {"type": "integer", "minimum": 1, "maximum": 100000},
            "replicationFactor": {"type": "integer", "minimum": 1, "maximum": 32767},
            "configs": _topic_configs(),
        },
        ("partitions",),
    ),
    Kind.SUBJECT.value: _obj(
        {
            "topic": _TOPIC_REF,
            "key": _SIDE,
            "value": _SIDE,
            "namingStrategy": _enum(NamingStrategy, "subject naming strategy"),
            "compatibility": _enum(Compatibility, "registry compatibility level"),
        },
        ("topic",),
        anyOf=[{"required": ["key"]}, {"required": ["value"]}],
    ),
    Kind.SERVICE.value: _obj(
        {
            "principal": {**_NONEMPTY, "description": "Principal resource name the service runs as"},
            "tenant": _NONEMPTY,
            "consumerGroup": _NONEMPTY,
            "deliveryGuarantee": _DELIVERY,
            "traffic": _TRAFFIC,
            "transactionalId": _NONEMPTY,
            "partitionKey": _NONEMPTY,
            "idempotencyKey": _NONEMPTY,
            "retry": _RETRY,
            "deadLetterTopic": _TOPIC_REF,
            "orderingCritical": _BOOL,
            "produces": {"type": "array", "items": _PRODUCES_ITEM},
            "consumes": {"type": "array", "items": _CONSUMES_ITEM},
        }
    ),
    Kind.CONSUMER_GROUP.value: _obj(
        {
            "service": _NONEMPTY,
            "tenant": _NONEMPTY,
            "offsetReset": _enum(OffsetReset, "auto.offset.reset for new members"),
        }
    ),
    Kind.PRINCIPAL.value: _obj(
        {
            "type": _enum(PrincipalType, "service account or human user"),
            "mechanism": _enum(SaslMechanism, "authentication mechanism"),
            "principal": {"type": "string", "pattern": r"^User:.+$", "description": "default User:<name>"},
            "tenant": _NONEMPTY,
        }
    ),
    Kind.ACCESS_POLICY.value: _obj(
        {
            "principal": {**_NONEMPTY, "description": "Principal name, or User:* for everyone"},
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": _obj(
                    {
                        "resourceType": _enum(ResourceType, "Kafka resource type"),
                        "name": _NONEMPTY,
                        "patternType": _enum(PatternType, "LITERAL or PREFIXED"),
                        "operations": {
                            "type": "array",
                            "minItems": 1,
                            "items": _enum(Operation, "Kafka ACL operation"),
                        },
                        "permission": _enum(Permission, "ALLOW or DENY"),
                        "host": _NONEMPTY,
                    },
                    ("resourceType", "name", "operations"),
                ),
            },
        },
        ("principal", "rules"),
    ),
    Kind.QUOTA.value: _obj(
        {"user": _NONEMPTY, "clientId": _NONEMPTY, **_QUOTA_LIMITS},
        anyOf=[{"required": ["user"]}, {"required": ["clientId"]}],
    ),
    Kind.TENANT.value: _obj(
        {
            "prefixes": {"type": "array", "minItems": 1, "items": {**_S, "pattern": TOPIC_PATTERN}},
            "quota": _obj(_QUOTA_LIMITS),
            "readGrants": {
                "type": "array",
                "items": _obj(
                    {
                        "tenant": _NONEMPTY,
                        "topics": {"type": "array", "minItems": 1, "items": _NONEMPTY},
                    },
                    ("tenant", "topics"),
                ),
            },
            "piiPolicy": _enum(PiiPolicy, "who may read this tenant's PII topics"),
            "naming": _obj(
                {
                    "topics": {**_NONEMPTY, "description": "regex for the tenant's topic names"},
                    "groups": {**_NONEMPTY, "description": "regex for the tenant's consumer group names"},
                }
            ),
        },
        ("prefixes",),
    ),
    # Consumer-driven contracts: the shapes live with the feature (evtctl.contracts.model).
    Kind.CONTRACT.value: CONTRACT_SPEC_SCHEMA,
    Kind.EVENT_EXAMPLES.value: EXAMPLES_SPEC_SCHEMA,
}

_OVERLAY = _obj(
    {
        "kind": {"enum": [k.value for k in Kind]},
        "names": {"type": "array", "items": _NONEMPTY, "description": "glob patterns; default all"},
        "spec": {"type": "object", "description": "merged into the matching resources' spec"},
    },
    ("kind", "spec"),
)
_ENV_SPEC = _obj(
    {
        "variables": {"type": "object"},
        "overlays": {"type": "array", "items": _OVERLAY},
    }
)
_SECURITY = _obj(
    {
        "protocol": {"enum": ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]},
        "saslMechanism": _enum(SaslMechanism, "SASL mechanism"),
        "usernameEnv": {**_NONEMPTY, "description": "environment variable holding the username"},
        "passwordEnv": {**_NONEMPTY, "description": "environment variable holding the password"},
        "caFile": _NONEMPTY,
        "certFile": _NONEMPTY,
        "keyFile": _NONEMPTY,
        "registryUsernameEnv": _NONEMPTY,
        "registryPasswordEnv": _NONEMPTY,
    }
)
_CONTEXT = _obj(
    {
        "kind": {"enum": ["local", "kafka"]},
        "bootstrapServers": {"type": "array", "items": _NONEMPTY},
        "registryUrl": _NONEMPTY,
        "security": _SECURITY,
        "environment": _NONEMPTY,
    },
    ("kind",),
)
_PATTERNS_BY_KIND = {
    "type": "object",
    "propertyNames": {"enum": [k.value for k in Kind]},
    "additionalProperties": {"type": "array", "items": _NONEMPTY},
}
WORKSPACE_SPEC = _obj(
    {
        "paths": _obj(
            {
                "manifests": {"type": "array", "items": _NONEMPTY},
                "schemas": {"type": "array", "items": _NONEMPTY},
                "environments": _NONEMPTY,
            }
        ),
        "defaultContext": _NONEMPTY,
        "contexts": {"type": "object", "additionalProperties": _CONTEXT},
        "variables": {"type": "object"},
        "environments": {"type": "object", "additionalProperties": _ENV_SPEC},
        "lint": {"type": "object", "description": "lint configuration (see docs/lint.md)"},
        "managed": _obj(
            {
                "tenantPrefixes": {"type": "array", "items": _NONEMPTY},
                "include": _PATTERNS_BY_KIND,
                "exclude": _PATTERNS_BY_KIND,
            }
        ),
        "limits": _obj({"maxFileBytes": _BYTES}),
    }
)


def _document(kind: str, spec: dict[str, Any], *, spec_required: bool) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_ID_BASE}{kind}.json",
        "title": f"evtctl {kind}",
        **_obj(
            {
                "apiVersion": {"const": API_VERSION},
                "kind": {"const": kind},
                "metadata": METADATA,
                "spec": spec,
            },
            ("apiVersion", "kind", "metadata", *(("spec",) if spec_required else ())),
        ),
    }


ALL_KINDS: tuple[str, ...] = (*SPECS, ENVIRONMENT_KIND, WORKSPACE_KIND)
_SPEC_OPTIONAL = {Kind.CONSUMER_GROUP.value, Kind.PRINCIPAL.value, Kind.SERVICE.value}


@functools.cache
def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one document kind (raises KeyError for unknown kinds)."""
    if kind == WORKSPACE_KIND:
        return _document(kind, WORKSPACE_SPEC, spec_required=False)
    if kind == ENVIRONMENT_KIND:
        return _document(kind, _ENV_SPEC, spec_required=True)
    return _document(kind, SPECS[kind], spec_required=kind not in _SPEC_OPTIONAL)


def combined_schema() -> dict[str, Any]:
    """One schema accepting any manifest kind, chosen by ``kind`` (for editors)."""
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_ID_BASE}manifest.json",
        "title": "evtctl manifest",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {"kind": {"enum": list(ALL_KINDS)}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{kind}"},
            }
            for kind in ALL_KINDS
        ],
        "$defs": {kind: {k: v for k, v in kind_schema(kind).items() if k != "$schema"} for kind in ALL_KINDS},
    }
