from django import template

from .. import selectors

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
