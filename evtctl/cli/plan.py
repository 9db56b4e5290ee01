"""`evtctl plan`, `apply`, `drift` and `import`: desired state against a live cluster and registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evtctl import lifetime
from evtctl.errors import BackendError, UsageError

if TYPE_CHECKING:
    from evtctl.plan.apply import ApplyReport
    from evtctl.plan.desired import Desired
    from evtctl.plan.early import EarlyStart
    from evtctl.plan.model import Plan
    from evtctl.plan.session import PlanResult, Target

Workspace = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace directory (default: found from the cwd).")
]
Context = Annotated[
    str | None, typer.Option("--context", "-c", help="Context from evtctl.yaml (default: its default).")
]
Environment = Annotated[str | None, typer.Option("--environment", "-e", help="Environment overlay to apply.")]
AllowDelete = Annotated[
    bool, typer.Option("--allow-delete", help="Delete managed resources that are not in the manifests.")
]
MaxDeletes = Annotated[
    int | None, typer.Option("--max-deletes", help="Fail the plan if it would delete more.")
]
Targets = Annotated[
    list[str] | None, typer.Option("--target", help="Limit to KIND/NAME (repeatable), e.g. topic/orders.")
]
Color = Annotated[bool | None, typer.Option("--color/--no-color", help="Colour (default: when a TTY).")]

OUTPUTS = ("text", "json", "markdown")


def _check_output(output: str, allowed: tuple[str, ...] = OUTPUTS) -> None:
    if output not in allowed:
        raise UsageError(f"unknown output format {output!r}", help=f"choose one of: {', '.join(allowed)}")


def _check_targets(targets: list[str] | None) -> list[str]:
    from evtctl.plan.state import KINDS

    out = []
    for t in targets or ():
        kind, sep, name = t.partition("/")
        if not sep or kind not in KINDS or not name:
            raise UsageError(
                f"--target {t!r} is not KIND/NAME",
                help=f"KIND is one of {', '.join(KINDS)}; e.g. topic/orders",
            )
        out.append(t)
    return out


def _load(workspace: Path | None, environment: str | None, context: str | None) -> Any:
    from evtctl.workspace import load_workspace

    ws = load_workspace(workspace, environment=environment)
    if environment is None:
        ctx = ws.config.contexts.get(context or ws.config.default_context)
        if ctx is not None and ctx.environment:
            ws = load_workspace(workspace, environment=ctx.environment)
    return ws


def _start_early(workspace: Path | None, context: str | None, targets: list[str]) -> EarlyStart | None:
    """Connect and start reading the cluster from evtctl.yaml alone, before the manifests load
    (evtctl.plan.session.start_early). None when evtctl.yaml cannot be read on its own: the usual
    path then reports whatever is wrong."""
    from evtctl.plan.early import start_early
    from evtctl.workspace.config import find_root, load_config

    try:
        root = find_root(workspace)
        loaded = load_config(root) if root is not None else None
    except Exception:  # the full load below reports it with its location
        return None
    if loaded is None or loaded.problems:
        return None
    return start_early(loaded.config, context, targets)


def _open(ws: Any, context: str | None) -> tuple[Target, str]:
    from evtctl.plan.session import Target, cluster_config

    name = context or ws.config.default_context
    config, local = cluster_config(ws, name)
    return Target.open(config, local=local), name


def _with_contracts(ws: Any, result: PlanResult) -> PlanResult:
    """Consumer contracts broken by a planned schema version are plan errors (evtctl.contracts)."""
    from dataclasses import replace

    if not any(c.kind == "subject" for c in result.plan.changes):
        return result  # nothing a contract could object to (and the contract checker stays unimported)
    from evtctl.contracts.plan_hook import contract_errors

    extra = contract_errors(ws, result.plan)
    if not extra:
        return result
    return replace(result, plan=replace(result.plan, errors=(*result.plan.errors, *extra)))


def _desired(ws: Any, target: Target) -> Desired:
    return _desired_state(ws, local=target.local)


def _desired_state(ws: Any, *, local: bool) -> Desired:
    from evtctl.plan.desired import desired_state

    # the embedded broker is a single node: replication factors above 1 cannot be honoured there
    return desired_state(ws, clamp_replication=1 if local else None)


def _color(color: bool | None) -> bool:
    return sys.stdout.isatty() if color is None else color


def _render(plan: Plan, output: str, color: bool, extra: dict[str, Any] | None = None) -> None:
    from evtctl.plan.render import render_json, render_markdown, render_text

    if output == "json":
        typer.echo(render_json(plan, extra=extra), nl=False)
    elif output == "markdown":
        typer.echo(render_markdown(plan), nl=False)
    else:
        typer.echo(render_text(plan, color=color), nl=False)


def plan_command(
    workspace: Workspace = None,
    context: Context = None,
    environment: Environment = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan (and a live-state fingerprint).")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text, json or markdown.")] = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0 no changes, 2 changes present, 1 error.")
    ] = False,
    allow_delete: AllowDelete = False,
    max_deletes: MaxDeletes = None,
    target: Targets = None,
    color: Color = None,
) -> None:
    """Show what apply would change on the cluster and registry (nothing is changed)."""
    from evtctl.plan.session import make_plan, save_plan

    _check_output(output)
    targets = _check_targets(target)
    early = _start_early(workspace, context, targets)
    ws = _load(workspace, environment, context)
    # the desired state needs only the context's kind: built while the early read may still run
    ctx = ws.config.contexts.get(context or ws.config.default_context)
    local = ctx is not None and ctx.kind == "local"
    desired = _desired_state(ws, local=local) if early is not None and ctx is not None else None
    opened = early.take(ws) if early is not None else None
    if opened is not None:
        tgt, reads = opened
        ctx_name = context or ws.config.default_context
    else:
        (tgt, ctx_name), reads = _open(ws, context), None
    try:
        if desired is None or tgt.local != local:
            desired = _desired(ws, tgt)
        result = _with_contracts(
            ws,
            make_plan(
                desired, tgt, allow_delete=allow_delete, max_deletes=max_deletes, targets=targets, early=reads
            ),
        )
        round_trips, level_reads = tgt.round_trips, tgt.level_reads
    finally:
        tgt.close()
    lifetime.keep(desired, result, opened, reads)
    if out is not None:
        save_plan(out, result, context=ctx_name, workspace=str(ws.root))
    meta = {"context": ctx_name, "round_trips": round_trips, "level_reads": level_reads}
    _render(result.plan, output, _color(color), meta)
    if out is not None and output == "text":
        typer.echo(f"Saved the plan to {out}; apply it with: evtctl apply {out}")
    if result.plan.errors:
        raise typer.Exit(1)
    if detailed_exitcode and result.plan.changes:
        raise typer.Exit(2)


def _confirm(plan: Plan, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError("apply needs confirmation, and stdin is not a terminal", help="pass --auto-approve")
    risky = [c for c in plan.changes if str(c.risk) != "safe"]
    if risky:
        typer.echo(
            f"{len(risky)} change(s) are not safe: " + ", ".join(f"{c.address} [{c.risk}]" for c in risky)
        )
    answer = typer.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False)
    if answer.strip() != "yes":
        typer.echo("Apply cancelled.")
        raise typer.Exit(1)


def _run_apply(plan: Plan, tgt: Target, show_progress: bool) -> ApplyReport:
    from evtctl.plan.apply import Applier

    if not show_progress:
        return Applier(tgt.kafka, tgt.registry).run(plan)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
    ) as bar:
        applier = Applier(tgt.kafka, tgt.registry)
        task = bar.add_task("applying", total=applier.step_count(plan))

        def step(description: str, count: int) -> None:
            bar.update(task, description=description, advance=count)

        applier.progress = step
        report = applier.run(plan)
        bar.update(task, description="done")
    return report


def _report(report: ApplyReport, output: str) -> None:
    import json

    if output == "json":
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    for address in sorted(report.failed):
        typer.echo(f"  ! {address}: {report.failed[address]}")
    for address in sorted(report.not_attempted):
        typer.echo(f"  = {address}: not attempted")
    typer.echo(
        f"Apply {'complete' if report.ok else 'incomplete'}: {len(report.applied)} applied, "
        f"{len(report.failed)} failed, {len(report.not_attempted)} not attempted."
    )
    if not report.ok:
        typer.echo("Fix the cause and run apply again: the next plan contains only what is still missing.")


def apply_command(
    plan_file: Annotated[Path | None, typer.Argument(help="A plan saved with `evtctl plan --out`.")] = None,
    workspace: Workspace = None,
    context: Context = None,
    environment: Environment = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")
    ] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
    allow_delete: AllowDelete = False,
    max_deletes: MaxDeletes = None,
    target: Targets = None,
    color: Color = None,
) -> None:
    """Make the cluster and registry match the manifests (or apply exactly a saved plan)."""
    from evtctl.plan.session import load_plan, make_plan, staleness
    from evtctl.plan.state import fingerprint

    _check_output(output, ("text", "json"))
    targets = _check_targets(target)
    if plan_file is not None:
        if allow_delete or max_deletes is not None or targets:
            raise UsageError(
                "--allow-delete, --max-deletes and --target are decided by `evtctl plan`, "
                "not when applying a saved plan"
            )
        saved = load_plan(plan_file)
        if saved.plan.errors:
            raise UsageError(f"the saved plan {plan_file} has errors and cannot be applied")
        ws = _load(workspace, environment, context or saved.context)
        tgt, _ = _open(ws, context or saved.context)
        try:
            groups = {c.name for c in saved.plan.changes if c.kind == "consumer-group"}
            now = fingerprint(saved.read_live(tgt), groups)
            changed = staleness(saved.fingerprint, now)
            if changed:
                shown = "; ".join(changed[:20]) + (
                    f"; and {len(changed) - 20} more" if len(changed) > 20 else ""
                )
                raise BackendError(
                    f"the live state changed since the plan was saved: {shown}",
                    help="run `evtctl plan --out` again and review the new plan",
                )
            plan = saved.plan
            if not plan.changes:
                typer.echo("No changes. The cluster matches the manifests.")
                return
            _confirm(plan, auto_approve)
            report = _run_apply(plan, tgt, sys.stderr.isatty())
        finally:
            tgt.close()
    else:
        ws = _load(workspace, environment, context)
        tgt, _ = _open(ws, context)
        try:
            result = _with_contracts(
                ws,
                make_plan(
                    _desired(ws, tgt),
                    tgt,
                    allow_delete=allow_delete,
                    max_deletes=max_deletes,
                    targets=targets,
                ),
            )
            plan = result.plan
            if output == "text" or plan.errors:
                _render(plan, "text", _color(color))
            if plan.errors:
                raise typer.Exit(1)
            if not plan.changes:
                if output == "json":
                    _report_empty()
                return
            _confirm(plan, auto_approve)
            report = _run_apply(plan, tgt, sys.stderr.isatty())
        finally:
            tgt.close()
    _report(report, output)
    if not report.ok:
        raise typer.Exit(1)


def _report_empty() -> None:
    from evtctl.plan.apply import ApplyReport

    _report(ApplyReport(), "json")


def drift_command(
    workspace: Workspace = None,
    context: Context = None,
    environment: Environment = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
) -> None:
    """List out-of-band differences between the cluster and the manifests. Exit 1 when drift is found."""
    import json

    from evtctl.plan.model import Action
    from evtctl.plan.session import make_plan

    _check_output(output, ("text", "json"))
    ws = _load(workspace, environment, context)
    tgt, _ = _open(ws, context)
    try:
        # allow_delete: resources in scope but not declared are drift too (nothing is changed here)
        result = make_plan(_desired(ws, tgt), tgt, allow_delete=True)
    finally:
        tgt.close()
    items = []
    for c in result.plan.changes:
        if c.action is Action.CREATE:
            items.append(
                {"address": c.address, "drift": "missing", "detail": "declared but not on the cluster"}
            )
        elif c.action is Action.DELETE:
            items.append(
                {"address": c.address, "drift": "unmanaged", "detail": "on the cluster, not declared"}
            )
        else:
            for f in c.fields:
                items.append(
                    {
                        "address": c.address,
                        "drift": "changed",
                        "field": f.field,
                        "cluster": f.before,
                        "manifests": f.after,
                        "detail": f"{f.field} is {f.before if f.before is not None else '(default)'} on the "
                        f"cluster, {f.after if f.after is not None else '(default)'} in the manifests",
                    }
                )
    for e in result.plan.errors:
        items.append({"address": e.address, "drift": "changed", "detail": e.message})
    if output == "json":
        typer.echo(
            json.dumps(
                {"format_version": 1, "drift": items, "warnings": list(result.plan.warnings)}, indent=2
            )
        )
    else:
        for w in result.plan.warnings:
            typer.echo(f"warning: {w}")
        for item in items:
            typer.echo(f"{item['drift']:>9}  {item['address']}: {item['detail']}")
        typer.echo(
            f"{len(items)} drift item(s)." if items else "No drift: the cluster matches the manifests."
        )
    if items:
        raise typer.Exit(1)


def import_command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write manifests and schema files into.")],
    workspace: Workspace = None,
    context: Context = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Only topics/subjects/principals matching this glob."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Write manifests from a live cluster so it can be adopted (defaults stripped, ACLs grouped)."""
    from evtctl.plan.importer import import_cluster

    ws = _load(workspace, None, context)
    tgt, _ = _open(ws, context)
    try:
        live = tgt.read_live(tgt.readable_kinds())
    finally:
        tgt.close()
    written = import_cluster(live, out, include=tuple(include or ()), force=force, root=Path(ws.root))
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"Imported {len(written)} file(s) into {out}.")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root app."""
    app.command("plan")(plan_command)
    app.command("apply")(apply_command)
    app.command("drift")(drift_command)
    app.command("import")(import_command)
