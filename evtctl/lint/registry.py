"""THE list of lint rules. A rule exists for users only once it is listed here.

Codes are stable forever: never renumber or reuse one. Renaming a rule keeps the old slug in its
``aliases`` so configs and suppressions written against it keep working.
"""

from __future__ import annotations

from evtctl.lint.rule import Rule
from evtctl.lint.rules import contracts, delivery, flow, meta, naming, schema_rules, security, topics

RULES: tuple[Rule, ...] = (
    # naming and metadata
    naming.topic_naming,
    naming.missing_owner,
    naming.missing_description,
    naming.topic_name_collision,
    naming.outside_tenant_namespace,
    naming.missing_classification,
    # topic configuration
    topics.replication_factor_low,
    topics.min_insync_unsatisfiable,
    topics.min_insync_weak,
    topics.partitions_excessive,
    topics.unclean_leader_election,
    topics.retention_unset,
    topics.retention_unbounded,
    topics.retention_too_short,
    topics.segment_exceeds_retention,
    topics.compaction_without_key_schema,
    # delivery
    delivery.missing_idempotency_key,
    delivery.missing_dead_letter,
    delivery.retry_topic_without_dead_letter,
    delivery.effectively_once_not_transactional,
    delivery.tombstone_unsafe_consumer,
    delivery.dead_letter_retention_shorter,
    delivery.shared_consumer_group,
    delivery.offset_reset_latest,
    # flow and partitioning
    flow.ordering_without_entity_key,
    flow.low_cardinality_partition_key,
    flow.partition_key_not_in_schema,
    flow.event_flow_cycle,
    flow.mixed_traffic_topic,
    flow.topic_without_producer,
    flow.topic_without_consumer,
    # security and tenancy
    security.acl_wildcard_principal,
    security.acl_all_operations,
    security.acl_cross_tenant,
    security.pii_read_outside_tenant,
    security.acl_wildcard_resource,
    security.tenant_quota_missing,
    # contracts
    contracts.missing_value_contract,
    contracts.missing_tracing_ids,
    contracts.compatibility_none,
    # schemas (evtctl.compat)
    schema_rules.avro_optional_field_without_default,
    schema_rules.protobuf_field_number_not_reserved,
    schema_rules.json_schema_content_model_unspecified,
    schema_rules.schema_missing_doc,
    # suppressions
    meta.unused_suppression,
    meta.suppression_without_reason,
)

_BY_CODE = {r.code: r for r in RULES}


def by_code(code: str) -> Rule:
    return _BY_CODE[code]


def find(name: str) -> Rule | None:
    """A rule by code, slug or alias (case-insensitive)."""
    key = name.strip().lower()
    for r in RULES:
        if key in (r.code.lower(), r.slug, *r.aliases):
            return r
    return None
