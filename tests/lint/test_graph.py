"""`evtctl graph`: every produce/consume/dead-letter edge is drawn, output is deterministic and parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evtctl.graph import FORMATS, FlowGraph, build_graph, render_dot, render_mermaid, render_plantuml
from tests.lint.helpers import FIXTURES, load, materialize
from tests.lint.test_cli import evtctl


@pytest.fixture(scope="module")
def graph_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Base plus a retry topic and a cycle, so every edge kind appears.
    root = materialize(tmp_path_factory.mktemp("graph"), FIXTURES / "EVT304-event-flow-cycle" / "bad")
    (root / "topology" / "retry.yaml").write_text(
        (
            FIXTURES / "EVT203-retry-topic-without-dead-letter" / "good" / "topology" / "fixture.yaml"
        ).read_text()
    )
    return root


def test_every_declared_flow_is_an_edge(graph_ws: Path) -> None:
    ws = load(graph_ws)
    graph = build_graph(ws)
    label = {n.id: (n.kind, n.label) for n in graph.nodes.values()}
    edges = {(label[e.source], label[e.target], e.kind) for e in graph.edges}
    expected: set[tuple[tuple[str, str], tuple[str, str], str]] = set()
    for service in ws.services:
        svc = ("service", service.name)
        for prod in service.produces:
            expected.add((svc, ("topic", prod.topic), "produces"))
        for cons in service.consumes:
            expected.add((("topic", cons.topic), ("group", cons.group), "consumes"))
            expected.add((("group", cons.group), svc, "member"))
            if cons.dead_letter_topic:
                expected.add((svc, ("topic", cons.dead_letter_topic), "dead-letter"))
            if cons.retry is not None and cons.retry.topic:
                expected.add((svc, ("topic", cons.retry.topic), "retry"))
    assert expected <= edges
    assert {k for _, _, k in edges} == {"produces", "consumes", "member", "dead-letter", "retry"}
    assert {t.name for t in ws.topics} <= {name for kind, name in label.values() if kind == "topic"}


def test_output_is_deterministic(graph_ws: Path) -> None:
    first, second = build_graph(load(graph_ws)), build_graph(load(graph_ws))
    for renderer in (render_mermaid, render_plantuml, render_dot):
        assert renderer(first) == renderer(second)


def _dot_statements(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """A strict parser for the DOT subset we emit: node, edge, attribute and subgraph statements."""
    ident = r"[A-Za-z_][A-Za-z0-9_]*"
    string = r'"(?:\\.|[^"\\])*"'
    value = rf"(?:{ident}|{string}|-?\d+(?:\.\d+)?)"
    attrs = rf"\[\s*{ident}={value}(?:\s*,\s*{ident}={value})*\s*\]"
    lines = text.strip().splitlines()
    assert lines[0] == "digraph evtctl {" and lines[-1] == "}"
    nodes: set[str] = set()
    edges: list[tuple[str, str]] = []
    depth = 0
    for line in lines[1:-1]:
        stmt = line.strip()
        if m := re.fullmatch(rf"({ident})\s*->\s*({ident})(?:\s*{attrs})?;", stmt):
            edges.append((m.group(1), m.group(2)))
        elif re.fullmatch(rf"(?:(?:node|edge)\s*{attrs}|{ident}={value});", stmt):
            pass  # default attributes and graph attributes
        elif re.fullmatch(rf"subgraph {ident} \{{", stmt):
            depth += 1
        elif stmt == "}":
            depth -= 1
            assert depth >= 0, "unbalanced braces"
        elif m := re.fullmatch(rf"({ident})\s*{attrs};", stmt):
            nodes.add(m.group(1))
        else:
            raise AssertionError(f"not a DOT statement: {stmt!r}")
    assert depth == 0, "unbalanced braces"
    return nodes, edges


def test_dot_parses_and_edges_join_declared_nodes(graph_ws: Path) -> None:
    graph = build_graph(load(graph_ws))
    nodes, edges = _dot_statements(render_dot(graph))
    assert nodes == set(graph.nodes)
    assert sorted(edges) == sorted((e.source, e.target) for e in graph.edges)


def test_mermaid_and_plantuml_reference_only_declared_nodes(graph_ws: Path) -> None:
    graph = build_graph(load(graph_ws))
    mermaid = render_mermaid(graph).splitlines()
    assert mermaid[0] == "flowchart LR"
    declared = {m.group(1) for line in mermaid if (m := re.match(r"\s+(\w+)[\[{(]", line))}
    assert declared == set(graph.nodes)
    arrows = [re.fullmatch(r"\s+(\w+) (?:-->|-\.->)(?:\|\"[^\"]*\"\|)? (\w+)", line) for line in mermaid]
    pairs = [(m.group(1), m.group(2)) for m in arrows if m]
    assert len(pairs) == len(graph.edges) and {p for pair in pairs for p in pair} <= declared
    uml = render_plantuml(graph).splitlines()
    assert uml[0] == "@startuml" and uml[-1] == "@enduml"
    assert sum(line.endswith("{") for line in uml) == sum(line == "}" for line in uml) == 2  # two tenants
    assert sum(line.strip().startswith("subgraph ") for line in mermaid) == mermaid.count("    end") == 2
    aliases = {
        m.group(1) for line in uml if (m := re.search(r" as (\w+)", line)) and not line.startswith("rect")
    }
    assert aliases == set(graph.nodes)
    for line in uml:
        if m := re.match(r"(\w+) (?:-->|\.\.>) (\w+)", line):
            assert {m.group(1), m.group(2)} <= aliases


def test_colliding_sanitized_names_stay_distinct_nodes() -> None:
    graph = FlowGraph()
    a = graph.add_node("topic", "a.b")
    b = graph.add_node("topic", "a_b")
    assert a != b and graph.add_node("topic", "a.b") == a


def test_graph_cli_writes_file_and_rejects_unknown_format(graph_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "flow.dot"
    result = evtctl("graph", str(graph_ws), "--format", "dot", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == render_dot(build_graph(load(graph_ws)))
    bad = evtctl("graph", str(graph_ws), "--format", "svg")
    assert bad.returncode == 2 and ", ".join(FORMATS) in bad.stderr


def test_graph_of_an_invalid_workspace_is_a_located_error(tmp_path: Path) -> None:
    root = materialize(tmp_path)
    broken = "apiVersion: evtctl/v1\nkind: Topik\nmetadata: {name: x}\n"
    (root / "topology" / "broken.yaml").write_text(broken)
    result = evtctl("graph", str(root))
    assert result.returncode == 2 and result.stdout == ""
    assert "broken.yaml:2:" in result.stderr and "Traceback" not in result.stderr
