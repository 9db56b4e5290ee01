"""Consumer contracts as plan errors: a new schema version that breaks a consumer is refused.

The registry's compatibility level compares schema with schema; the plan also asks every consumer
contract of the subject's topic, so a change the level allows but a consumer cannot take fails
the plan with the consumer, field and reason.
"""

from __future__ import annotations

from evtctl.contracts.workspace import findings_for_candidate, load_schema
from evtctl.manifest.model import Workspace
from evtctl.plan.model import Plan, PlanError


def contract_errors(workspace: Workspace, plan: Plan) -> tuple[PlanError, ...]:
    """Errors for the subjects whose planned new version breaks a consumer contract."""
    new_versions = {
        c.name
        for c in plan.changes
        if c.kind == "subject" and (c.before is None or any(f.field == "schema" for f in c.fields))
    }
    errors: list[PlanError] = []
    for binding in workspace.subjects:
        for role, ref in binding.sides():
            if ref.subject not in new_versions:
                continue
            candidate = load_schema(ref)
            value, key = (candidate, None) if role == "value" else (None, candidate)
            broken = findings_for_candidate(workspace, binding.topic, value, key)
            details = tuple(
                f"{f.consumer} ({f.contract}) reads {f.target}: {f.reason}"
                for p in broken
                for f in p.findings
            )
            if details:
                errors.append(
                    PlanError(
                        f"subject/{ref.subject}",
                        f"the new schema breaks {len(broken)} consumer contract(s) of {binding.topic}",
                        details,
                        recipe="keep what the consumers read, or agree a new contract version with them",
                        location=ref.location,
                    )
                )
    return tuple(errors)
