"""The hold's exception follows the lot: resolved when quality dispositioned all of it.

Registered on ``coordination.quality.lot_observers`` (``apps.py``); runs inside the
disposition's transaction, so the lot and its exception never disagree. A partial disposition
leaves the exception open while part of the lot is still on hold.
"""

from django.utils import timezone

from coordination.quality import LotChange

from .hooks import Change
from .models import OPEN_STATES, ExceptionCase, ExceptionCaseEvent, Kind
from .services import _case_transition, _entry


def lot_dispositioned(change: LotChange) -> None:
    case = (
        ExceptionCase.objects.select_for_update()
        .filter(kind=Kind.QUALITY_HOLD, key=change.hold_key, status__in=OPEN_STATES)
        .first()
    )
    if case is None:
        return
    what = change.summary
    if change.still_on_hold:
        _entry(
            case,
            ExceptionCaseEvent.Kind.SIGNAL,
            f"dispositioned {what}",
            actor=change.actor,
            via=change.via,
        )
        ExceptionCase.objects.filter(pk=case.pk).update(updated_at=timezone.now())
        return
    now = timezone.now()
    case.condition_active, case.cleared_at = False, now
    case.save(update_fields=["condition_active", "cleared_at"])
    _entry(case, ExceptionCaseEvent.Kind.CLEARED, f"nothing left on hold: {what}", via=change.via)
    note = f"Dispositioned: {what}. {change.rationale}"
    _case_transition(
        case,
        case.resolve,
        actor=change.actor,
        via=change.via,
        reason=note,
        change=Change.RESOLVED,
        note=note,
    )
