"""Ownership: which live resources a workspace may delete, and which it must never touch."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Topics no workspace owns: Kafka's own (``__consumer_offsets``, ``__transaction_state``), the schema
# registry's ``_schemas`` and Confluent's ``_confluent-*``, Kafka Connect's storage topics and Kafka
# Streams' changelog/repartition topics. They are left out of live state entirely.
_INTERNAL_TOPIC = re.compile(
    r"^(_.*"
    r"|(.*[-_.])?connect[-_.]?(configs|offsets|status)"
    r"|.*-KSTREAM-.*"
    r"|.*-(changelog|repartition)"
    r")$"
)


def is_internal_topic(name: str) -> bool:
    return bool(_INTERNAL_TOPIC.match(name))


@dataclass(frozen=True, slots=True)
class KindScope:
    """Glob patterns (``fnmatch``) for the names of one kind this workspace owns.

    The name matched is the topic name, subject name, group id, SCRAM user name, the ACL's
    principal (``User:alice``) and each quota entity name.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    deletion: str = "retain"  # "delete": out-of-manifest resources in scope go without --allow-delete

    def manages(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.include) and not any(
            fnmatch.fnmatchcase(name, p) for p in self.exclude
        )


@dataclass(frozen=True, slots=True)
class Scopes:
    kinds: Mapping[str, KindScope] = field(default_factory=dict)

    def for_kind(self, kind: str) -> KindScope:
        return self.kinds.get(kind, KindScope())

    def manages(self, kind: str, name: str) -> bool:
        if kind == "topic" and is_internal_topic(name):
            return False
        return self.for_kind(kind).manages(name)

    @classmethod
    def everything(cls) -> Scopes:
        kinds = ("topic", "acl", "quota", "user", "subject", "consumer-group")
        return cls({k: KindScope(include=("*",)) for k in kinds})
