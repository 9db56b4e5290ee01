"""Schema files checked ahead in a forked child give exactly the problems and names of checking
them in line (evtctl.manifest.schemafiles.SchemaFileChecker.prefetch)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.cli import copy_reference, fresh_python

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "invalid"
CASES = [
    "avro-not-json",
    "missing-schema-file",
    "unknown-schema-extension",
    "unparsable-avro",
    "unparsable-json-schema",
    "unparsable-protobuf",
]

# A fresh interpreter: this test process may have threads left by other tests, which disable
# forking. Each root is checked with the prefetch forced on (threshold 0) and with forking off.
_SCRIPT = """
import json, os, sys
from pathlib import Path
from evtctl import forking
from evtctl.manifest import schemafiles
from evtctl.workspace import check_workspace

schemafiles.PREFETCH_MIN_FILES = 0
spawned = []
real_spawn = forking.spawn
def counting_spawn(*args, **kwargs):
    wait = real_spawn(*args, **kwargs)
    spawned.append(wait is not None)
    return wait
forking.spawn = counting_spawn
hits = []
real_prefetched = schemafiles.SchemaFileChecker._prefetched
def counting_prefetched(self, file, fmt):
    outcome = real_prefetched(self, file, fmt)
    hits.append(outcome is not None)
    return outcome
schemafiles.SchemaFileChecker._prefetched = counting_prefetched
out = []
for root in sys.argv[1:]:
    both = []
    for no_fork in ("", "1"):
        os.environ["EVTCTL_NO_FORK"] = no_fork
        os.chdir(root)
        workspace, problems = check_workspace(Path(root))
        subjects = sorted((s.name, s.value.record_name if s.value else None) for s in workspace.subjects)
        both.append({"problems": [p.render() for p in problems], "subjects": subjects})
    out.append(both)
print(json.dumps({"runs": out, "spawned": spawned, "hits": sum(hits)}))
"""


def test_prefetched_schema_checks_match_in_line_checks(tmp_path: Path) -> None:
    roots = []
    for case in CASES:
        shutil.copytree(CORPUS / case, tmp_path / case)
        roots.append(tmp_path / case)
    reference = copy_reference(tmp_path / "reference")
    roots.append(reference)
    out = json.loads(fresh_python(_SCRIPT, *roots))
    assert any(out["spawned"]), "the prefetch never forked"
    assert out["hits"] > 0, "no check was answered by the prefetch"
    problems_seen = 0
    for root, (forked, in_line) in zip(roots, out["runs"], strict=True):
        assert forked == in_line, root.name
        problems_seen += len(forked["problems"])
    assert problems_seen >= len(CASES)  # every broken case reports its problem both ways
    assert out["runs"][-1][0]["problems"] == [] and out["runs"][-1][0]["subjects"]


def test_a_warm_cache_settles_every_file_without_forking(tmp_path: Path) -> None:
    """Files the schema cache knows are settled in line (a read and a hash); only the rest would
    be parsed in a child, so a second load of an unchanged workspace never forks."""
    reference = copy_reference(tmp_path / "reference")
    # Avro outcomes are cached; the reference binds one JSON Schema and one Protobuf file, never
    # cached, which stay under a threshold of 3 on the warm load
    script = _SCRIPT.replace("PREFETCH_MIN_FILES = 0", "PREFETCH_MIN_FILES = 3").replace(
        'for no_fork in ("", "1")', 'for no_fork in ("", "")'
    )
    out = json.loads(fresh_python(script, reference))
    cold, warm = out["runs"][0]
    assert out["spawned"] == [True], "the cold load parses in a child, the warm one does not fork"
    assert cold == warm and cold["problems"] == [] and cold["subjects"]
