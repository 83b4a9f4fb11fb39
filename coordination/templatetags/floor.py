"""Links to the drill-down pages that respect the role: ``{% order_link o.number %}``.

A role that may not open the page (maintenance and orders, sales and lots) gets the code as
plain text, never a link to a 403 (or to the API's JSON).
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()

PAGES = {
    # kind: (url name, permission to open the page)
    "line": ("line-detail", "coordination.view_line"),
    "order": ("order-detail", "coordination.view_order"),
    "job": ("job-detail", "coordination.view_job"),
    "lot": ("lot-detail", "coordination.view_lot"),
    "item": ("item-detail", "coordination.view_item"),
}


def _link(context, kind: str, code, text=None):
    if code in (None, ""):
        return ""
    text = code if text is None else text
    request = context.get("request")
    user = getattr(request, "user", None)
    name, perm = PAGES[kind]
    if user is None or not user.has_perm(perm):
        return format_html('<span class="code">{}</span>', text)
    return format_html('<a href="{}">{}</a>', reverse(name, args=[str(code)]), text)


@register.simple_tag(takes_context=True)
def line_link(context, code, text=None):
    return _link(context, "line", code, text)


@register.simple_tag(takes_context=True)
def order_link(context, number, text=None):
    return _link(context, "order", number, text)


@register.simple_tag(takes_context=True)
def job_link(context, number, text=None):
    return _link(context, "job", number, text)


@register.simple_tag(takes_context=True)
def lot_link(context, code, text=None):
    return _link(context, "lot", code, text)


@register.simple_tag(takes_context=True)
def item_link(context, code, text=None):
    return _link(context, "item", code, text)


@register.simple_tag
def plant_name() -> str:
    """The plant's name for the floor screen: its site, or its sites joined."""
    from ..models import Site

    names = list(Site.objects.order_by("code").values_list("name", flat=True)[:3])
    return " · ".join(names) or "Plant"
