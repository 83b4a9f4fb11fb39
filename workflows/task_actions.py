"""People's task actions: claim, give back, decide, pause, resume, note.

Pages and API call them through the action table (``workflows.actions``). Only the assignee,
or a member of the owning group while nobody holds it, acts on a task; each action locks the
task once (``row_locked``), checks who and the state, changes and audits in one transaction.
"""

from datetime import datetime

from django.utils import timezone

from coordination.models import StateChange
from coordination.services import row_locked, transition_apply
from kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError, TransitionError
from kernel.plant_time import plant_time

from .models import Decision, Task, TaskEvent
from .notify import Notifier, task_payload
from .runs import run_advance
from .sla import task_next_sweep
from .values import option_value_clean

Event = TaskEvent.Kind


def _member(user, group_id) -> bool:
    return bool(group_id) and user.groups.filter(pk=group_id).exists()


def task_may_act(user, task: Task) -> bool:
    """The assignee, or a member of the owning group while nobody else holds it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if task.assignee_id:
        return task.assignee_id == user.pk
    return _member(user, task.owner_group_id)


def _actor_may_act(actor):
    def authorize(task: Task) -> None:
        if not task_may_act(actor, task):
            raise PermissionDeniedError(
                f"task “{task.title}” belongs to {task.owner_label}; only they may act on it"
            )

    return authorize


def _task_locked(task_id, actor, *, expected_state=None):
    """The task's one lock for a person's action: exists, theirs, in the state they saw."""
    return row_locked(
        Task, task_id, authorize=_actor_may_act(actor), expected_state=expected_state or None
    )


def task_claim(*, task_id, actor, via=StateChange.Via.WEB, expected_state=None) -> Task:
    """Take a task: it is yours now; the group no longer sees it as unclaimed."""
    with _task_locked(task_id, actor, expected_state=expected_state) as task:
        transition_apply(task.claim, actor=actor, via=via, reason="claimed", by=actor)
        _reschedule(task)
        TaskEvent.objects.create(task=task, kind=Event.CLAIMED, actor=actor, summary="claimed")
    return task


def task_release(*, task_id, actor, via=StateChange.Via.WEB, expected_state=None) -> Task:
    """Give a claimed task back to its group."""
    with _task_locked(task_id, actor, expected_state=expected_state) as task:
        if not task.owner_group_id:
            raise TransitionError("this task has no group to give it back to")
        transition_apply(task.release, actor=actor, via=via, reason="released")
        _reschedule(task)
        TaskEvent.objects.create(task=task, kind=Event.RELEASED, actor=actor, summary="given back")
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
    with _task_locked(task_id, actor, expected_state=expected_state) as task:
        chosen = _option(task, option)
        value = option_value_clean(chosen, value)  # typed: a date, a quantity, a line…
        if task.status == Task.Status.OPEN:
            transition_apply(task.claim, actor=actor, via=via, reason="claimed to decide", by=actor)
        transition_apply(
            task.complete, actor=actor, via=via, reason=f"{chosen['label']}: {rationale}"
        )
        now = timezone.now()
        if task.paused_at:
            # Deciding ends the wait: a done task is not "paused" (it showed "done paused: …").
            Task.objects.filter(pk=task.pk).update(paused_at=None, pause_reason="")
            task.paused_at, task.pause_reason = None, ""
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
            kind=Event.DONE,
            actor=actor,
            at=now,
            # The whole summary is cut to its column, not only its last part.
            summary=(f"{chosen['label']}" + (f" ({value})" if value else "") + f": {rationale}")[
                :300
            ],
        )
        notifier = Notifier(now)
        notifier.message(
            "decision.recorded",
            task_payload(
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
        run_advance(task.run_id, now, notifier)
        notifier.flush()
    return decision


def task_pause(*, task_id, actor, reason: str, via=StateChange.Via.WEB) -> Task:
    """Stop the clock (e.g. waiting on a supplier); the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("say what the task is waiting for", field="reason")
    with _task_locked(task_id, actor) as task:
        if not task.is_active:
            raise TransitionError(f"task “{task.title}” is {task.status}; it cannot be paused")
        if task.paused_at:
            raise ConflictError(f"task “{task.title}” is already paused: {task.pause_reason}")
        now = timezone.now()
        Task.objects.filter(pk=task.pk).update(
            paused_at=now, pause_reason=reason[:300], sweep_at=None
        )
        TaskEvent.objects.create(
            task=task, kind=Event.PAUSED, actor=actor, at=now, summary=f"paused: {reason}"[:300]
        )
    task.paused_at, task.pause_reason, task.sweep_at = now, reason[:300], None
    return task


def task_resume(*, task_id, actor, via=StateChange.Via.WEB, expected_state=None) -> Task:
    """Restart the clock: the due time and every pending deadline move by the time paused."""
    with _task_locked(task_id, actor, expected_state=expected_state) as task:
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
            kind=Event.RESUMED,
            actor=actor,
            at=now,
            summary=f"resumed after {minutes} min; due {plant_time(task.due_at, 'time')}",
        )
    return task


def task_note(*, task_id, actor, note: str, via=StateChange.Via.WEB) -> Task:
    """Progress on claimed work: on the timeline, and the stalled-work reminder restarts."""
    note = (note or "").strip()
    if not note:
        raise InvalidInputError("write what progressed", field="note")
    with _task_locked(task_id, actor) as task:
        if not task.is_active:
            raise TransitionError(f"task “{task.title}” is {task.status}")
        task.progress_at = timezone.now()
        task.sweep_at = task_next_sweep(task)
        Task.objects.filter(pk=task.pk).update(progress_at=task.progress_at, sweep_at=task.sweep_at)
        TaskEvent.objects.create(task=task, kind=Event.NOTE, actor=actor, summary=note[:300])
    return task


def _reschedule(task: Task) -> None:
    task.sweep_at = task_next_sweep(task)
    Task.objects.filter(pk=task.pk).update(sweep_at=task.sweep_at)
