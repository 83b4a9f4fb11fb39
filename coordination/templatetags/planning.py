"""Planner partials other pages include: a line's ranked priorities, its next shift as a
small Gantt, an exception's proposals. Each reads through a selector (no logic here)."""

from datetime import timedelta

from django import template
from django.utils import timezone

from coordination.models import Job
from coordination.priorities import line_priorities as priorities_of
from coordination.proposals.gantt import gantt_build
from coordination.proposals.selectors import case_proposals as proposals_of

register = template.Library()
SHIFT_MINUTES = 8 * 60


@register.inclusion_tag("coordination/_line_priorities.html", takes_context=True)
def line_priorities(context, code: str, limit: int = 8):
    return {"priorities": priorities_of(code)[:limit], "perms": context.get("perms")}


@register.inclusion_tag("planning/_next_shift.html")
def next_shift_gantt(code: str):
    """The line's current plan over the next eight hours."""
    now = timezone.now().replace(second=0, microsecond=0)
    end = now + timedelta(minutes=SHIFT_MINUTES)
    jobs = (
        Job.objects.filter(
            line__code=code,
            status__in=[Job.Status.PLANNED, Job.Status.RELEASED, Job.Status.RUNNING],
            planned_end__gt=now,
            planned_start__lt=end,
        )
        .select_related("order", "item")
        .order_by("sequence")
    )
    rows, info = [], {}
    for job in jobs:
        start_min = max(0, int((job.planned_start - now).total_seconds() // 60))
        end_min = min(SHIFT_MINUTES, int((job.planned_end - now).total_seconds() // 60))
        late = max(0, int((job.planned_end - job.order.due_at).total_seconds() // 60))
        rows.append({"job": job.number, "line": code, "start_min": start_min,
                     "end_min": max(end_min, start_min + 1), "late_minutes": late,
                     "fixed": job.status == Job.Status.RUNNING})  # fmt: skip
        info[job.number] = {"order": job.order.number, "family": job.item.family}
    gantt = gantt_build(
        {"jobs": rows, "changeovers": []},
        lines=[code],
        snapshot={"jobs": info, "windows": {}},
        origin=now,
        horizon=SHIFT_MINUTES,
    )
    return {"g": gantt, "label": f"Line {code}: the next eight hours as planned"}


@register.inclusion_tag("planning/_case_proposals_list.html")
def case_proposals(case):
    return {"proposals": proposals_of(case.pk)}


@register.inclusion_tag("planning/_task_proposal.html")
def task_proposal(task):
    """On a planner's task card (inbox, task page): the exception's open proposal, if any."""
    from coordination.proposals.models import Proposal

    proposal = None
    if task.case_id and getattr(task.owner_group, "name", "") == "planner":
        proposal = (
            Proposal.objects.filter(case_id=task.case_id, status=Proposal.Status.PROPOSED)
            .order_by("-pk")
            .first()
        )
    return {"proposal": proposal}
