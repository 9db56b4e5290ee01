"""Compatibility-check benchmark: one candidate against a 200-version history, FULL_TRANSITIVE.

For each format the history grows a record by one optional field per version (every version
compatible with all earlier ones, so every pair is checked fully). Measures, median of repeats:

- parse: first parse of a version (no cache) and a parse-cache hit (same text again);
- check: the candidate against all 200 versions in both directions, with the pair-result cache
  cleared (cold) and warm (every pair cached by (fingerprint, fingerprint, direction));
- Apache Avro's Python checker (``avro.compatibility``) on the same Avro history in the same run.

Run: ``python benchmarks/compat.py [--versions 200] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evtctl.compat import check_compatibility, clear_cache, clear_parse_cache, parse_schema


def avro_version(n: int) -> str:
    fields = [{"name": "id", "type": "string"}]
    fields += [{"name": f"f{i}", "type": ["null", "long"], "default": None} for i in range(n)]
    return json.dumps({"type": "record", "name": "Order", "namespace": "bench", "fields": fields})


def proto_version(n: int) -> str:
    body = "\n".join(f"  int64 f{i} = {i + 2};" for i in range(n))
    return f'syntax = "proto3";\npackage bench.v1;\nmessage Order {{\n  string id = 1;\n{body}\n}}\n'


def json_version(n: int) -> str:
    # A partially open content model: every added property is covered by additionalProperties,
    # so each version is FULL compatible with all the others.
    extra = {"type": "integer", "minimum": 0}
    props = {"id": {"type": "string"}, **{f"f{i}": dict(extra) for i in range(n)}}
    return json.dumps(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": props,
            "additionalProperties": extra,
            "required": ["id"],
        }
    )


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU time of ``fn`` in ms: process CPU time, because this machine is shared and wall
    time swings with other people's load (wall time is printed alongside for the checks)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def median_wall_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_format(st: str, make: Callable[[int], str], n: int, repeat: int) -> float:
    texts = [make(i) for i in range(n + 1)]
    clear_parse_cache()
    start = time.process_time()
    parsed = [parse_schema(st, t) for t in texts]
    parse_cold = (time.process_time() - start) * 1000 / len(texts)
    parse_hit = median_ms(lambda: parse_schema(st, texts[-1]), repeat * 20)
    candidate, history = parsed[-1], parsed[:-1]

    def cold() -> None:
        clear_cache()
        report = check_compatibility(candidate, history, "FULL_TRANSITIVE")
        assert report.compatible, report.violations[:3]

    check_cold = median_ms(cold, repeat)
    check_wall = median_wall_ms(cold, repeat)
    check_warm = median_ms(lambda: check_compatibility(candidate, history, "FULL_TRANSITIVE"), repeat)
    print(
        f"{st:<12}{parse_cold:>10.2f}ms{parse_hit:>10.4f}ms{check_cold:>10.1f}ms{check_wall:>10.1f}ms"
        f"{check_warm:>10.2f}ms"
    )
    return check_cold


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, repeat = args.versions, args.repeat
    print(f"history: {n} versions, candidate = version {n + 1}, level FULL_TRANSITIVE, median of {repeat}")
    print("CPU ms unless marked wall; check = candidate vs all 200 versions, both directions")
    print(
        f"{'format':<12}{'parse cold':>12}{'parse hit':>12}{'check cold':>12}{'cold wall':>12}"
        f"{'check warm':>12}"
    )
    results: dict[str, float] = {}
    for st, make in (("AVRO", avro_version), ("PROTOBUF", proto_version), ("JSON", json_version)):
        results[st] = bench_format(st, make, n, repeat)

    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    texts = [avro_version(i) for i in range(n + 1)]
    start = time.process_time()
    schemas = [avro.schema.parse(t) for t in texts]
    apache_parse = (time.process_time() - start) * 1000 / len(texts)
    cand = schemas[-1]

    def apache() -> None:
        for old in schemas[:-1]:
            for reader, writer in ((cand, old), (old, cand)):
                result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
                assert result.compatibility is SchemaCompatibilityType.compatible

    apache_check = median_ms(apache, max(1, repeat // 2))
    apache_wall = median_wall_ms(apache, 1)
    print(
        f"{'apache-avro':<12}{apache_parse:>10.2f}ms{'-':>12}{apache_check:>10.1f}ms{apache_wall:>10.1f}ms{'-':>12}"
    )
    print(f"ratio Apache Avro / evtctl (Avro check, cold cache): {apache_check / results['AVRO']:.2f}x")
    print(
        "target: < 100 ms per format per check (cold):",
        ", ".join(f"{k} {'ok' if v < 100 else 'MISSED'}" for k, v in results.items()),
    )


if __name__ == "__main__":
    main()
