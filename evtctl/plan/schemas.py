"""Schema identity and the compatibility hook the diff calls (backed by evtctl.compat)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from evtctl.errors import EvtctlError
from evtctl.plan.diff import CompatChecker
from evtctl.plan.state import SchemaVersion

_PROTO_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def canonical(schema_type: str, text: str) -> str:
    """A normalized text for identity: JSON key order/whitespace and Protobuf layout do not matter.

    Deliberately independent of reference resolution so a registered version and a local file
    compare equal whether or not their references are at hand.
    """
    if schema_type.upper() in ("AVRO", "JSON"):
        try:
            return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return text.strip()
    stripped = _PROTO_COMMENT.sub(" ", text)
    return re.sub(r"\s*([{}();=,<>\[\]])\s*", r"\1", re.sub(r"\s+", " ", stripped)).strip()


def compat_checker(reference_texts: Mapping[tuple[str, int], str]) -> CompatChecker:
    """A checker over evtctl.compat; ``reference_texts`` maps (subject, version) to schema text
    (version -1 = latest) so schemas with references can be parsed."""

    def refs_of(v: SchemaVersion) -> dict[str, str]:
        out = {}
        for r in v.references:
            text = reference_texts.get((r.subject, r.version)) or reference_texts.get((r.subject, -1))
            if text is not None:
                out[r.name] = text
        return out

    def check(candidate: SchemaVersion, history: Sequence[SchemaVersion], level: str) -> list[str]:
        from evtctl.compat import check_compatibility, parse_schema

        try:
            new = parse_schema(candidate.schema_type, candidate.schema, references=refs_of(candidate))
            old = [parse_schema(v.schema_type, v.schema, references=refs_of(v)) for v in history]
        except EvtctlError as err:
            return [f"the schema could not be parsed for the compatibility check: {err.message}"]
        if any(o.schema_type != new.schema_type for o in old):
            return [f"the schema type changed from {old[-1].schema_type} to {new.schema_type}"]
        report = check_compatibility(new, old, level)
        if report.compatible:
            return []
        return [f"{v.path}: {v.message}" if v.path else v.message for v in report.violations]

    return check
