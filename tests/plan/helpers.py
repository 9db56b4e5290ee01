"""Plan and apply through the library API (the CLI is exercised separately as a process)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evtctl.plan.apply import Applier, ApplyReport
from evtctl.plan.desired import desired_state
from evtctl.plan.model import Plan
from evtctl.plan.session import PlanResult, Target, cluster_config, make_plan
from tests.plan.workspace import Ws


def open_target(ws: Ws) -> Target:
    config, local = cluster_config(ws.load(), None)
    return Target.open(config, local=local)


def plan_result(ws: Ws, env: Mapping[str, str] | None = None, **options: Any) -> PlanResult:
    target = open_target(ws)
    try:
        return make_plan(desired_state(ws.load(), env=env or {}), target, **options)
    finally:
        target.close()


def plan_of(ws: Ws, env: Mapping[str, str] | None = None, **options: Any) -> Plan:
    return plan_result(ws, env, **options).plan


def apply_ws(ws: Ws, env: Mapping[str, str] | None = None, **options: Any) -> ApplyReport:
    target = open_target(ws)
    try:
        plan = make_plan(desired_state(ws.load(), env=env or {}), target, **options).plan
        assert not plan.errors, plan.errors
        return Applier(target.kafka, target.registry, env=env or {}).run(plan)
    finally:
        target.close()


def by_address(plan: Plan) -> dict[str, Any]:
    return {c.address: c for c in plan.changes}
