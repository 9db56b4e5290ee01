"""The event flow of a workspace as a graph, rendered as Mermaid, PlantUML or Graphviz DOT.

:func:`build_graph` turns the typed workspace into plain nodes and edges (sorted, so output is
deterministic); each renderer is a pure function of that graph.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from evtctl.manifest.model import Classification, Workspace

FORMATS: tuple[str, ...] = ("mermaid", "plantuml", "dot")


@dataclass(frozen=True, slots=True)
class Node:
    id: str  # safe identifier in every output format
    kind: str  # "service" | "topic" | "group"
    label: str
    tenant: str | None = None
    tags: tuple[str, ...] = ()  # "dead-letter", "retry", "compacted", "pii"


@dataclass(frozen=True, slots=True)
class Edge:
    source: str  # node ids
    target: str
    kind: str  # "produces" | "consumes" | "member" | "dead-letter" | "retry"
    label: str = ""

    @property
    def dashed(self) -> bool:
        return self.kind in ("dead-letter", "retry")


@dataclass(slots=True)
class FlowGraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    _edge_set: set[Edge] = field(default_factory=set)

    def node_id(self, kind: str, name: str) -> str:
        return f"{_PREFIX[kind]}_{_SAFE.sub('_', name)}"

    def add_node(self, kind: str, name: str, *, tenant: str | None = None, tags: tuple[str, ...] = ()) -> str:
        base = self.node_id(kind, name)
        node_id = base
        n = 2
        # Distinct names can sanitize to the same id ("a.b" and "a_b"); keep them distinct nodes.
        while node_id in self.nodes and self.nodes[node_id].label != name:
            node_id, n = f"{base}_{n}", n + 1
        existing = self.nodes.get(node_id)
        merged = tuple(sorted(set(tags) | set(existing.tags))) if existing else tuple(sorted(set(tags)))
        self.nodes[node_id] = Node(
            node_id, kind, name, tenant or (existing.tenant if existing else None), merged
        )
        return node_id

    def add_edge(self, source: str, target: str, kind: str, label: str = "") -> None:
        edge = Edge(source, target, kind, label)
        if edge not in self._edge_set:
            self._edge_set.add(edge)
            self.edges.append(edge)

    def sorted(self) -> FlowGraph:
        out = FlowGraph()
        order = {"service": 0, "topic": 1, "group": 2}
        for node in sorted(self.nodes.values(), key=lambda n: (order[n.kind], n.label, n.id)):
            out.nodes[node.id] = node
        out.edges = sorted(self.edges, key=lambda e: (e.source, e.target, e.kind, e.label))
        out._edge_set = set(out.edges)
        return out


_PREFIX = {"service": "svc", "topic": "topic", "group": "group"}
_SAFE = re.compile(r"[^A-Za-z0-9_]")


def build_graph(workspace: Workspace) -> FlowGraph:
    graph = FlowGraph()
    dead_letters = {
        c.dead_letter_topic for s in workspace.services for c in s.consumes if c.dead_letter_topic
    }
    retries = {c.retry.topic for s in workspace.services for c in s.consumes if c.retry and c.retry.topic}

    def topic_node(name: str) -> str:
        topic = workspace.topic(name)
        tags: list[str] = []
        if name in dead_letters:
            tags.append("dead-letter")
        if name in retries:
            tags.append("retry")
        if topic is not None and topic.compacted:
            tags.append("compacted")
        if topic is not None and topic.metadata.classification is Classification.PII:
            tags.append("pii")
        return graph.add_node("topic", name, tenant=topic.tenant if topic else None, tags=tuple(tags))

    for topic in workspace.topics:
        topic_node(topic.name)
    for service in workspace.services:
        svc = graph.add_node("service", service.name, tenant=service.tenant)
        for prod in service.produces:
            graph.add_edge(
                svc,
                topic_node(prod.topic),
                "produces",
                f"key: {prod.partition_key}" if prod.partition_key else "",
            )
        for cons in service.consumes:
            group = graph.add_node("group", cons.group, tenant=service.tenant)
            graph.add_edge(topic_node(cons.topic), group, "consumes")
            graph.add_edge(group, svc, "member")
            if cons.retry is not None and cons.retry.topic:
                retry = topic_node(cons.retry.topic)
                graph.add_edge(svc, retry, "retry", f"retry x{cons.retry.attempts}")
                graph.add_edge(retry, group, "consumes")
            if cons.dead_letter_topic:
                graph.add_edge(
                    svc, topic_node(cons.dead_letter_topic), "dead-letter", f"dead letter of {cons.topic}"
                )
    for cg in workspace.consumer_groups:
        group = graph.add_node("group", cg.group_id, tenant=cg.tenant)
        if cg.service is not None and workspace.service(cg.service) is not None:
            graph.add_edge(group, graph.add_node("service", cg.service), "member")
    return graph.sorted()


# --- renderers --------------------------------------------------------------------------------------


def _by_tenant(graph: FlowGraph) -> list[tuple[str | None, list[Node]]]:
    """Nodes grouped by tenant (sorted), tenant-less nodes last; drawn as one box per tenant."""
    groups: dict[str | None, list[Node]] = {}
    for node in graph.nodes.values():
        groups.setdefault(node.tenant, []).append(node)
    out: list[tuple[str | None, list[Node]]] = [(t, groups[t]) for t in sorted(t for t in groups if t)]
    if None in groups:
        out.append((None, groups[None]))
    return out


def _block_id(tenant: str) -> str:
    return "tenant_" + _SAFE.sub("_", tenant)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def render_mermaid(graph: FlowGraph) -> str:
    shapes = {"service": ('["', '"]'), "topic": ('[("', '")]'), "group": ('{{"', '"}}')}
    lines = ["flowchart LR"]
    for tenant, nodes in _by_tenant(graph):
        indent = "    "
        if tenant is not None:
            lines.append(f'    subgraph {_block_id(tenant)}["tenant {_mermaid_text(tenant)}"]')
            indent = "        "
        for node in nodes:
            left, right = shapes[node.kind]
            tags = f" ({', '.join(node.tags)})" if node.tags else ""
            lines.append(f"{indent}{node.id}{left}{_mermaid_text(node.label + tags)}{right}")
        if tenant is not None:
            lines.append("    end")
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    lines += [
        "    classDef service fill:#e8f0fe,stroke:#3367d6",
        "    classDef topic fill:#fef7e0,stroke:#f9ab00",
        "    classDef group fill:#e6f4ea,stroke:#188038",
        "    classDef deadletter fill:#fce8e6,stroke:#d93025",
    ]
    for kind in ("service", "topic", "group"):
        ids = [n.id for n in graph.nodes.values() if n.kind == kind and "dead-letter" not in n.tags]
        if ids:
            lines.append(f"    class {','.join(ids)} {kind}")
    dlq = [n.id for n in graph.nodes.values() if "dead-letter" in n.tags]
    if dlq:
        lines.append(f"    class {','.join(dlq)} deadletter")
    return "\n".join(lines) + "\n"


def _plantuml_text(text: str) -> str:
    return text.replace('"', "'")


def render_plantuml(graph: FlowGraph) -> str:
    elements = {"service": "component", "topic": "queue", "group": "collections"}
    lines = ["@startuml", "left to right direction", "skinparam componentStyle rectangle"]
    for tenant, nodes in _by_tenant(graph):
        indent = ""
        if tenant is not None:
            lines.append(f'rectangle "tenant {_plantuml_text(tenant)}" as {_block_id(tenant)} {{')
            indent = "  "
        for node in nodes:
            stereo = "".join(f" <<{t}>>" for t in node.tags)
            lines.append(f'{indent}{elements[node.kind]} "{_plantuml_text(node.label)}" as {node.id}{stereo}')
        if tenant is not None:
            lines.append("}")
    for edge in graph.edges:
        arrow = "..>" if edge.dashed else "-->"
        label = f" : {_plantuml_text(edge.label)}" if edge.label else ""
        lines.append(f"{edge.source} {arrow} {edge.target}{label}")
    lines.append("@enduml")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(graph: FlowGraph) -> str:
    shapes = {"service": "box", "topic": "cds", "group": "hexagon"}
    lines = [
        "digraph evtctl {",
        "    rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=10];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for tenant, nodes in _by_tenant(graph):
        indent = "    "
        if tenant is not None:
            # "cluster_" makes Graphviz draw the subgraph as a box.
            lines += [
                f"    subgraph cluster_{_block_id(tenant)} {{",
                f"        label={_dot_string('tenant ' + tenant)};",
            ]
            indent = "        "
        for node in nodes:
            attrs = [f"label={_dot_string(node.label)}", f"shape={shapes[node.kind]}"]
            if node.kind == "service":
                attrs.append('style="rounded"')
            if "dead-letter" in node.tags:
                attrs.append('color="red"')
            if node.tags:
                attrs.append(f"tooltip={_dot_string(', '.join(node.tags))}")
            lines.append(f"{indent}{node.id} [{', '.join(attrs)}];")
        if tenant is not None:
            lines.append("    }")
    for edge in graph.edges:
        attrs = []
        if edge.label:
            attrs.append(f"label={_dot_string(edge.label)}")
        if edge.dashed:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[FlowGraph], str]] = {
    "mermaid": render_mermaid,
    "plantuml": render_plantuml,
    "dot": render_dot,
}


def render(workspace: Workspace, fmt: str) -> str:
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        from evtctl.errors import UsageError

        raise UsageError(
            f"unknown graph format {fmt!r}", help=f"choose one of: {', '.join(FORMATS)}"
        ) from None
    return renderer(build_graph(workspace))
