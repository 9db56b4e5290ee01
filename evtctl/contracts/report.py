"""Contract verification reports: human text, JSON (versioned) and JUnit XML for CI test reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from evtctl.contracts.verify import Pairing, summarize

JSON_FORMAT_VERSION = 1


def render_text(pairings: Sequence[Pairing], *, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines: list[str] = []
    for p in pairings:
        mark = paint("ok", "32") if p.ok else paint("BROKEN", "31;1")
        lines.append(
            f"{mark}  {p.contract.consumer} <- {p.producer} on {p.contract.topic} "
            f"(contract {p.contract.name}, {p.checked} checks)"
        )
        for f in p.findings:
            where = f" at {f.location}" if str(f.location) else ""
            lines.append(f"    {f.target}: {f.reason} [{f.rule}, {f.source}]{where}")
    s = summarize(pairings)
    if not pairings:
        lines.append("no contracts: nothing to verify")
    lines.append(f"{s['pairs']} producer/consumer pairs, {s['broken']} broken, {s['findings']} findings")
    return "\n".join(lines)


def render_json(pairings: Sequence[Pairing]) -> str:
    return json.dumps(
        {
            "format_version": JSON_FORMAT_VERSION,
            "ok": all(p.ok for p in pairings),
            "summary": dict(summarize(pairings)),
            "pairs": [
                {
                    "consumer": p.contract.consumer,
                    "contract": p.contract.name,
                    "producer": p.producer,
                    "topic": p.contract.topic,
                    "ok": p.ok,
                    "checked": p.checked,
                    "findings": [f.to_dict() for f in p.findings],
                }
                for p in pairings
            ],
        },
        indent=2,
        sort_keys=True,
    )


def render_junit(pairings: Sequence[Pairing]) -> str:
    """One testsuite per consumer, one testcase per (contract, producer), one failure per broken pair."""
    root = ET.Element("testsuites", name="evtctl contract verify")
    suites: dict[str, ET.Element] = {}
    for p in pairings:
        suite = suites.get(p.contract.consumer)
        if suite is None:
            suite = ET.SubElement(root, "testsuite", name=p.contract.consumer)
            suites[p.contract.consumer] = suite
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{p.contract.consumer}.{p.contract.name}",
            name=f"{p.producer} -> {p.contract.topic}",
        )
        if not p.ok:
            failure = ET.SubElement(case, "failure", message=p.findings[0].reason, type=p.findings[0].rule)
            failure.text = "\n".join(
                f"{f.target}: {f.reason} [{f.rule}, {f.source}] {f.location}" for f in p.findings
            )
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    root.set("tests", str(len(pairings)))
    root.set("failures", str(sum(1 for p in pairings if not p.ok)))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
