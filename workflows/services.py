"""Writes on workflows: runs from exceptions, the people's task actions, the SLA sweep.

Entry points:
- ``case_changed(change)``: the ``exceptions.hooks`` observer (registered in ``apps.py``),
  inside the exception's transaction: opened → start a run; severity changed → re-route;
  resolved/dismissed → cancel what is left.
- ``task_claim / task_release / task_complete / task_pause / task_resume / task_note``:
  pages and API. Only the owning group or the assignee acts on a task.
- ``escalation_sweep()``: the beat-driven SLA sweep (``tasks.escalation_sweep_task``).
Task state changes go through ``transition_apply`` (row lock, audit in ``StateChange``).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from coordination.models import StateChange
from coordination.roles import SUPERVISOR
from coordination.services import transition_apply
from exceptions.hooks import CaseChange
from exceptions.models import ExceptionCase

from .errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
)
from .models import (
    ACTIVE_TASK_STATES,
    Decision,
    EscalationLevel,
    Task,
    TaskEvent,
    WorkflowRun,
)
from .notify import Notifier, group_members
from .routing import rule_for

log = logging.getLogger(__name__)
User = get_user_model()
Ev = TaskEvent.Kind
SYSTEM = StateChange.Via.SYSTEM


# --- runs ----------------------------------------------------------------------------------


def case_changed(change: CaseChange) -> None:
    """The exceptions observer; tolerant of seeing a change twice."""
    if change.change == "opened":
        case = ExceptionCase.objects.get(pk=change.case_id)
        if not WorkflowRun.objects.filter(case=case, status="running").exists():
            run_start(case=case, reason="exception opened")
    elif change.change == "severity_changed":
        case_reroute(case_id=change.case_id, previous=change.previous_severity)
    elif change.change in ("assigned", "acknowledged"):
        case_owner_follow(case_id=change.case_id)
    elif change.change in ("resolved", "dismissed"):
        # After the closing commit, so the exception's own change stays one clean unit;
        # should that callback be lost, the SLA sweep cancels tasks of closed exceptions too.
        why = f"exception {change.change}"
        transaction.on_commit(lambda: case_runs_close(case_id=change.case_id, why=why))


def case_owner_follow(*, case_id: int) -> int:
    """The exception got an owner: its open, unclaimed "owner" tasks go to that owner."""
    case = ExceptionCase.objects.get(pk=case_id)
    if not case.owner_user_id and not case.owner_group_id:
        return 0
    moved = 0
    for run in WorkflowRun.objects.filter(case=case, status="running"):
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
                task=task, kind=Ev.NOTE, summary="follows the exception's owner"
            )
            moved += 1
    return moved


def case_runs_close(*, case_id: int, why: str) -> None:
    """Cancel the running workflow of a closed exception (idempotent)."""
    with transaction.atomic():
        run = (
            WorkflowRun.objects.select_for_update()
            .filter(case_id=case_id, status="running")
            .first()
        )
        if run is not None:
            run_cancel(run=run, why=why)


def case_reroute(*, case_id: int, previous: int | None = None) -> WorkflowRun | None:
    """Severity changed: keep the run if the same template still applies, else replace it."""
    case = ExceptionCase.objects.get(pk=case_id)
    rule = rule_for(case)
    run = WorkflowRun.objects.filter(case=case, status="running").first()
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
            transition_apply(run, transition="complete", via=SYSTEM, reason="no steps")
    log.info("workflow %s started on exception %s (%s)", run.template.name, case.pk, reason)
    return run


def run_cancel(*, run: WorkflowRun, why: str) -> None:
    """Cancel a run and its active tasks (re-routed, or the exception closed)."""
    with transaction.atomic():
        for task in Task.objects.filter(run=run, status__in=ACTIVE_TASK_STATES):
            transition_apply(task, transition="cancel", via=SYSTEM, reason=why)
            TaskEvent.objects.create(task=task, kind=Ev.CANCELLED, summary=why[:300])
        transition_apply(run, transition="cancel", via=SYSTEM, reason=why, why=why)


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
            from django.contrib.auth.models import Group

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
        kind=Ev.CREATED,
        at=now,
        summary=f"for {_who(task)}, due {timezone.localtime(task.due_at):%H:%M}",
    )
    recipients = [assignee_id] if assignee_id else group_members([group_id]).get(group_id, [])
    notifier.add(
        recipients,
        task,
        "task.created",
        f"New task: {task.title} (#{case.pk} {case.title})"[:200],
        f"{case.impact_summary}\nDue {timezone.localtime(task.due_at):%d %b %H:%M}.",
    )
    notifier.webhook("task.created", _task_payload(task))
    return task


def _who(task: Task) -> str:
    if task.assignee_id:
        return User.objects.filter(pk=task.assignee_id).values_list("username", flat=True).first()
    if task.owner_group_id:
        from django.contrib.auth.models import Group

        name = Group.objects.filter(pk=task.owner_group_id).values_list("name", flat=True).first()
        return f"{name} (group)"
    return "nobody"


def _task_payload(task: Task, **extra) -> dict:
    return {
        "task": task.pk,
        "case": task.case_id,
        "title": task.title,
        "status": task.status,
        "due_at": task.due_at.isoformat(),
        "owner_group": task.owner_group_id,
        "assignee": task.assignee_id,
        **extra,
    }


def _run_advance(run_id: int, now: datetime, notifier: Notifier) -> None:
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
        transition_apply(run, transition="complete", via=SYSTEM, reason="all tasks done")


# --- scheduling ----------------------------------------------------------------------------


def _level_at(task: Task, index: int) -> datetime:
    return task.due_at + timedelta(minutes=task.levels[index]["after_minutes"])


def _reminder_at(task: Task) -> datetime | None:
    """Claimed work with no progress for ``stall_minutes`` is chased, once per period."""
    if task.status != Task.Status.CLAIMED or not task.stall_minutes:
        return None
    return task.progress_at + timedelta(minutes=task.stall_minutes)


def task_next_sweep(task: Task) -> datetime | None:
    """When the sweep must look at the task next; None when nothing is pending or paused."""
    if task.status not in ACTIVE_TASK_STATES or task.paused_at:
        return None
    moments = []
    if task.next_level < len(task.levels):
        moments.append(_level_at(task, task.next_level))
    reminder = _reminder_at(task)
    if reminder:
        moments.append(reminder)
    return min(moments) if moments else None


# --- people's actions ----------------------------------------------------------------------


def _locked(task_id) -> Task:
    try:
        return Task.objects.select_for_update().get(pk=int(task_id))
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"task {task_id} does not exist") from None


def _member(user, group_id) -> bool:
    return bool(group_id) and user.groups.filter(pk=group_id).exists()


def task_may_act(user, task: Task) -> bool:
    """The assignee, or a member of the owning group while nobody else holds it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if task.assignee_id:
        return task.assignee_id == user.pk
    return _member(user, task.owner_group_id)


def _authorize(user, task: Task) -> None:
    if not task_may_act(user, task):
        raise PermissionDeniedError(
            f"task “{task.title}” belongs to {task.owner_label}; only they may act on it"
        )


def _transition(task, name, *, actor, via, reason, expected_state=None, **kwargs) -> Task:
    try:
        return transition_apply(
            task,
            transition=name,
            actor=actor,
            via=via,
            reason=reason,
            expected_state=expected_state or None,
            **kwargs,
        )
    except TransitionError as exc:
        current = exc.extra.get("current_state", task.status)
        raise TransitionError(
            f"task “{task.title}” is {current}: cannot {name} it; nothing was changed",
            current_state=current,
        ) from None


def task_claim(*, task_id, actor, via=StateChange.Via.WEB, expected_state=None) -> Task:
    """Take a task: it is yours now; the group no longer sees it as unclaimed."""
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        task = _transition(
            task,
            "claim",
            actor=actor,
            via=via,
            reason="claimed",
            expected_state=expected_state,
            by=actor,
        )
        _reschedule(task)
        TaskEvent.objects.create(task=task, kind=Ev.CLAIMED, actor=actor, summary="claimed")
    return task


def task_release(*, task_id, actor, via=StateChange.Via.WEB, expected_state=None) -> Task:
    """Give a claimed task back to its group."""
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        if not task.owner_group_id:
            raise TransitionError("this task has no group to give it back to")
        task = _transition(
            task, "release", actor=actor, via=via, reason="released", expected_state=expected_state
        )
        _reschedule(task)
        TaskEvent.objects.create(task=task, kind=Ev.RELEASED, actor=actor, summary="given back")
    return task


def _option(task: Task, value: str) -> dict:
    for option in task.options:
        if option["value"] == value:
            return option
    raise InvalidInputError(
        "choose one of: " + ", ".join(o["label"] for o in task.options), field="option"
    )


def task_complete(
    *,
    task_id,
    actor,
    option: str,
    rationale: str,
    value: str = "",
    predicted_completion_at: datetime | None = None,
    predicted_effect: str = "",
    via=StateChange.Via.WEB,
    expected_state=None,
) -> Decision:
    """Decide a task: one of its options, a rationale (required), the predicted effect.

    Claims it first when it is still open (same transaction). Records the decision with the
    options offered and the data shown, then starts the steps that waited for this one.
    """
    rationale = (rationale or "").strip()
    value = (value or "").strip()
    predicted_effect = (predicted_effect or "").strip()
    if not rationale:
        raise InvalidInputError("give the rationale for your decision", field="rationale")
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        if expected_state and task.status != expected_state:
            raise ConflictError(
                f"task “{task.title}” is now {task.status} (you saw {expected_state}); "
                "reload and try again",
                current_state=task.status,
            )
        chosen = _option(task, option)
        if chosen.get("needs_value") and not value:
            label = chosen.get("value_label") or "a value"
            raise InvalidInputError(f"{chosen['label']} needs {label}", field="value")
        if task.status == Task.Status.OPEN:
            task = _transition(
                task, "claim", actor=actor, via=via, reason="claimed to decide", by=actor
            )
        task = _transition(
            task, "complete", actor=actor, via=via, reason=f"{chosen['label']}: {rationale}"
        )
        now = timezone.now()
        case = task.case
        decision = Decision.objects.create(
            task=task,
            case=case,
            decided_by=actor,
            decided_at=now,
            options=task.options,
            chosen=chosen["value"],
            chosen_label=chosen["label"],
            value=value[:200],
            rationale=rationale,
            context_shown={
                **task.context,
                "now": {
                    "severity": case.get_severity_display(),
                    "impact_summary": case.impact_summary,
                    "status": case.status,
                },
            },
            predicted_completion_at=predicted_completion_at,
            predicted_effect=predicted_effect,
        )
        TaskEvent.objects.create(
            task=task,
            kind=Ev.DONE,
            actor=actor,
            at=now,
            summary=f"{chosen['label']}"
            + (f" ({value})" if value else "")
            + f": {rationale}"[:200],
        )
        notifier = Notifier(now)
        notifier.webhook(
            "decision.recorded",
            _task_payload(
                task,
                decision=decision.pk,
                chosen=decision.chosen,
                value=value,
                rationale=rationale,
                predicted_completion_at=predicted_completion_at.isoformat()
                if predicted_completion_at
                else None,
            ),
        )
        _run_advance(task.run_id, now, notifier)
        notifier.flush()
    return decision


def task_pause(*, task_id, actor, reason: str, via=StateChange.Via.WEB) -> Task:
    """Stop the clock (e.g. waiting on a supplier); the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("say what the task is waiting for", field="reason")
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        if not task.is_active:
            raise TransitionError(f"task “{task.title}” is {task.status}; it cannot be paused")
        if task.paused_at:
            raise ConflictError(f"task “{task.title}” is already paused: {task.pause_reason}")
        now = timezone.now()
        Task.objects.filter(pk=task.pk).update(
            paused_at=now, pause_reason=reason[:300], sweep_at=None
        )
        TaskEvent.objects.create(
            task=task, kind=Ev.PAUSED, actor=actor, at=now, summary=f"paused: {reason}"[:300]
        )
    task.paused_at, task.pause_reason, task.sweep_at = now, reason[:300], None
    return task


def task_resume(*, task_id, actor, via=StateChange.Via.WEB) -> Task:
    """Restart the clock: the due time and every pending deadline move by the time paused."""
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        if not task.paused_at:
            raise ConflictError(f"task “{task.title}” is not paused")
        now = timezone.now()
        paused_for = now - task.paused_at
        task.due_at += paused_for
        task.progress_at += paused_for
        task.paused_at = None
        task.pause_reason = ""
        task.sweep_at = task_next_sweep(task)
        Task.objects.filter(pk=task.pk).update(
            due_at=task.due_at,
            progress_at=task.progress_at,
            paused_at=None,
            pause_reason="",
            sweep_at=task.sweep_at,
        )
        minutes = round(paused_for.total_seconds() / 60, 1)
        TaskEvent.objects.create(
            task=task,
            kind=Ev.RESUMED,
            actor=actor,
            at=now,
            summary=f"resumed after {minutes} min; due {timezone.localtime(task.due_at):%H:%M}",
        )
    return task


def task_note(*, task_id, actor, note: str) -> Task:
    """Progress on claimed work: on the timeline, and the stalled-work reminder restarts."""
    note = (note or "").strip()
    if not note:
        raise InvalidInputError("write what progressed", field="note")
    with transaction.atomic():
        task = _locked(task_id)
        _authorize(actor, task)
        if not task.is_active:
            raise TransitionError(f"task “{task.title}” is {task.status}")
        task.progress_at = timezone.now()
        task.sweep_at = task_next_sweep(task)
        Task.objects.filter(pk=task.pk).update(progress_at=task.progress_at, sweep_at=task.sweep_at)
        TaskEvent.objects.create(task=task, kind=Ev.NOTE, actor=actor, summary=note[:300])
    return task


def _reschedule(task: Task) -> None:
    task.sweep_at = task_next_sweep(task)
    Task.objects.filter(pk=task.pk).update(sweep_at=task.sweep_at)


# --- the SLA sweep -------------------------------------------------------------------------


@dataclass
class SweepReport:
    batches: int = 0
    tasks: int = 0
    escalations: int = 0
    reminders: int = 0
    batch_seconds: list[float] = field(default_factory=list)


def escalation_sweep(
    *, now: datetime | None = None, batch_size: int = 200, max_seconds: float = 10.0
) -> SweepReport:
    """Fire every due escalation level and stalled reminder, in batches.

    Each batch is one transaction that claims due tasks with ``FOR UPDATE SKIP LOCKED``:
    several workers (overlapping beat ticks) share the work without waiting on each other,
    and a task is only ever in one sweeper's hands. A level fires by advancing
    ``next_level`` in the same transaction that records it, so it fires exactly once: a
    worker killed mid-batch rolls back both, and the next sweep fires it; the unique
    ``(task, kind, seq)`` constraint on ``TaskEvent`` backs this up in the database.
    """
    import time

    report = SweepReport()
    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        t0 = time.perf_counter()
        at = now or timezone.now()
        done = _sweep_batch(at, batch_size, report)
        if not done:
            break
        report.batches += 1
        report.tasks += done
        report.batch_seconds.append(time.perf_counter() - t0)
        if done < batch_size:
            break
    return report


def _sweep_batch(now: datetime, batch_size: int, report: SweepReport) -> int:
    with transaction.atomic():
        # Served by the partial index task_sweep_due; SKIP LOCKED: other sweepers' rows and
        # rows a person is changing right now are left for the next pass.
        tasks = list(
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=ACTIVE_TASK_STATES, sweep_at__lte=now)
            .order_by("sweep_at")[:batch_size]
        )
        if not tasks:
            return 0
        closed = set(
            ExceptionCase.objects.filter(pk__in={t.case_id for t in tasks})
            .exclude(status__in=("open", "acknowledged"))
            .values_list("pk", flat=True)
        )
        if closed:
            # Only the tasks this sweeper holds: locking a sibling held by another sweeper
            # could deadlock; the run ends with its last active task.
            for task in [t for t in tasks if t.case_id in closed]:
                transition_apply(task, transition="cancel", via=SYSTEM, reason="exception closed")
                TaskEvent.objects.create(task=task, kind=Ev.CANCELLED, summary="exception closed")
                run = WorkflowRun.objects.select_for_update().get(pk=task.run_id)
                active = Task.objects.filter(run=run, status__in=ACTIVE_TASK_STATES).exists()
                if run.status == WorkflowRun.Status.RUNNING and not active:
                    transition_apply(
                        run,
                        transition="cancel",
                        via=SYSTEM,
                        reason="exception closed",
                        why="exception closed",
                    )
            tasks = [t for t in tasks if t.case_id not in closed]
        notifier = Notifier(now)
        members = group_members(
            {t.owner_group_id for t in tasks}
            | {lvl["group_id"] for t in tasks for lvl in t.levels if lvl.get("group_id")}
        )
        events: list[TaskEvent] = []
        swept = [_sweep_task(task, now, members, notifier, events, report) for task in tasks]
        TaskEvent.objects.bulk_create(events)
        # Only the columns this batch changed: bulk_update writes one CASE per column.
        fields = ["next_level", "sweep_at"]
        if report.reminders:
            fields.append("progress_at")
        if any(getattr(t, "_assigned", False) for t in swept):
            fields += ["owner_group", "assignee"]
        Task.objects.bulk_update(swept, fields)
        notifier.flush()
    return len(tasks)


def _sweep_task(task, now, members, notifier, events, report) -> Task:
    if task.paused_at:  # paused meanwhile (a sweep_at left behind): nothing runs while paused
        task.sweep_at = None
        return task
    while task.next_level < len(task.levels) and _level_at(task, task.next_level) <= now:
        index = task.next_level
        level = task.levels[index]
        scheduled = _level_at(task, index)
        task = _fire_level(task, index, level, scheduled, now, members, notifier, events)
        task.next_level = index + 1
        report.escalations += 1
    reminder = _reminder_at(task)
    if reminder and reminder <= now:
        seq = TaskEvent.objects.filter(task=task, kind=Ev.REMINDED).count() + 1
        minutes = task.stall_minutes
        events.append(
            TaskEvent(
                task=task,
                kind=Ev.REMINDED,
                seq=seq,
                at=now,
                scheduled_at=reminder,
                summary=f"reminder {seq}: no progress for {minutes} min",
            )
        )
        notifier.add(
            [task.assignee_id],
            task,
            "task.reminded",
            f"Still working on “{task.title}”? No progress for {minutes} min",
        )
        task.progress_at = now  # the next reminder is one stall period after this one
        report.reminders += 1
    task.sweep_at = task_next_sweep(task)
    return task


def _fire_level(task, index, level, scheduled, now, members, notifier, events) -> Task:
    action = level["action"]
    late = round((now - task.due_at).total_seconds() / 60)
    title = f"Overdue {late} min: {task.title} (#{task.case_id})"
    summary = f"level {index + 1}: {level['label']}"
    if action == EscalationLevel.Action.NOTIFY_GROUP:
        who = [task.assignee_id] if task.assignee_id else members.get(task.owner_group_id, [])
        notifier.add(who, task, "task.escalated", title)
    elif action == EscalationLevel.Action.NOTIFY:
        who = [level["user_id"]] if level.get("user_id") else members.get(level["group_id"], [])
        notifier.add(who, task, "task.escalated", title)
    elif action == EscalationLevel.Action.ASSIGN:
        if task.status == Task.Status.CLAIMED:
            # The claim is taken away: in the sweep's transaction, audited like any other.
            released = transition_apply(
                task, transition="release", via=SYSTEM, reason=f"escalation {summary}"
            )
            # The protected state cannot be set on our copy: carry our changes to the new one.
            released.next_level, released.progress_at = task.next_level, task.progress_at
            task = released
        if level.get("user_id"):
            task.assignee_id = level["user_id"]
            who = [level["user_id"]]
        else:
            task.assignee_id = None
            task.owner_group_id = level["group_id"]
            who = members.get(level["group_id"], [])
        notifier.add(who, task, "task.escalated", f"Assigned to you by escalation: {title}")
        task._assigned = True  # the batch writes owner_group/assignee back
    events.append(
        TaskEvent(
            task=task,
            kind=Ev.ESCALATED,
            seq=index,
            at=now,
            scheduled_at=scheduled,
            summary=summary[:300],
        )
    )
    notifier.webhook("task.escalated", _task_payload(task, level=index + 1, action=action))
    return task


def notifications_read(*, user, ids=None) -> int:
    """Mark the user's notifications read (all, or these ids)."""
    from .models import Notification

    qs = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def preference_update(*, user, in_app: bool, email: bool, collapse_minutes) -> None:
    from .models import NotificationPreference

    try:
        minutes = int(collapse_minutes)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "collapse window must be a whole number of minutes", field="collapse_minutes"
        ) from None
    if not 0 <= minutes <= 24 * 60:
        raise InvalidInputError(
            "collapse window must be between 0 and 1440 minutes", field="collapse_minutes"
        )
    NotificationPreference.objects.update_or_create(
        user=user, defaults={"in_app": in_app, "email": email, "collapse_minutes": minutes}
    )
