"""Generate a large, valid workspace for benchmarking validate and lint.

Default size: 10,000 topics, 2,000 services (each producing two topics and consuming two, which
derives 10 ACL entries per service: 20,000 in all), 2,000 subjects with their own Avro files,
2,000 principals and two tenants. Deterministic: the same arguments give the same files.

    python benchmarks/gen_workspace.py /tmp/bigws [--topics N] [--services N] [--subjects N]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

TENANTS = ("retail", "logistics")
PER_FILE = 250


def _topic(name: str, owner: str, i: int) -> str:
    return (
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata:\n"
        f"  name: {name}\n  owner: {owner}\n  description: Events of stream {i}.\n"
        "  classification: internal\n  labels: {domain: bench}\n"
        "spec:\n  partitions: 12\n  replicationFactor: 3\n  configs:\n"
        "    cleanup.policy: delete\n    retention.ms: 7d\n    segment.ms: 1d\n"
        "    min.insync.replicas: 2\n    max.message.bytes: 1MiB\n"
    )


def _avro(i: int) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": f"Event{i}",
            "namespace": "bench.events",
            "doc": f"Event of stream {i}.",
            "fields": [
                {"name": "eventId", "type": "string"},
                {"name": "correlationId", "type": "string"},
                {"name": "causationId", "type": ["null", "string"], "default": None},
                {"name": "entityId", "type": "string"},
                {"name": "amount", "type": "long", "default": 0},
            ],
        },
        indent=2,
    )


def generate(out: Path, topics: int, services: int, subjects: int) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "topology" / "topics").mkdir(parents=True)
    (out / "topology" / "services").mkdir(parents=True)
    (out / "topology" / "subjects").mkdir(parents=True)
    (out / "schemas").mkdir(parents=True)
    (out / "evtctl.yaml").write_text(
        "apiVersion: evtctl/v1\nkind: Workspace\nmetadata:\n  name: bench\nspec:\n"
        "  paths:\n    manifests: [topology]\n    schemas: [schemas]\n"
        "  # The prescribed proportions (10 derived ACLs per service, 2,000 subjects for 10,000\n"
        "  # topics) leave most topics without a producer, a consumer or a contract.\n"
        "  lint:\n    disable: [EVT306, EVT307, EVT501]\n"
    )
    names = [f"{TENANTS[i % 2]}.stream{i:05d}.events" for i in range(topics)]

    def write_chunks(folder: str, docs: list[str]) -> None:
        for start in range(0, len(docs), PER_FILE):
            chunk = docs[start : start + PER_FILE]
            (out / "topology" / folder / f"{folder}-{start // PER_FILE:03d}.yaml").write_text(
                "---\n".join(chunk)
            )

    write_chunks("topics", [_topic(name, f"team-{i % 50}", i) for i, name in enumerate(names)])

    tenants = []
    for t in TENANTS:
        other = TENANTS[1 - TENANTS.index(t)]
        tenants.append(
            "apiVersion: evtctl/v1\nkind: Tenant\nmetadata:\n"
            f"  name: {t}\n  owner: platform\n  description: Tenant {t}.\n"
            f"spec:\n  prefixes: [{t}.]\n  quota: {{producerByteRate: 50MiB, consumerByteRate: 100MiB}}\n"
            f"  readGrants:\n    - tenant: {other}\n      topics: ['{t}.*']\n"
        )
    (out / "topology" / "tenants.yaml").write_text("---\n".join(tenants))

    by_tenant = {t: [n for n in names if n.startswith(f"{t}.")] for t in TENANTS}
    docs = []
    for i in range(services):
        svc = f"svc{i:04d}"
        tenant = TENANTS[i % 2]
        # Each service stays inside its tenant: it produces one topic and consumes two, with a
        # shared dead-letter topic per 20 services: 2 + 4 + 2 (group) + 2 (DLQ) = 10 derived ACLs.
        own = by_tenant[tenant]
        j = i // 2
        produced = [own[(3 * j) % len(own)]]
        consumed = [own[(3 * j + 1 + k) % len(own)] for k in range(2)]
        dead_letter = own[len(own) - 1 - (j % 50)]
        docs.append(
            "apiVersion: evtctl/v1\nkind: Principal\nmetadata:\n"
            f"  name: {svc}\n  owner: team-{i % 50}\n  description: Service account of {svc}.\n"
            f"spec:\n  tenant: {tenant}\n  mechanism: SCRAM-SHA-512\n"
        )
        produces = "".join(f"    - topic: {p}\n      partitionKey: entityId\n" for p in produced)
        consumes = "".join(
            f"    - topic: {c}\n      idempotencyKey: eventId\n      deadLetterTopic: {dead_letter}\n"
            for c in consumed
        )
        docs.append(
            "apiVersion: evtctl/v1\nkind: Service\nmetadata:\n"
            f"  name: {svc}\n  owner: team-{i % 50}\n  description: Service {i}.\n"
            f"spec:\n  principal: {svc}\n  consumerGroup: {tenant}.{svc}\n"
            "  deliveryGuarantee: at-least-once\n"
            f"  produces:\n{produces}  consumes:\n{consumes}"
        )
    write_chunks("services", docs)

    docs = []
    for i in range(subjects):
        (out / "schemas" / f"event{i:05d}.avsc").write_text(_avro(i))
        docs.append(
            "apiVersion: evtctl/v1\nkind: Subject\nmetadata:\n"
            f"  name: {names[i % topics]}-value\n  owner: team-{i % 50}\n  description: Contract {i}.\n"
            f"spec:\n  topic: {names[i % topics]}\n  value:\n    schema: schemas/event{i:05d}.avsc\n"
            "  compatibility: BACKWARD\n"
        )
    write_chunks("subjects", docs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--subjects", type=int, default=2_000)
    args = parser.parse_args()
    generate(args.out, args.topics, args.services, args.subjects)
    print(f"wrote {args.out}: {args.topics} topics, {args.services} services, {args.subjects} subjects")


if __name__ == "__main__":
    main()
