"""Reads for the inbox, the exception page, navigation counts and the API."""

from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from .models import ACTIVE_TASK_STATES, Decision, Notification, Task, TaskEvent, WorkflowRun


def _inbox_q(user) -> Q:
    # My tasks, and my groups' tasks nobody holds (served by the two partial inbox indexes).
    groups = list(user.groups.values_list("pk", flat=True))
    return Q(assignee=user) | Q(assignee__isnull=True, owner_group__in=groups)


def inbox_tasks(*, user, limit: int = 200) -> list[Task]:
    """Active tasks for the user, overdue first then by due time (earliest due = most late)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Task.objects.filter(_inbox_q(user), status__in=ACTIVE_TASK_STATES)
        .select_related("case", "owner_group", "assignee")
        .order_by("due_at", "id")[:limit]
    )


@dataclass
class Counts:
    tasks: int = 0
    overdue: int = 0
    unread: int = 0


def inbox_counts(user) -> Counts:
    if not getattr(user, "is_authenticated", False):
        return Counts()
    active = Task.objects.filter(_inbox_q(user), status__in=ACTIVE_TASK_STATES)
    return Counts(
        tasks=active.count(),
        overdue=active.filter(due_at__lt=timezone.now(), paused_at__isnull=True).count(),
        unread=Notification.objects.filter(user=user, read_at=None).count(),
    )


def task_get(*, pk) -> Task:
    from kernel.errors import NotFoundError

    try:
        return Task.objects.select_related("case", "owner_group", "assignee", "run").get(pk=int(pk))
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"task {pk} does not exist") from None


def task_events(task: Task) -> list[TaskEvent]:
    return list(task.events.select_related("actor"))


@dataclass
class CaseWork:
    runs: list[WorkflowRun]
    decisions: list[Decision]
    pending_steps: list[dict]


def case_work(case) -> CaseWork:
    """Runs with their tasks and timelines, the decisions, and steps not started yet."""
    runs = list(
        WorkflowRun.objects.filter(case=case)
        .select_related("template", "rule")
        .prefetch_related(
            Prefetch(
                "tasks",
                Task.objects.select_related("owner_group", "assignee").prefetch_related(
                    Prefetch("events", TaskEvent.objects.select_related("actor"))
                ),
            )
        )
        .order_by("-started_at")
    )
    pending = []
    for run in runs:
        if run.status == WorkflowRun.Status.RUNNING:
            started = {t.step_id for t in run.tasks.all()}
            pending += [s for s in run.plan["steps"] if s["id"] not in started]
    decisions = list(
        Decision.objects.filter(case=case)
        .select_related("decided_by", "task")
        .order_by("decided_at")
    )
    return CaseWork(runs=runs, decisions=decisions, pending_steps=pending)


def notification_list(*, user, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(user=user).select_related("task")[:limit])


def due_label(task: Task, now=None) -> str:
    """ "due in 12 min" / "overdue 3 min" / "paused" for people."""
    if not task.is_active:
        return task.status
    if task.paused_at:
        return "paused"
    now = now or timezone.now()
    seconds = (task.due_at - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    text = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    return f"due in {text}" if seconds >= 0 else f"overdue {text}"
