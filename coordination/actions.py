"""The people's actions on lots, one table for the pages and the API (``kernel.actions``)."""

from kernel.actions import Action, ActionTable

from . import quality
from .api.quality import DispositionInput, HoldInput
from .forms import DispositionForm, HoldForm
from .models import Lot


def _disposed(lot: Lot) -> str:
    done = f"Lot {lot.code} is {lot.get_status_display().lower()}"
    if lot.split_from_id:
        done += f" (split off {lot.split_from.code}, {lot.split_from.quantity} still on hold)"
    return done + "."


LOT_ACTIONS = ActionTable(
    "lot_id",
    {
        "hold": Action(
            perform=quality.lot_hold_place,
            form=HoldForm,
            input=HoldInput,
            done=lambda lot: f"Lot {lot.code} is on hold.",
        ),
        "disposition": Action(
            perform=quality.lot_disposition,
            form=DispositionForm,
            input=DispositionInput,
            done=_disposed,
        ),
    },
)

ACTION_PERMISSIONS = {
    "hold": quality.HOLD_PERMISSION,
    "disposition": quality.DISPOSITION_PERMISSION,
}

HOLDABLE = (*Lot.USABLE, Lot.Status.REWORK)  # a rework lot comes back on hold
# action -> the lot states it is offered in (scrapped is terminal: nothing).
OFFERED_IN = {"hold": HOLDABLE, "disposition": (Lot.Status.ON_HOLD,)}


def lot_actions_offered(lot: Lot, user) -> list[str]:
    """The actions ``lot`` offers in its state that ``user``'s role may take, in table order
    (decided here, once: the lot page, the exception page and the search follow it)."""
    return [
        name
        for name in LOT_ACTIONS.actions
        if lot.status in OFFERED_IN[name] and user.has_perm(ACTION_PERMISSIONS[name])
    ]
