"""Apply a validated plant event to the operational picture.

Called by ingestion, one savepoint per event inside a batch's transaction. Each signal
updates one "thing" (a line's status, a job's counts, a stock position, a lot's quality
state, an order value); its watermark keeps the plant time of the newest signal applied to
that thing, so a late signal never overwrites newer state: it is reported stale and
changes nothing.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Case, F, Q, Value, When

from kernel.errors import DomainError

from . import models as plant
from .andon import andon_apply
from .events import PlantEvent, batch_cache
from .quality import disposition_message, lot_hold_write
from .services import transition_apply


class EventApplyError(DomainError):
    """The event cannot be applied (unknown reference, conflicting state); it is parked."""

    code = "event_not_applicable"
    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", field=field)
        self.field = field
        self.message = message


def event_apply(event: PlantEvent) -> bool:
    """Apply ``event``; False when it is stale (older than what was applied to its thing)."""
    site = _reference(plant.Site, "data.site", code=event.site)
    return APPLIERS[event.type](event, site)


def _get(model, field: str, **lookup):
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        value = next(iter(lookup.values()))
        raise EventApplyError(field, f"unknown {model._meta.verbose_name} {value!r}") from None


def _reference(model, field: str, **lookup):
    """``_get`` for master data (sites, lines, items, locations, assets, shifts), looked up
    once per processing batch: it does not change under a batch, and a burst of signals
    names the same few lines and items again and again. Never for lots, jobs or orders,
    whose state the appliers read."""
    cache = batch_cache()
    key = (model, *sorted(lookup.items()))
    if key not in cache:
        cache[key] = _get(model, field, **lookup)
    return cache[key]


def _event_line(event: PlantEvent, site: plant.Site) -> plant.Line:
    try:
        return _reference(plant.Line, "data.line", code=event.data["line"], site=site)
    except EventApplyError:
        raise EventApplyError(
            "data.line", f"unknown line {event.data['line']!r} at site {site.code}"
        ) from None


def _newer(key: str, time: datetime) -> bool:
    """Advance the watermark of ``key`` to ``time``; False if newer state was applied.

    One upsert: it inserts or moves the mark forward and returns the row, or returns nothing
    when the mark is already later. The row stays locked until commit, so two workers
    applying signals on the same thing serialize here.
    """
    table = plant.Watermark._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, time) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
            f"SET time = EXCLUDED.time WHERE {table}.time <= EXCLUDED.time RETURNING id",
            [key, connection.ops.adapt_datetimefield_value(time)],
        )
        return cursor.fetchone() is not None


def _why(event: PlantEvent) -> str:
    return f"{event.type} from {event.source} (event {event.event_id})"


def _equipment_status(event: PlantEvent, site: plant.Site) -> bool:
    line = _event_line(event, site)
    if asset := event.data.get("asset"):
        _reference(plant.Asset, "data.asset", code=asset, line=line)
    if not _newer(f"line-status:{line.pk}", event.time):
        return False
    status = event.data["status"]
    # One statement: "since" moves only when the status really changes (SET sees old values).
    plant.Line.objects.filter(pk=line.pk).update(
        status=status,
        status_reason=event.data.get("reason", "")[:200],
        status_since=Case(
            When(~Q(status=status), then=Value(event.time)), default=F("status_since")
        ),
    )
    return True


def _maintenance_event(event: PlantEvent, site: plant.Site) -> bool:
    data = event.data
    line = _event_line(event, site)
    asset = (
        _reference(plant.Asset, "data.asset", code=data["asset"], line=line)
        if data.get("asset")
        else None
    )
    if not _newer(f"maintenance:{data['work_order']}", event.time):
        return False
    plant.MaintenanceWindow.objects.update_or_create(
        work_order=data["work_order"],
        defaults={
            "line": line,
            "asset": asset,
            "kind": data["kind"],
            "status": data["status"],
            "starts_at": data.get("starts_at"),
            "expected_end": data.get("expected_end"),
            "updated_at": event.time,
        },
    )
    _maintenance_line_status(event, line)
    return True


def maintenance_line_status(kind: str, status: str) -> str | None:
    """The line status a maintenance signal implies (issue 15, item 6), None for no change.

    The board raises "Line L4 unplanned maintenance" on an unplanned event scheduled or
    started (exceptions/defaults.py), so the line is in maintenance from then; planned work
    puts it there once started. Completed or cancelled work leaves it idle: not known to be
    running until the MES says so (which clears the exception as "Line running again").
    """
    if status == "started" or (kind == "unplanned" and status == "scheduled"):
        return plant.Line.Status.MAINTENANCE
    if status in ("completed", "cancelled"):
        return plant.Line.Status.IDLE
    return None


def _maintenance_line_status(event: PlantEvent, line: plant.Line) -> None:
    """Apply ``maintenance_line_status`` under the line-status watermark, so a newer
    ``equipment.status`` wins and a late maintenance signal changes nothing. Ending work only
    takes a line out of maintenance: one that reported running meanwhile stays running."""
    target = maintenance_line_status(event.data["kind"], event.data["status"])
    if target is None:
        return
    lines = plant.Line.objects.filter(pk=line.pk)
    if target == plant.Line.Status.IDLE:
        lines = lines.filter(status=plant.Line.Status.MAINTENANCE)
        if not lines.exists():
            return
    if not _newer(f"line-status:{line.pk}", event.time):
        return
    what = f"{event.data['kind']} maintenance {event.data['work_order']} {event.data['status']}"
    lines.update(
        status=target,
        status_reason=what[:200],
        status_since=Case(
            When(~Q(status=target), then=Value(event.time)), default=F("status_since")
        ),
    )


def _production_progress(event: PlantEvent, site: plant.Site) -> bool:
    """Counts are cumulative on the job (as MES reports them), so a replay is harmless."""
    data = event.data
    try:
        job = (
            plant.Job.objects.select_for_update(of=("self",))
            .select_related("line")
            .get(number=data["job"], line__site=site)
        )
    except plant.Job.DoesNotExist:
        raise EventApplyError("data.job", f"unknown job {data['job']!r}") from None
    if data.get("line") and data["line"] != job.line.code:
        raise EventApplyError(
            "data.line", f"job {job.number} runs on {job.line.code}, not {data['line']}"
        )
    if job.status in (plant.Job.Status.COMPLETED, plant.Job.Status.CANCELLED):
        raise EventApplyError("data.job", f"job {job.number} is {job.status}")
    if not _newer(f"job-progress:{job.pk}", event.time):
        return False
    plant.Job.objects.filter(pk=job.pk).update(
        good_quantity=data["good"], scrap_quantity=data["scrap"]
    )
    if job.status != plant.Job.Status.RUNNING and data["good"] + data["scrap"] > 0:
        # The first counts mean the line started the job, whatever the plan said.
        transition_apply(job.start, via=plant.StateChange.Via.EVENT, reason=_why(event))
    return True


def _inventory_level(event: PlantEvent, site: plant.Site) -> bool:
    data = event.data
    item = _reference(plant.Item, "data.item", code=data["item"])
    location = _reference(plant.Location, "data.location", code=data["location"], site=site)
    if data.get("uom") and data["uom"] != item.uom:
        raise EventApplyError("data.uom", f"item {item.code} is counted in {item.uom}")
    if not _newer(f"stock:{item.pk}:{location.pk}", event.time):
        return False
    plant.Stock.objects.bulk_create(  # one upsert, not a select and an update
        [
            plant.Stock(
                item=item,
                location=location,
                quantity=Decimal(str(data["quantity"])),
                updated_at=event.time,
            )
        ],
        update_conflicts=True,
        unique_fields=["item", "location"],
        update_fields=["quantity", "updated_at"],
    )
    return True


def _material_shortage(event: PlantEvent, site: plant.Site) -> bool:
    """Nothing in the picture changes; the references must exist for the exception."""
    _reference(plant.Item, "data.item", code=event.data["item"])
    if event.data.get("line"):
        _event_line(event, site)
    return True


def _labor_availability(event: PlantEvent, site: plant.Site) -> bool:
    data = event.data
    line = _event_line(event, site)
    shift = _reference(plant.Shift, "data.shift", code=data["shift"], site=site)
    skill = data.get("skill", "")
    if not _newer(f"staffing:{line.pk}:{shift.pk}:{skill}", event.time):
        return False
    plant.Staffing.objects.update_or_create(
        line=line,
        shift=shift,
        skill=skill,
        defaults={
            "available": data["available"],
            "required": data["required"],
            "updated_at": event.time,
        },
    )
    return True


def _lot_for(event: PlantEvent, site: plant.Site) -> plant.Lot:
    """The event's lot, locked: its state changes here (a quality engineer may act at once)."""
    try:
        return plant.Lot.objects.select_for_update().get(
            code=event.data["lot"], location__site=site
        )
    except plant.Lot.DoesNotExist:
        raise EventApplyError("data.lot", f"unknown lot {event.data['lot']!r}") from None


def _quality_hold(event: PlantEvent, site: plant.Site) -> bool:
    lot = _lot_for(event, site)
    # Holds and dispositions share one watermark: a late hold must not re-hold a released lot.
    if not _newer(f"lot-quality:{lot.pk}", event.time):
        return False
    if lot.status == plant.Lot.Status.ON_HOLD:
        return True  # a repeat signal about a held lot: nothing more to change
    if lot.status == plant.Lot.Status.SCRAPPED:
        raise EventApplyError("data.lot", f"lot {lot.code} is scrapped; it cannot be held")
    # Written to the outbox like a person's hold, also when ERP sent it: MES and the other
    # targets must stop the lot too, and a target that already holds it changes nothing.
    lot_hold_write(
        lot,
        actor=None,
        reason=event.data["reason"],
        defect_code=event.data.get("defect_code") or "",
        via=plant.StateChange.Via.EVENT,
        audit=_why(event),
    )
    return True


# disposition -> the lot's transition
DISPOSITIONS = {
    "release": lambda lot: lot.release,
    "rework": lambda lot: lot.rework,
    "scrap": lambda lot: lot.scrap,
    "use_as_is": lambda lot: lot.use_as_is,
}


def _quality_disposition(event: PlantEvent, site: plant.Site) -> bool:
    lot = _lot_for(event, site)
    if not _newer(f"lot-quality:{lot.pk}", event.time):
        return False
    if lot.status != plant.Lot.Status.ON_HOLD:
        raise EventApplyError(
            "data.lot", f"lot {lot.code} is {lot.status}, not on hold; nothing to disposition"
        )
    transition_apply(
        DISPOSITIONS[event.data["disposition"]](lot),
        via=plant.StateChange.Via.EVENT,
        reason=f"{event.data['rationale']} — {_why(event)}",
    )
    disposition_message(
        lot, event.data["disposition"], rationale=event.data["rationale"], at=event.time
    )
    return True


def _order_changed(event: PlantEvent, site: plant.Site) -> bool:
    data = event.data
    try:
        order = plant.Order.objects.select_for_update().get(number=data["order"], site=site)
    except plant.Order.DoesNotExist:
        raise EventApplyError("data.order", f"unknown order {data['order']!r}") from None
    change = data["change"]
    if order.status in (plant.Order.Status.COMPLETED, plant.Order.Status.CANCELLED):
        raise EventApplyError("data.order", f"order {order.number} is {order.status}")
    if not _newer(f"order:{order.pk}:{change}", event.time):
        return False
    if change == "cancel":
        transition_apply(order.cancel, via=plant.StateChange.Via.EVENT, reason=_why(event))
        return True
    if change == "add_line":
        _get(plant.Item, "data.item", code=data["item"])  # the new line becomes a new ERP order
        return True
    field, value = {
        "quantity": ("quantity", data.get("quantity")),
        "due_date": ("due_at", data.get("due_at")),
        "priority": ("priority", data.get("priority")),
    }[change]
    plant.Order.objects.filter(pk=order.pk).update(**{field: value})
    return True


APPLIERS: dict[str, Callable[[PlantEvent, plant.Site], bool]] = {
    "equipment.status": _equipment_status,
    "maintenance.event": _maintenance_event,
    "production.progress": _production_progress,
    "inventory.level": _inventory_level,
    "material.shortage": _material_shortage,
    "labor.availability": _labor_availability,
    "quality.hold": _quality_hold,
    "quality.disposition": _quality_disposition,
    "order.changed": _order_changed,
    "andon.call": andon_apply,  # coordination/andon.py (floor pages, issue 15)
}
