"""`evtctl validate` and `evtctl manifest-schema` as real processes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import run_evtctl

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (REPO_ROOT / "examples").iterdir() if (p / "evtctl.yaml").is_file())


def evtctl(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return run_evtctl(*args, cwd=cwd)


@pytest.mark.parametrize("environment", [None, "dev", "staging", "prod"])
def test_reference_workspace_validates(environment: str | None) -> None:
    result = evtctl("validate", *(["-e", environment] if environment else []))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ") and "17 topics" in result.stdout


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_validate(example: str) -> None:
    result = evtctl("validate", f"examples/{example}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 2


def test_json_output_lists_every_problem_with_position(tmp_path: Path) -> None:
    case = tmp_path / "ws"
    shutil.copytree(REPO_ROOT / "tests" / "corpus" / "invalid" / "unknown-field-metadata", case)
    (case / "topology" / "b.yaml").write_text("apiVersion: evtctl/v1\nkind: Topicc\nmetadata: {name: x}\n")
    result = evtctl("validate", "--output", "json", cwd=case)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    found = {(d["code"], d["file"], d["line"], d["col"]) for d in report["diagnostics"]}
    assert found == {("VAL006", "topology/a.yaml", 5, 3), ("VAL005", "topology/b.yaml", 2, 7)}
    assert all(d["severity"] == "error" and d["help"] for d in report["diagnostics"])


def test_single_file_outside_a_workspace_is_checked_alone(tmp_path: Path) -> None:
    manifest = tmp_path / "topic.yaml"
    manifest.write_text("apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec: {partitions: 1}\n")
    assert evtctl("validate", str(manifest), cwd=tmp_path).returncode == 0
    manifest.write_text("apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec: {partitions: -1}\n")
    result = evtctl("validate", str(manifest), cwd=tmp_path)
    assert result.returncode == 2 and "topic.yaml:4:20: error:" in result.stdout


def test_missing_path_and_missing_workspace_are_usage_errors(tmp_path: Path) -> None:
    missing = evtctl("validate", "no/such/dir", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    nowhere = evtctl("validate", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no evtctl.yaml found" in nowhere.stderr
    assert "Traceback" not in missing.stderr + nowhere.stderr


def test_manifest_schema_prints_valid_schemas() -> None:
    combined = evtctl("manifest-schema")
    assert combined.returncode == 0
    schema = json.loads(combined.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    topic = evtctl("manifest-schema", "--kind", "topic")
    assert topic.returncode == 0
    topic_schema = json.loads(topic.stdout)
    assert topic_schema["properties"]["kind"] == {"const": "Topic"}
    # Topic configs come from the Kafka catalog, so editors complete every key.
    assert "retention.ms" in topic_schema["properties"]["spec"]["properties"]["configs"]["properties"]


def test_manifest_schema_unknown_kind_suggests() -> None:
    result = evtctl("manifest-schema", "--kind", "Topik")
    assert result.returncode == 2
    assert "unknown kind 'Topik'" in result.stderr and "did you mean 'Topic'" in result.stderr


def test_part_of_a_workspace_is_checked_in_context(tmp_path: Path) -> None:
    # retail services consume logistics topics declared elsewhere: still resolved.
    assert evtctl("validate", "topology/retail/services.yaml").returncode == 0
    work = tmp_path / "ws"
    shutil.copytree(REPO_ROOT / "examples" / "minimal", work)
    (work / "topology" / "extra.yaml").write_text(
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: shop.x}\nspec: {partitions: many}\n"
    )
    (work / "topology" / "more").mkdir()
    (work / "topology" / "more" / "ok.yaml").write_text(
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: shop.y}\nspec: {partitions: 1}\n"
    )
    assert evtctl("validate", "topology/more", cwd=work).returncode == 0  # the broken file is elsewhere
    result = evtctl("validate", "topology", cwd=work)
    assert result.returncode == 2 and "topology/extra.yaml:4:20: error:" in result.stdout
