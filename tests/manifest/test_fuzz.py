"""Arbitrary edits of valid manifests never crash the loader: they load or yield located problems."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtctl.workspace import check_workspace

BASE = """apiVersion: evtctl/v1
kind: Topic
metadata: {name: shop.orders, owner: team, labels: {a: b}}
spec:
  partitions: 3
  configs: {retention.ms: 7d, cleanup.policy: [compact, delete]}
---
apiVersion: evtctl/v1
kind: Service
metadata: {name: svc}
spec:
  produces: [{topic: shop.orders, partitionKey: id}]
  consumes:
    - topic: shop.orders
      retry: {attempts: 3, backoff: 1s}
      deadLetterTopic: shop.orders
---
apiVersion: evtctl/v1
kind: Subject
metadata: {name: s}
spec: {topic: shop.orders, value: {schema: a.avsc}}
"""
TOKENS = [
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!!str",
    "\t",
    "\n",
    "  ",
    "---",
    "'",
    '"',
    "${x}",
    "\x00",
    "é",
    "#",
]


def _edited(base: str, max_edits: int) -> st.SearchStrategy[str]:
    """``base`` after 1..``max_edits`` edits: at a position, cut up to 6 characters, insert a token."""
    edit = st.tuples(
        st.integers(0, len(base)), st.integers(0, 6), st.sampled_from(TOKENS) | st.text(max_size=4)
    )

    def apply(edits: list[tuple[int, int, str]]) -> str:
        text = base
        for position, cut, insert in edits:
            text = text[:position] + insert + text[position + cut :]
        return text

    return st.lists(edit, min_size=1, max_size=max_edits).map(apply)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_edited(BASE, 4))
def test_edited_manifests_never_crash(tmp_path: Path, text: str) -> None:
    (tmp_path / "evtctl.yaml").write_text("apiVersion: evtctl/v1\nkind: Workspace\nmetadata: {name: f}\n")
    (tmp_path / "a.avsc").write_text('{"type": "record", "name": "A", "fields": []}')
    (tmp_path / "topology").mkdir(exist_ok=True)
    (tmp_path / "topology" / "a.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    workspace, problems = check_workspace(tmp_path)
    assert workspace is not None
    for problem in problems:
        assert problem.location.file is not None, problem
        assert problem.message


CONFIG = """apiVersion: evtctl/v1
kind: Workspace
metadata: {name: f}
spec:
  paths: {manifests: [topology], schemas: [.]}
  contexts:
    prod: {kind: kafka, bootstrapServers: [k:9092], security: {protocol: SASL_SSL, saslMechanism: PLAIN}}
  variables: {n: 3}
  environments:
    dev:
      variables: {n: 1}
      overlays: [{kind: Topic, names: ["shop.*"], spec: {partitions: 2}}]
  managed: {tenantPrefixes: [shop.], exclude: {Topic: [shop.x]}}
  limits: {maxFileBytes: 1MiB}
"""


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_edited(CONFIG, 3))
def test_edited_workspace_config_never_crashes(tmp_path: Path, text: str) -> None:
    (tmp_path / "evtctl.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    (tmp_path / "topology").mkdir(exist_ok=True)
    (tmp_path / "topology" / "a.yaml").write_text(BASE.replace("partitions: 3", "partitions: ${n}"))
    (tmp_path / "a.avsc").write_text('{"type": "record", "name": "A", "fields": []}')
    workspace, problems = check_workspace(tmp_path)
    assert workspace is not None
    assert all(p.location.file and p.message for p in problems)
