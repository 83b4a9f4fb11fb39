from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def case_work(case):
    """Runs, tasks and decisions of an exception, for its page (read only)."""
    return selectors.case_work(case)


@register.filter
def due_label(task):
    return selectors.due_label(task)
