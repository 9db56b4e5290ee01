"""Every broken input in tests/corpus/invalid/ gives located errors and exit 2, never a traceback.

Each case is a directory holding a small workspace (``evtctl.yaml`` plus manifests and schema
files), ``expected.txt`` (lines that must appear verbatim in the output, normally
``file:line:col: error: message``) and optionally ``args.txt`` (extra validate arguments). The
cases run through the real CLI process; they are started a few at a time up front so the suite
stays fast on two cores, and each case is still its own test.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.cli import run_evtctl

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "tests" / "corpus" / "invalid"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _run(case: str, base: Path) -> subprocess.CompletedProcess[str]:
    work = base / case
    shutil.copytree(CORPUS / case, work)
    args_file = CORPUS / case / "args.txt"
    args = args_file.read_text().split() if args_file.exists() else []
    return run_evtctl("validate", *args, cwd=work)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("corpus")
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(CASES, pool.map(lambda c: _run(c, base), CASES), strict=True))
    return done


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_invalid_input_is_reported_with_location(
    case: str, results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = results[case]
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    expected = [line for line in (CORPUS / case / "expected.txt").read_text().splitlines() if line]
    assert expected, f"{case}/expected.txt is empty"
    for line in expected:
        assert line in output, f"missing {line!r} in:\n{output}"
    # Every error line is located (file:line:col) unless it is about the invocation as a whole.
    for line in output.splitlines():
        if ": error: " in line and "unknown environment" not in line:
            where = line.split(": error: ")[0]
            assert where.count(":") >= 2, f"unlocated error: {line}"
