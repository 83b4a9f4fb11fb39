"""SLA timing and the sweep: when a task's deadlines fall, and the beat-driven sweep that
fires escalation levels and stalled-work reminders exactly once.

Entry point: ``escalation_sweep()`` (``tasks.escalation_sweep_task``, every few seconds).
``task_next_sweep`` tells every writer when the sweep must look at a task next.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from coordination.models import StateChange
from coordination.services import transition_apply
from exceptions.models import OPEN_STATES, ExceptionCase

from .models import ACTIVE_TASK_STATES, EscalationLevel, Task, TaskEvent, WorkflowRun
from .notify import Notifier, group_members, task_payload

SYSTEM = StateChange.Via.SYSTEM
Event = TaskEvent.Kind


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


@dataclass
class SweepReport:
    batches: int = 0
    tasks: int = 0
    escalations: int = 0
    reminders: int = 0
    batch_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0  # the whole sweep


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
    report = SweepReport()
    started = time.monotonic()
    while time.monotonic() - started < max_seconds:
        t0 = time.perf_counter()
        done = _sweep_batch(now or timezone.now(), batch_size, report)
        if not done:
            break
        report.batches += 1
        report.tasks += done
        report.batch_seconds.append(time.perf_counter() - t0)
        if done < batch_size:
            break
    report.seconds = time.monotonic() - started
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
            .exclude(status__in=OPEN_STATES)
            .values_list("pk", flat=True)
        )
        if closed:
            _cancel_for_closed([t for t in tasks if t.case_id in closed])
            tasks = [t for t in tasks if t.case_id not in closed]
        batch = SweepBatch(now, report, tasks)
        swept = [batch.sweep(task) for task in tasks]
        batch.write(swept)
    return len(tasks)


def _cancel_for_closed(tasks: list[Task]) -> None:
    """Tasks of exceptions closed meanwhile (a lost on-commit cancel): cancel them here.

    Only the tasks this sweeper holds: locking a sibling held by another sweeper could
    deadlock; the run ends with its last active task.
    """
    for task in tasks:
        transition_apply(task.cancel, via=SYSTEM, reason="exception closed")
        TaskEvent.objects.create(task=task, kind=Event.CANCELLED, summary="exception closed")
        run = WorkflowRun.objects.select_for_update().get(pk=task.run_id)
        active = Task.objects.filter(run=run, status__in=ACTIVE_TASK_STATES).exists()
        if run.status == WorkflowRun.Status.RUNNING and not active:
            transition_apply(
                run.cancel, via=SYSTEM, reason="exception closed", why="exception closed"
            )


class SweepBatch:
    """One sweep transaction's work: what it fires, whom it tells, what it writes back."""

    def __init__(self, now: datetime, report: SweepReport, tasks: list[Task]):
        self.now = now
        self.report = report
        self.notifier = Notifier(now)
        self.members = group_members(
            {t.owner_group_id for t in tasks}
            | {lvl["group_id"] for t in tasks for lvl in t.levels if lvl.get("group_id")}
        )
        self.events: list[TaskEvent] = []
        self.reassigned = False  # an "assign" level moved a task: write its owner back

    def sweep(self, task: Task) -> Task:
        if task.paused_at:  # paused meanwhile (a sweep_at left behind): nothing runs paused
            task.sweep_at = None
            return task
        while task.next_level < len(task.levels) and _level_at(task, task.next_level) <= self.now:
            index = task.next_level
            task = self.fire_level(task, index)
            task.next_level = index + 1
            self.report.escalations += 1
        reminder = _reminder_at(task)
        if reminder and reminder <= self.now:
            self.remind(task, reminder)
        task.sweep_at = task_next_sweep(task)
        return task

    def remind(self, task: Task, reminder: datetime) -> None:
        seq = TaskEvent.objects.filter(task=task, kind=Event.REMINDED).count() + 1
        minutes = task.stall_minutes
        self.events.append(
            TaskEvent(
                task=task,
                kind=Event.REMINDED,
                seq=seq,
                at=self.now,
                scheduled_at=reminder,
                summary=f"reminder {seq}: no progress for {minutes} min",
            )
        )
        self.notifier.add(
            [task.assignee_id],
            task,
            "task.reminded",
            f"Still working on “{task.title}”? No progress for {minutes} min",
        )
        task.progress_at = self.now  # the next reminder is one stall period after this one
        self.report.reminders += 1

    def fire_level(self, task: Task, index: int) -> Task:
        level = task.levels[index]
        action = level["action"]
        late = round((self.now - task.due_at).total_seconds() / 60)
        title = f"Overdue {late} min: {task.title} (#{task.case_id})"
        summary = f"level {index + 1}: {level['label']}"
        if action == EscalationLevel.Action.NOTIFY_GROUP:
            who = (
                [task.assignee_id]
                if task.assignee_id
                else self.members.get(task.owner_group_id, [])
            )
            self.notifier.add(who, task, "task.escalated", title)
        elif action == EscalationLevel.Action.NOTIFY:
            who = (
                [level["user_id"]]
                if level.get("user_id")
                else self.members.get(level["group_id"], [])
            )
            self.notifier.add(who, task, "task.escalated", title)
        elif action == EscalationLevel.Action.ASSIGN:
            task = self._assign(task, level, summary)
            who = (
                [task.assignee_id] if task.assignee_id else self.members.get(level["group_id"], [])
            )
            self.notifier.add(
                who, task, "task.escalated", f"Assigned to you by escalation: {title}"
            )
        self.events.append(
            TaskEvent(
                task=task,
                kind=Event.ESCALATED,
                seq=index,
                at=self.now,
                scheduled_at=_level_at(task, index),
                summary=summary[:300],
            )
        )
        self.notifier.message("task.escalated", task_payload(task, level=index + 1, action=action))
        return task

    def _assign(self, task: Task, level: dict, summary: str) -> Task:
        if task.status == Task.Status.CLAIMED:
            # The claim is taken away: in the sweep's transaction, audited like any other.
            transition_apply(task.release, via=SYSTEM, reason=f"escalation {summary}")
        if level.get("user_id"):
            task.assignee_id = level["user_id"]
        else:
            task.assignee_id = None
            task.owner_group_id = level["group_id"]
        self.reassigned = True
        return task

    def write(self, swept: list[Task]) -> None:
        TaskEvent.objects.bulk_create(self.events)
        # Only the columns this batch changed: bulk_update writes one CASE per column.
        fields = ["next_level", "sweep_at"]
        if self.report.reminders:
            fields.append("progress_at")
        if self.reassigned:
            fields += ["owner_group", "assignee"]
        Task.objects.bulk_update(swept, fields)
        self.notifier.flush()
