"""Renderers and the saved-plan format, without a cluster."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from evtctl.errors import InputError
from evtctl.kafka.topic_configs import normalize
from evtctl.plan.apply import reference_layers
from evtctl.plan.diff import DiffOptions, diff
from evtctl.plan.model import PLAN_JSON_SCHEMA, Plan
from evtctl.plan.render import render_json, render_markdown, render_text
from evtctl.plan.schemas import canonical
from evtctl.plan.scope import Scopes
from evtctl.plan.session import PlanResult, load_plan, save_plan, staleness
from evtctl.plan.state import (
    AclBindingState,
    ClusterState,
    SchemaRef,
    SchemaVersion,
    SubjectState,
    TopicState,
    fingerprint,
)


def sample_plan() -> tuple[Plan, ClusterState]:
    ms = normalize("retention.ms", "7d")
    live = ClusterState.build(
        [
            TopicState("orders", 3, 1, (("retention.ms", ms), ("segment.ms", "3600000"))),
            TopicState("old", 1, 1),
            TopicState("shrink", 6, 1),
            AclBindingState("User:a", "TOPIC", "old", "LITERAL", "READ", "ALLOW"),
        ]
    )
    desired = ClusterState.build(
        [
            TopicState("orders", 6, 1, (("retention.ms", "86400000"), ("segment.ms", "3600000")), keyed=True),
            TopicState("new", 2, 1, (("cleanup.policy", "compact"),)),
            TopicState("shrink", 2, 1),
        ]
    )
    return diff(desired, live, Scopes.everything(), DiffOptions(allow_delete=True)), live


def test_text_is_terraform_like_with_badges_and_hidden_unchanged_keys() -> None:
    plan, _ = sample_plan()
    text = render_text(plan)
    assert "  + topic/new  [safe]" in text
    assert "  ~ topic/orders  [data-loss]" in text
    assert "~ partitions: 3 -> 6  [needs-approval]" in text
    assert "~ config.retention.ms: 604800000 -> 86400000  [data-loss]" in text
    assert "segment.ms" not in text  # unchanged keys are hidden
    assert (
        "  - topic/old  [data-loss]" in text
        and "  - acl/User:a ALLOW READ topic:old @*  [needs-approval]" in text
    )
    assert "! topic/shrink: partition count cannot decrease" in text and "recipe:" in text
    assert "Plan: 1 to create, 1 to update, 2 to delete, 1 error(s)." in text
    assert "\033[" not in text
    assert "\033[32m+\033[0m" in render_text(plan, color=True)


def test_empty_plan_says_so() -> None:
    assert "No changes." in render_text(Plan())
    assert "No changes." in render_markdown(Plan())


def test_markdown_has_summary_table_risky_list_and_collapsible_details() -> None:
    plan, _ = sample_plan()
    md = render_markdown(plan)
    assert "| 1 | 1 | 2 | 1 |" in md
    assert "| ~ | `topic/orders` | **data-loss** |" in md
    assert "<details><summary>4 change(s)</summary>" in md and "```diff" in md and "</details>" in md
    assert "- `topic/shrink`: partition count cannot decrease" in md


def test_json_matches_the_published_schema_and_round_trips() -> None:
    plan, _ = sample_plan()
    data = json.loads(render_json(plan, extra={"context": "prod", "round_trips": 7}))
    jsonschema.validate(data, PLAN_JSON_SCHEMA)
    assert Plan.from_json(data) == plan
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "format_version": 99}, PLAN_JSON_SCHEMA)


def test_saved_plan_round_trip_and_staleness(tmp_path: Path) -> None:
    plan, live = sample_plan()
    path = tmp_path / "plan.json"
    save_plan(
        path,
        PlanResult(plan, live, tuple(sorted(live.kinds))),
        context="prod",
        workspace="/ws",
    )
    jsonschema.validate(json.loads(path.read_text()), PLAN_JSON_SCHEMA)
    saved = load_plan(path)
    assert set(saved.kinds) == set(live.kinds)
    assert saved.plan == plan and saved.context == "prod" and dict(saved.fingerprint) == fingerprint(live)
    changed = ClusterState.build(
        [
            TopicState("orders", 3, 1, (("retention.ms", "1"),)),
            TopicState("sneaky", 1, 1),
            TopicState("old", 1, 1),
        ],
        kinds=live.kinds,
    )
    lines = staleness(saved.fingerprint, fingerprint(changed))
    assert (
        "topic/orders changed" in lines
        and "topic/sneaky appeared" in lines
        and "topic/shrink disappeared" in lines
    )


@pytest.mark.parametrize(
    "content", ["{not json", '{"format_version": 7}', '{"format_version": 1, "changes": 3}']
)
def test_damaged_saved_plan_is_an_input_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        load_plan(path)
    assert err.value.location is not None and err.value.location.file == str(path)


def test_schema_identity_ignores_layout() -> None:
    assert canonical("AVRO", '{"type": "string"}') == canonical("AVRO", '{ "type" :"string" }')
    a = 'syntax = "proto3";\n// c\nmessage A {\n  string id = 1;\n}\n'
    b = 'syntax="proto3"; message A { string id = 1; }'
    assert canonical("PROTOBUF", a) == canonical("PROTOBUF", b)
    assert canonical("PROTOBUF", a) != canonical("PROTOBUF", b.replace("id", "key"))


def test_subjects_register_after_the_subjects_they_reference() -> None:
    def subject(name: str, *refs: str) -> SubjectState:
        v = SchemaVersion(0, "AVRO", "{}", "{}", tuple(SchemaRef(r, r, -1) for r in refs))
        return SubjectState(name, (v,))

    desired = ClusterState.build([subject("c", "b"), subject("b", "a"), subject("a"), subject("z")])
    plan = diff(desired, ClusterState.build([]), Scopes())
    layers = [[c.name for c in layer] for layer in reference_layers(plan.changes)]
    assert layers == [["a", "z"], ["b"], ["c"]]
