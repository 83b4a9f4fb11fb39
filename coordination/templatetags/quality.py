"""The lot section of a quality_hold exception's page (the exception names the lot by code)."""

from django import template

from ..actions import LOT_ACTIONS, lot_actions_offered
from ..quality_selectors import lot_get

register = template.Library()


@register.simple_tag(takes_context=True)
def case_lot(context, code: str) -> dict:
    """The held lot and the forms its viewer may use on it (none for a lot we do not know)."""
    user = context["request"].user
    lot = lot_get(code=code)
    if lot is None or not user.has_perm("coordination.view_lot"):
        return {"lot": lot, "actions": [], "visible": lot is not None}
    actions = [(name, LOT_ACTIONS.form(name, lot)) for name in lot_actions_offered(lot, user)]
    held = lot.splits.filter(status="on_hold").order_by("code")
    return {"lot": lot, "actions": actions, "visible": True, "held_splits": list(held)}
