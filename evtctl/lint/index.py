"""Relations between resources, computed once per lint run and shared by every rule.

The model's own helpers (``Workspace.producers_of`` ...) scan all services per call; rules asking
that for each of 10,000 topics would be quadratic, so this builds the maps in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from evtctl.lint.schema_fields import Outline, outline
from evtctl.manifest.model import (
    Consumption,
    Production,
    SchemaRef,
    Service,
    SubjectBinding,
    Tenant,
    Topic,
    Workspace,
)


@dataclass(slots=True)
class WorkspaceIndex:
    workspace: Workspace
    topics: dict[str, Topic] = field(default_factory=dict)
    producers: dict[str, list[tuple[Service, Production]]] = field(default_factory=lambda: defaultdict(list))
    consumers: dict[str, list[tuple[Service, Consumption]]] = field(default_factory=lambda: defaultdict(list))
    bindings: dict[str, list[SubjectBinding]] = field(default_factory=lambda: defaultdict(list))
    services_by_group: dict[str, list[Service]] = field(default_factory=lambda: defaultdict(list))
    # dead-letter topic -> the topics whose failures land there
    dead_letter_sources: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    retry_topics: set[str] = field(default_factory=set)
    principal_tenants: dict[str, str] = field(default_factory=dict)  # "User:x" -> tenant name
    _tenant_memo: dict[str, Tenant | None] = field(default_factory=dict)
    _outlines: dict[tuple[Path, str, str | None], Outline | None] = field(default_factory=dict)

    @classmethod
    def build(cls, workspace: Workspace) -> WorkspaceIndex:
        index = cls(workspace)
        index.topics = {t.name: t for t in workspace.topics}
        for service in workspace.services:
            for prod in service.produces:
                index.producers[prod.topic].append((service, prod))
            groups: set[str] = set()
            for cons in service.consumes:
                index.consumers[cons.topic].append((service, cons))
                groups.add(cons.group)
                if cons.dead_letter_topic:
                    index.dead_letter_sources[cons.dead_letter_topic].add(cons.topic)
                if cons.retry is not None and cons.retry.topic:
                    index.retry_topics.add(cons.retry.topic)
            for group in sorted(groups):
                index.services_by_group[group].append(service)
            if service.tenant:
                index.principal_tenants.setdefault(service.principal, service.tenant)
        for principal in workspace.principals:
            if principal.tenant:
                index.principal_tenants.setdefault(principal.principal, principal.tenant)
        for binding in workspace.subjects:
            index.bindings[binding.topic].append(binding)
        return index

    def tenant_of(self, name: str) -> Tenant | None:
        if name not in self._tenant_memo:
            self._tenant_memo[name] = self.workspace.tenant_of(name)
        return self._tenant_memo[name]

    def topic_tenant(self, topic: Topic | str) -> str | None:
        if isinstance(topic, Topic):
            if topic.tenant:
                return topic.tenant
            topic = topic.name
        found = self.tenant_of(topic)
        return found.name if found else None

    def value_ref(self, topic: str) -> SchemaRef | None:
        return next((b.value for b in self.bindings.get(topic, ()) if b.value is not None), None)

    def key_ref(self, topic: str) -> SchemaRef | None:
        return next((b.key for b in self.bindings.get(topic, ()) if b.key is not None), None)

    def outline(self, ref: SchemaRef) -> Outline | None:
        """The field outline of a schema file, parsed once per file."""
        key = (ref.file, ref.format.value, ref.record_name)
        if key not in self._outlines:
            self._outlines[key] = outline(ref.file, ref.format.value, ref.record_name)
        return self._outlines[key]

    def is_auxiliary(self, topic: str) -> bool:
        """Dead-letter and retry topics: plumbing, not part of the business event flow."""
        return topic in self.dead_letter_sources or topic in self.retry_topics
