"""A disposition completes the hold's open disposition tasks with a decision record.

Registered on ``coordination.quality.lot_observers`` (``apps.py``); runs inside the
disposition's transaction. The tasks completed are those of the open ``quality_hold``
exception of the lot that offer the disposition as an option (the template's "Decide the
disposition" step); others (planning covers the quantity) stay with their owners and are
cancelled with the run when the exception is resolved.
"""

from coordination.quality import Disposition, LotChange
from exceptions.models import Kind

from .models import ACTIVE_TASK_STATES, Task, TaskEvent
from .task_actions import task_complete, task_may_act

# disposition -> the option value the default template offers for it
OPTION = {
    Disposition.RELEASE: "release",
    Disposition.REWORK: "rework",
    Disposition.SCRAP: "scrap",
    Disposition.USE_AS_IS: "deviation",
}


def lot_dispositioned(change: LotChange) -> None:
    option = OPTION[change.disposition]
    # Active tasks of the lot's hold exceptions; not filtered on the exception's status: the
    # exceptions observer may have resolved it already in this transaction (its run closes
    # after commit).
    tasks = Task.objects.filter(
        case__kind=Kind.QUALITY_HOLD,
        case__key=change.hold_key,
        status__in=ACTIVE_TASK_STATES,
    ).order_by("id")
    for task in tasks:
        if not any(o.get("value") == option for o in task.options):
            continue
        if not task_may_act(change.actor, task):
            # The disposition is the decision, whoever held the task: it follows the person
            # who made it (noted on the task's timeline).
            Task.objects.filter(pk=task.pk).update(assignee=change.actor)
            TaskEvent.objects.create(
                task=task,
                kind=TaskEvent.Kind.NOTE,
                actor=change.actor,
                summary=f"decided by {change.actor.get_username()} through the disposition",
            )
        value = change.deviation if option == "deviation" else ""
        task_complete(
            task_id=task.pk,
            actor=change.actor,
            option=option,
            rationale=change.rationale,
            value=value,
            predicted_effect=change.summary,
            via=change.via,
        )
