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


READ_EVERY = "workflows.view_every_task"


def task_readable_q(user, prefix: str = "") -> Q:
    """Tasks a user may read: their own, their groups' (claimed by a colleague or done too),
    or every one with ``view_every_task`` (supervisors). The inbox shows the active subset;
    a detail view, a decision and an exception page show no more than this."""
    if not getattr(user, "is_authenticated", False) or not user.pk:
        return Q(pk__in=[])
    if user.has_perm(READ_EVERY):
        return Q()
    groups = list(user.groups.values_list("pk", flat=True))
    return Q(**{f"{prefix}assignee": user}) | Q(**{f"{prefix}owner_group__in": groups})


def task_readable(user, task: Task) -> bool:
    return Task.objects.filter(task_readable_q(user), pk=task.pk).exists()


def task_get(*, pk, user=None) -> Task:
    """One task; with ``user``, only one they may read (another group's is absent: 404)."""
    from kernel.errors import NotFoundError

    tasks = Task.objects.select_related("case", "owner_group", "assignee", "run")
    if user is not None:
        tasks = tasks.filter(task_readable_q(user))
    try:
        return tasks.get(pk=int(pk))
    except (Task.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFoundError(f"task {pk} does not exist") from None


def decision_readable_q(user) -> Q:
    """Decisions on the tasks the user may read, and those they took themselves."""
    tasks = task_readable_q(user, prefix="task__")
    if not getattr(user, "is_authenticated", False) or not user.pk:
        return tasks  # nothing
    if not tasks:  # Q(): every task (an empty Q would swallow the OR below)
        return tasks
    return tasks | Q(decided_by_id=user.pk)


def decision_list(*, user):
    """Decisions the user may read, newest first."""
    return (
        Decision.objects.filter(decision_readable_q(user))
        .select_related("decided_by")
        .order_by("-decided_at", "-id")
    )


def task_events(task: Task) -> list[TaskEvent]:
    return list(task.events.select_related("actor"))


@dataclass
class CaseWork:
    runs: list[WorkflowRun]
    decisions: list[Decision]
    pending_steps: list[dict]
    readable: set[int] | None = None  # ids of the tasks the viewer may open (None: all)


def case_work(case, user=None) -> CaseWork:
    """Runs with their tasks and timelines, the decisions, and steps not started yet.

    With ``user``: every task's title, owner and status (who is on it), but timelines and
    decisions only of the tasks they may read (``task_readable_q``)."""
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
    decisions = Decision.objects.filter(case=case)
    readable = None
    if user is not None:
        decisions = decisions.filter(decision_readable_q(user))
        readable = set(
            Task.objects.filter(task_readable_q(user), case=case).values_list("pk", flat=True)
        )
    decisions = list(decisions.select_related("decided_by", "task").order_by("decided_at"))
    return CaseWork(runs=runs, decisions=decisions, pending_steps=pending, readable=readable)


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
