"""Andon calls on the operational picture: a person at the line says it stopped or runs again.

``andon.call`` events come from a line's station page (``integrations/andon.py``) or a
plant's own andon system, through the inbox like any machine's signal. "Line stopped" and
"line running again" set the line's status (so the plant overview and the board agree);
the other calls (quality, material, help) change nothing here: they only raise exceptions.
"""

from django.db.models import Case, F, Q, Value, When

from . import models as plant
from .events import PlantEvent

STATUS_BY_CALL = {"stopped": plant.Line.Status.DOWN, "running": plant.Line.Status.RUNNING}


def andon_apply(event: PlantEvent, site: plant.Site) -> bool:
    """The ``APPLIERS`` entry for ``andon.call`` (coordination/apply.py)."""
    from .apply import _event_line, _newer  # apply registers this module's function

    line = _event_line(event, site)
    status = STATUS_BY_CALL.get(event.data.get("call"))
    if status is None:
        return True  # quality, material, help: nothing on the picture changes
    # The same watermark as the MES's equipment.status: the newest word on the line wins.
    if not _newer(f"line-status:{line.pk}", event.time):
        return False
    reason = event.data.get("reason") or event.data.get("note") or ""
    who = event.data.get("station") or "station"
    plant.Line.objects.filter(pk=line.pk).update(
        status=status,
        status_reason=(f"andon ({who}): {reason}" if reason else f"andon ({who})")[:200],
        status_since=Case(
            When(~Q(status=status), then=Value(event.time)), default=F("status_since")
        ),
    )
    return True
