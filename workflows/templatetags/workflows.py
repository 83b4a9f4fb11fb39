from django import template

from kernel.plant_time import plant_time

from .. import selectors
from ..models import Decision

register = template.Library()


@register.simple_tag(takes_context=True)
def case_work(context, case):
    """Runs, tasks and decisions of an exception, for its page (read only), as far as the
    viewer may read them."""
    request = context.get("request")
    return selectors.case_work(case, user=request.user if request else None)


@register.filter
def due_label(task):
    return selectors.due_label(task)


@register.filter
def readable_by(task, work):
    """``{% if t|readable_by:work %}``: may the viewer open this task of the case?"""
    return work.readable is None or task.pk in work.readable


@register.simple_tag(takes_context=True)
def timeline_with_decisions(context, timeline, case):
    """``{% timeline_with_decisions timeline case as entries %}``: the exception's timeline
    (signals, state changes) with the decisions recorded on it that the viewer may read
    (``decision_readable_q``), in time order."""
    from exceptions.selectors import TimelineEntry

    request = context.get("request")
    user = request.user if request else None
    decisions = Decision.objects.filter(case=case).select_related("decided_by", "task")
    if user is not None:
        decisions = decisions.filter(selectors.decision_readable_q(user))
    entries = list(timeline) + [
        TimelineEntry(
            at=d.decided_at,
            what=f"Decision: {d.chosen_label}" + (f" ({plant_time(d.value)})" if d.value else ""),
            summary=f"on “{d.task.title}”: {d.rationale}",
            who=d.decided_by.get_username(),
            css="decision",
        )
        for d in decisions
    ]
    return sorted(entries, key=lambda e: e.at)
