"""Configuration, selection and suppression behaviour of the lint engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from evtctl.errors import InputError, UsageError
from evtctl.lint.config import load_config
from evtctl.lint.diagnostics import Severity
from evtctl.lint.engine import run_lint
from evtctl.lint.registry import RULES, by_code, find
from tests.lint.helpers import FIXTURES, lint, load, materialize

TOPIC = """apiVersion: evtctl/v1
kind: Topic{comment}
metadata:
  name: {name}
  owner: team-x
  description: Something happened.
  classification: internal{annotations}
spec:
  partitions: 3
  replicationFactor: 3
  configs: {{min.insync.replicas: 2}}
"""


def _workspace(tmp_path: Path, text: str, lint_config: str = "") -> Path:
    root = materialize(tmp_path)
    (root / "topology" / "extra.yaml").write_text(text)
    if lint_config:
        config = (root / "evtctl.yaml").read_text().replace("  lint:\n", "  lint:\n" + lint_config)
        (root / "evtctl.yaml").write_text(config)
    return root


def _topic(name: str = "shop.orders.legacy", comment: str = "", annotations: str = "") -> str:
    return TOPIC.format(name=name, comment=comment, annotations=annotations)


def codes(root: Path, **kwargs: object) -> list[str]:
    return sorted({d.code for d in lint(root, **kwargs)})


def test_registry_codes_and_slugs_are_unique_and_complete() -> None:
    assert len(RULES) >= 30
    keys = [k for r in RULES for k in (r.code, r.slug, *r.aliases)]
    assert len(keys) == len(set(keys))
    for r in RULES:
        assert r.rationale and r.summary and r.bad.strip() and r.good.strip()
        assert find(r.slug) is r and find(r.code.lower()) is r and by_code(r.code) is r


def test_unsuppressed_topic_fires_retention_unset(tmp_path: Path) -> None:
    root = _workspace(tmp_path, _topic())
    assert "EVT106" in codes(root)


@pytest.mark.parametrize(
    "comment",
    [
        '   # evtctl: disable=EVT106 reason="cluster default is intended"',
        "   # evtctl: disable=retention-unset reason='cluster default is intended'",
        '   # evtctl: disable=EVT307, EVT106 reason="cluster default is intended"',
    ],
)
def test_comment_on_resource_head_suppresses(tmp_path: Path, comment: str) -> None:
    root = _workspace(tmp_path, _topic(comment=comment))
    found = codes(root)
    assert "EVT106" not in found and "EVT902" not in found
    if "EVT307" in comment:  # the topic has no consumer, so that part is used too
        assert "EVT901" not in found


def test_comment_on_line_above_the_field_suppresses(tmp_path: Path) -> None:
    text = _topic().replace(
        "  configs: {min.insync.replicas: 2}",
        '  # evtctl: disable=EVT106 reason="cluster default"\n  configs: {min.insync.replicas: 2}',
    )
    # EVT106 points at `spec`; a comment right above `configs` is not on that line: still reported.
    assert "EVT106" in codes(_workspace(tmp_path, text))


def test_annotation_suppresses_and_unused_annotation_is_reported(tmp_path: Path) -> None:
    used = '\n  annotations:\n    lint.evtctl.io/disable: EVT106 reason="cluster default"'
    root = _workspace(tmp_path, _topic(annotations=used))
    assert "EVT106" not in codes(root) and "EVT901" not in codes(root)
    unused = '\n  annotations:\n    lint.evtctl.io/disable: EVT105 reason="n/a"'
    diags = [d for d in lint(_workspace(tmp_path / "b", _topic(annotations=unused))) if d.code == "EVT901"]
    assert len(diags) == 1 and "EVT105" in diags[0].message
    assert diags[0].location.line == 9  # the annotation's own line


def test_reasonless_and_unknown_suppressions_are_reported_and_do_not_suppress(tmp_path: Path) -> None:
    root = _workspace(tmp_path, _topic(comment="   # evtctl: disable=EVT106,EVT777"))
    diags = lint(root)
    found = {d.code for d in diags}
    assert {"EVT106", "EVT902", "EVT901"} <= found
    assert any("EVT777" in d.message for d in diags if d.code == "EVT901")


def test_config_disable_severity_and_options(tmp_path: Path) -> None:
    config = (
        "    disable: [missing-classification, flow]\n"
        "    severity: {EVT106: error}\n"
        "    rules: {EVT101: {min_replication_factor: 5}}\n"
    )
    root = _workspace(tmp_path, _topic(), config)
    diags = lint(root)
    found = {d.code: d for d in diags}
    assert found["EVT106"].severity is Severity.ERROR
    assert "EVT307" not in found and "EVT006" not in found  # the whole flow family is off
    assert "replication factor 3, below 5" in found["EVT101"].message


def test_per_tenant_naming_pattern(tmp_path: Path) -> None:
    # The base config gives tenant billing its own pattern; a shop topic follows the default one.
    config = "    naming:\n      topic: '^[a-z]+(\\.[a-z]+)+$'\n"
    text = _topic("shop.orders-legacy") + "---\n" + _topic("billing.invoices-legacy")
    root = materialize(tmp_path)
    (root / "topology" / "extra.yaml").write_text(text)
    cfg = (root / "evtctl.yaml").read_text().replace("    naming:\n", config, 1)
    (root / "evtctl.yaml").write_text(cfg)
    flagged = [d.message for d in lint(root) if d.code == "EVT001"]
    assert len(flagged) == 1 and "shop.orders-legacy" in flagged[0]


def test_select_and_ignore(tmp_path: Path) -> None:
    root = _workspace(tmp_path, _topic())
    assert codes(root, select=["EVT106"]) == ["EVT106"]
    assert set(codes(root, select=["topic"])) <= {r.code for r in RULES if r.family == "topic"}
    assert "EVT106" not in codes(root, ignore=["retention-unset"])
    with pytest.raises(UsageError, match="unknown lint rule 'EVT999'"):
        run_lint(load(root), select=["EVT999"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"disabel": ["EVT101"]}, "unknown key 'disabel'"),
        ({"disable": ["EVT1O1"]}, "unknown lint rule"),
        ({"severity": {"EVT101": "fatal"}}, "unknown severity"),
        ({"naming": {"topic": "(["}}, "not a valid regular expression"),
        ({"rules": {"EVT101": {"min_rf": 2}}}, "has no option 'min_rf'"),
        ({"rules": {"EVT101": {"min_replication_factor": "three"}}}, "must be int"),
        ({"disable": 3}, "must be a list"),
    ],
)
def test_bad_lint_config_is_a_located_input_error(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_config(raw, RULES)


def test_fixture_tree_has_a_directory_per_rule() -> None:
    names = {p.name.partition("-")[0] for p in FIXTURES.iterdir() if not p.name.startswith("_")}
    assert names == {r.code for r in RULES}


def test_renamed_rule_keeps_its_old_slug_as_alias(tmp_path: Path) -> None:
    import dataclasses

    from evtctl.lint.config import resolve

    renamed = dataclasses.replace(by_code("EVT106"), slug="retention-explicit", aliases=("retention-unset",))
    rules = tuple(renamed if r.code == "EVT106" else r for r in RULES)
    assert resolve(["retention-unset"], rules) == {"EVT106"}
    assert load_config({"disable": ["retention-unset"]}, rules).disabled == {"EVT106"}
    root = _workspace(tmp_path, _topic(comment='   # evtctl: disable=retention-unset reason="old name"'))
    found = {d.code for d in run_lint(load(root), rules=rules).diagnostics}
    assert "EVT106" not in found and "EVT901" not in found


def test_cycle_detection_is_iterative_and_finds_every_component() -> None:
    from evtctl.lint.rules.flow import strongly_connected

    chain = {f"s{i}": [f"s{i + 1}"] for i in range(20_000)}
    chain["s20000"] = []
    assert all(len(c) == 1 for c in strongly_connected(chain))  # deep, acyclic: no recursion limit
    chain["s20000"] = ["s0"]
    assert [len(c) for c in strongly_connected(chain)] == [20_001]
    graph = {"a": ["b"], "b": ["a", "c"], "c": ["d"], "d": ["c"], "e": ["e"], "f": []}
    components = sorted(sorted(c) for c in strongly_connected(graph))
    assert components == [["a", "b"], ["c", "d"], ["e"], ["f"]]


def test_environment_overlay_is_linted_as_deployed(tmp_path: Path) -> None:
    from evtctl.workspace import check_workspace

    root = materialize(tmp_path)
    assert "EVT101" not in codes(root)
    workspace, problems = check_workspace(root, environment="dev")
    assert not problems and workspace is not None
    (hit,) = [d for d in run_lint(workspace).diagnostics if d.code == "EVT101"]
    assert "shop.orders.created" in hit.message
    assert hit.location.file is not None and hit.location.file.endswith("evtctl.yaml")  # the overlay's line


def test_lint_json_schema_agrees_with_the_loader() -> None:
    import jsonschema

    from evtctl.lint.config import lint_json_schema

    schema = lint_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "disable": ["EVT006", "flow", "retention-unset"],
        "severity": {"EVT101": "error"},
        "naming": {"topic": "^x$", "tenants": {"a": "^a\\."}},
        "rules": {"EVT104": {"max_partitions": 10}},
    }
    assert not list(validator.iter_errors(good))
    load_config(good, RULES)
    for bad in ({"disabel": []}, {"disable": ["EVT1O1"]}, {"rules": {"EVT104": {"max": 1}}}):
        assert list(validator.iter_errors(bad))
        with pytest.raises(InputError):
            load_config(bad, RULES)


@pytest.mark.parametrize(
    ("principal", "prefix", "foreign"),
    [
        ("billing-ledger", "sh", "'shop'"),  # shorter than the tenant prefix: reaches all of shop
        ("shop-inventory", "b", "'billing'"),  # a one-letter prefix: reaches the other tenant
        ("shop-inventory", "shop.orders.", None),  # inside its own namespace
    ],
)
def test_prefixed_acls_are_checked_against_every_tenant_they_reach(
    tmp_path: Path, principal: str, prefix: str, foreign: str | None
) -> None:
    policy = (
        "apiVersion: evtctl/v1\nkind: AccessPolicy\nmetadata: {name: p}\nspec:\n"
        f"  principal: {principal}\n  rules:\n"
        f'    - {{resourceType: TOPIC, name: "{prefix}", patternType: PREFIXED, operations: [READ]}}\n'
    )
    hits = [d.message for d in lint(_workspace(tmp_path, policy)) if d.code == "EVT403"]
    if foreign is None:
        assert hits == []
    else:
        assert len(hits) == 1 and f"namespace of tenant {foreign}" in hits[0]
