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
            states=(*Lot.USABLE, Lot.Status.REWORK),
        ),
        "disposition": Action(
            perform=quality.lot_disposition,
            form=DispositionForm,
            input=DispositionInput,
            done=_disposed,
            states=(Lot.Status.ON_HOLD,),
        ),
    },
)

ACTION_PERMISSIONS = {
    "hold": quality.HOLD_PERMISSION,
    "disposition": quality.DISPOSITION_PERMISSION,
}

# A lot offers actions in every state but scrapped (a terminal state).
OPEN_LOT_STATES = tuple(s for s in Lot.Status.values if s != Lot.Status.SCRAPPED)


def lot_actions_offered(lot: Lot, user) -> list[str]:
    """The actions ``lot`` offers in its state that ``user``'s role may take."""
    return [
        name
        for name in LOT_ACTIONS.offered(lot, open_states=OPEN_LOT_STATES)
        if user.has_perm(ACTION_PERMISSIONS[name])
    ]
