"""`evtctl schema check` pair/history mode as a process: exit codes and output formats."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_evtctl

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"


def run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run_evtctl("schema", *args, cwd=cwd, clean_env=True)


def case(fmt: str, name: str) -> list[Path]:
    folder = CORPUS / fmt / name
    return sorted(folder.glob("v*.*"), key=lambda p: int(p.stem[1:]))


def test_compatible_pair_exits_0() -> None:
    result = run("check", "--type", "avro", "--level", "FULL", *case("avro", "add_field_with_default"))
    assert result.returncode == 0, result.stderr
    assert "compatible (FULL, AVRO" in result.stdout


def test_incompatible_pair_exits_1_with_reasons() -> None:
    result = run(
        "check", "--type", "avro", "--level", "BACKWARD", *case("avro", "array_of_records_field_type_change")
    )
    assert result.returncode == 1
    assert "Order.items[].price" in result.stdout and "old: int   new: string" in result.stdout
    assert "hint:" in result.stdout


def test_history_mode_transitive_levels() -> None:
    files = case("protobuf", "transitive_number_reuse")
    assert len(files) == 3
    assert run("check", "--type", "protobuf", "--level", "BACKWARD", *files).returncode == 0
    result = run("check", "--type", "protobuf", "--level", "BACKWARD_TRANSITIVE", "-o", "json", *files)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    (res,) = doc["results"]
    assert doc["compatible"] is False and res["level"] == "BACKWARD_TRANSITIVE"
    (violation,) = res["violations"]
    assert violation["rule_id"] == "PROTOBUF_FIELD_SCALAR_KIND_CHANGED"
    assert violation["version"] == str(files[0]) and violation["version_index"] == 0
    assert violation["path"] == "orders.v1.Order.qty (field 5)"
    assert (violation["old"], violation["new"]) == ("int32", "string")


def test_type_is_guessed_from_the_extension() -> None:
    assert run("check", *case("json", "enum_extended")).returncode == 0
    assert run("check", "--level", "FORWARD", *case("json", "enum_extended")).returncode == 1


@pytest.mark.parametrize("output", ["sarif", "github"])
def test_sarif_and_github_outputs(output: str) -> None:
    files = case("json", "closed_remove_property")
    result = run("check", "--level", "BACKWARD", "-o", output, *files)
    assert result.returncode == 1
    if output == "sarif":
        doc = json.loads(result.stdout)
        results = doc["runs"][0]["results"]
        assert [r["ruleId"] for r in results] == ["JSON_PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"]
        assert results[0]["level"] == "error"
    else:
        assert (
            result.stdout.startswith("::error ")
            and "JSON_PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" in result.stdout
        )


def test_avro_reference_files(tmp_path: Path) -> None:
    folder = CORPUS / "avro" / "reference_named_type_unchanged"
    result = run("check", "-r", folder / "money.avsc", folder / "v1.avsc", folder / "v2.avsc")
    assert result.returncode == 0, result.stderr
    missing = run("check", folder / "v1.avsc", folder / "v2.avsc")
    assert missing.returncode == 2 and "unknown type 'common.Money'" in missing.stderr


def test_protobuf_imports_next_to_the_file() -> None:
    assert run("check", "--level", "FULL", *case("protobuf", "import_unchanged_add_field")).returncode == 0
