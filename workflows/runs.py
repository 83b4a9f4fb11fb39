"""Workflow runs: started, re-routed and closed with their exception; advanced as tasks finish.

Entry point: ``case_changed(change)``, the ``exceptions.hooks`` observer (registered in
``apps.py``; ``cases_changed`` is its batch form), inside the exception's transaction:
opened → start a run; severity changed → re-route; owner changed → owner steps follow;
resolved/dismissed → cancel what is left.
``run_advance`` is called by ``task_actions.task_complete`` in the decision's transaction.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from coordination.models import StateChange
from coordination.services import transition_apply
from exceptions.hooks import CaseChange, Change
from exceptions.models import ExceptionCase
from kernel.plant_time import plant_time
from kernel.roles import SUPERVISOR

from .models import ACTIVE_TASK_STATES, Task, TaskEvent, WorkflowRun
from .notify import Notifier, group_members, task_payload
from .routing import rule_for
from .sla import task_next_sweep

log = logging.getLogger(__name__)
User = get_user_model()
SYSTEM = StateChange.Via.SYSTEM
RUNNING = WorkflowRun.Status.RUNNING
Event = TaskEvent.Kind


def case_changed(change: CaseChange) -> None:
    """The exceptions observer; tolerant of seeing a change twice."""
    if change.change == Change.OPENED:
        case = ExceptionCase.objects.get(pk=change.case_id)
        if not WorkflowRun.objects.filter(case=case, status=RUNNING).exists():
            run_start(case=case, reason="exception opened")
    elif change.change == Change.SEVERITY_CHANGED:
        case_reroute(case_id=change.case_id, previous=change.previous_severity)
    elif change.change in (Change.ASSIGNED, Change.ACKNOWLEDGED):
        case_owner_follow(case_id=change.case_id)
    elif change.change in (Change.RESOLVED, Change.DISMISSED):
        # After the closing commit, so the exception's own change stays one clean unit;
        # should that callback be lost, the SLA sweep cancels tasks of closed exceptions too.
        why = f"exception {change.change}"
        transaction.on_commit(lambda: case_runs_close(case_id=change.case_id, why=why))


def cases_changed(changes: Sequence[CaseChange]) -> None:
    """The batch form (``case_observers.notify_batch``): the changes one plant signal made
    to exceptions, in order; leaves what ``case_changed`` on each would. Routing rules are
    read once per processing chunk (``routing.rule_for``), however many exceptions open."""
    for change in changes:
        case_changed(change)


def case_owner_follow(*, case_id: int) -> int:
    """The exception got an owner: its open, unclaimed "owner" tasks go to that owner."""
    case = ExceptionCase.objects.get(pk=case_id)
    if not case.owner_user_id and not case.owner_group_id:
        return 0
    moved = 0
    for run in WorkflowRun.objects.filter(case=case, status=RUNNING):
        owner_steps = [st["id"] for st in run.plan["steps"] if st["assignee"] == "owner"]
        tasks = Task.objects.select_for_update().filter(
            run=run, step_id__in=owner_steps, status=Task.Status.OPEN
        )
        for task in tasks:
            Task.objects.filter(pk=task.pk).update(
                assignee_id=case.owner_user_id,
                owner_group_id=case.owner_group_id or task.owner_group_id,
            )
            TaskEvent.objects.create(
                task=task, kind=Event.NOTE, summary="follows the exception's owner"
            )
            moved += 1
    return moved


def case_runs_close(*, case_id: int, why: str) -> None:
    """Cancel the running workflow of a closed exception (idempotent)."""
    with transaction.atomic():
        run = (
            WorkflowRun.objects.select_for_update().filter(case_id=case_id, status=RUNNING).first()
        )
        if run is not None:
            run_cancel(run=run, why=why)


def case_reroute(*, case_id: int, previous: int | None = None) -> WorkflowRun | None:
    """Severity changed: keep the run if the same template still applies, else replace it."""
    case = ExceptionCase.objects.get(pk=case_id)
    rule = rule_for(case)
    run = WorkflowRun.objects.filter(case=case, status=RUNNING).first()
    if run is not None and rule is not None and run.template_id == rule.template_id:
        Task.objects.filter(run=run, status__in=ACTIVE_TASK_STATES).update(priority=case.severity)
        return run
    if run is not None:
        run_cancel(run=run, why=f"re-routed: severity {previous} → {case.severity}")
    if rule is None:
        return None
    return run_start(case=case, reason=f"re-routed at severity {case.severity}", rule=rule)


def run_start(*, case: ExceptionCase, reason: str = "", rule=None) -> WorkflowRun | None:
    """Start the matching workflow with its template and policies frozen; its first tasks."""
    rule = rule or rule_for(case)
    if rule is None:
        log.warning("no routing rule matches exception %s and there is no catch-all", case.pk)
        return None
    now = timezone.now()
    with transaction.atomic():
        run = WorkflowRun.objects.create(
            case=case,
            template=rule.template,
            rule=rule,
            plan=rule.template.frozen(),
            severity=case.severity,
            started_at=now,
        )
        notifier = Notifier(now)
        for step in run.plan["steps"]:
            if not step["after"]:
                _task_create(run, case, step, now, notifier)
        notifier.flush()
        if not run.plan["steps"]:
            transition_apply(run.complete, via=SYSTEM, reason="no steps")
    log.info("workflow %s started on exception %s (%s)", run.template.name, case.pk, reason)
    return run


def run_cancel(*, run: WorkflowRun, why: str) -> None:
    """Cancel a run and its active tasks (re-routed, or the exception closed)."""
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        for task in Task.objects.select_for_update().filter(run=run, status__in=ACTIVE_TASK_STATES):
            transition_apply(task.cancel, via=SYSTEM, reason=why)
            TaskEvent.objects.create(task=task, kind=Event.CANCELLED, summary=why[:300])
        transition_apply(run.cancel, via=SYSTEM, reason=why, why=why)


def _case_context(case: ExceptionCase) -> dict:
    """What a function needs on its task: the impact, the affected orders, jobs and lots."""
    impact = case.impact or {}
    return {
        "title": case.title,
        "kind": case.get_kind_display(),
        "severity": case.get_severity_display(),
        "impact_summary": case.impact_summary,
        "affected": case.affected_label,
        "orders": (impact.get("orders") or [])[:20],
        "jobs": (impact.get("jobs") or [])[:20],
        "lots": (impact.get("lots") or [])[:20],
        "customers": (impact.get("customers") or [])[:20],
        "material": impact.get("material") or {},
    }


def _task_create(run, case, step: dict, now: datetime, notifier: Notifier) -> Task:
    group_id, assignee_id = step["group_id"], None
    if step["assignee"] == "owner":
        assignee_id = case.owner_user_id
        group_id = case.owner_group_id
        if not assignee_id and not group_id:
            # Nobody owns the exception yet: the supervisors do.
            group_id = Group.objects.filter(name=SUPERVISOR).values_list("pk", flat=True).first()
    task = Task(
        run=run,
        case=case,
        step_id=step["id"],
        title=step["title"],
        instructions=step.get("instructions", ""),
        owner_group_id=group_id,
        assignee_id=assignee_id,
        priority=case.severity,
        context=_case_context(case),
        options=step["options"],
        levels=step["levels"],
        stall_minutes=step.get("stall_minutes"),
        created_at=now,
        due_at=now + timedelta(minutes=step["due_minutes"]),
        progress_at=now,
    )
    task.sweep_at = task_next_sweep(task)
    task.save()
    TaskEvent.objects.create(
        task=task,
        kind=Event.CREATED,
        at=now,
        summary=f"for {_who(task)}, due {plant_time(task.due_at, 'time')}",
    )
    recipients = [assignee_id] if assignee_id else group_members([group_id]).get(group_id, [])
    notifier.add(
        recipients,
        task,
        "task.created",
        f"New task: {task.title} (#{case.pk} {case.title})"[:200],
        f"{case.impact_summary}\nDue {plant_time(task.due_at)}.",
    )
    notifier.message("task.created", task_payload(task))
    return task


def _who(task: Task) -> str:
    if task.assignee_id:
        return User.objects.filter(pk=task.assignee_id).values_list("username", flat=True).first()
    if task.owner_group_id:
        name = Group.objects.filter(pk=task.owner_group_id).values_list("name", flat=True).first()
        return f"{name} (group)"
    return "nobody"


def run_advance(run_id: int, now: datetime, notifier: Notifier) -> None:
    """After a task is done: start steps whose predecessors are all done; end the run."""
    run = WorkflowRun.objects.select_for_update().get(pk=run_id)
    if run.status != WorkflowRun.Status.RUNNING:
        return
    tasks = {t.step_id: t for t in Task.objects.filter(run=run)}
    done = {sid for sid, t in tasks.items() if t.status == Task.Status.DONE}
    case = run.case
    for step in run.plan["steps"]:
        if step["id"] not in tasks and step["after"] and set(step["after"]) <= done:
            tasks[step["id"]] = _task_create(run, case, step, now, notifier)
    if all(t.status == Task.Status.DONE for t in tasks.values()) and len(tasks) == len(
        run.plan["steps"]
    ):
        transition_apply(run.complete, via=SYSTEM, reason="all tasks done")
