"""Writes of the records the ERP owns (items, orders, jobs, lots) when it sends them in bulk
(a B2MML file today). Each call creates or updates one record, audited with a ``StateChange``
row (``create`` / ``update``, who, through what, why, what changed) in the caller's
transaction; a record already as given changes nothing and writes no audit row, so importing
the same file twice is a no-op.

The plant's own decisions win over a re-sent plan: a job that has started is not moved, a
closed order is not reopened, a held lot is not released (quality dispositions holds).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Max
from django.utils import timezone

from kernel.errors import ConflictError

from .models import Customer, Item, Job, Line, Location, Lot, Order, Site, StateChange, Stock
from .quality import lot_hold_locked


@dataclass(frozen=True)
class Audit:
    actor: object = None
    via: str = StateChange.Via.SYSTEM
    reason: str = ""


def _audit(obj: models.Model, audit: Audit, transition: str, before: str, changes: str) -> None:
    StateChange.objects.create(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        transition=transition,
        from_state=before,
        to_state=getattr(obj, "status", "") or "",
        actor=audit.actor if getattr(audit.actor, "is_authenticated", False) else None,
        via=audit.via,
        reason=f"{audit.reason}: {changes}"[:1000] if audit.reason else changes[:1000],
    )


def _changes(obj: models.Model, wanted: dict) -> dict:
    """The fields of ``wanted`` whose value differs on ``obj``: {name: (old, new)}."""
    return {
        name: (getattr(obj, name), value)
        for name, value in wanted.items()
        if getattr(obj, name) != value
    }


def _text(changes: dict) -> str:
    def show(value):
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        return getattr(value, "code", None) or getattr(value, "number", None) or str(value)

    return "; ".join(f"{name} {show(old)} → {show(new)}" for name, (old, new) in changes.items())


def _update(obj: models.Model, changes: dict) -> None:
    """Write the changed columns only, with an UPDATE: never the status column, a protected
    FSM field that changes only by transitions."""
    values = {}
    for name, (_, new) in changes.items():
        setattr(obj, name, new)
        attname = obj._meta.get_field(name).attname
        values[attname] = getattr(obj, attname)
    if hasattr(obj, "updated_at"):
        values["updated_at"] = obj.updated_at = timezone.now()
    type(obj).objects.filter(pk=obj.pk).update(**values)


def item_record(*, code: str, description: str, uom: str | None, audit: Audit) -> tuple[Item, bool]:
    """Create or update an item (material master); returns (item, changed)."""
    item = Item.objects.select_for_update().filter(code=code).first()
    wanted = {"description": description[:200] or code}
    if uom:
        wanted["uom"] = uom[:10]
    if item is None:
        item = Item.objects.create(code=code, kind=Item.Kind.MATERIAL, **wanted)
        _audit(item, audit, "create", "", f"item {code} created")
        return item, True
    changes = _changes(item, wanted)
    if changes:
        _update(item, changes)
        _audit(item, audit, "update", "", _text(changes))
    return item, bool(changes)


def order_record(
    *,
    number: str,
    site: Site,
    customer: Customer | None,
    item: Item,
    quantity: int,
    due_at: datetime,
    priority: int | None,
    audit: Audit,
) -> tuple[Order, bool]:
    """Create an order, or bring an open one up to date (quantity, due date, priority);
    returns (order, changed). ``customer`` may be None only for an existing order."""
    order = Order.objects.select_for_update().filter(number=number).first()
    if order is None:
        if customer is None:
            raise ConflictError(f"order {number} is new and names no customer", field="customer")
        order = Order.objects.create(
            number=number,
            site=site,
            customer=customer,
            item=item,
            quantity=quantity,
            due_at=due_at,
            priority=priority or 3,
        )
        _audit(order, audit, "create", "", f"order {number} created")
        return order, True
    if order.item_id != item.pk:
        raise ConflictError(
            f"order {number} is for item {order.item.code}, not {item.code}", field="item"
        )
    wanted = {"quantity": quantity, "due_at": due_at}
    if priority is not None:
        wanted["priority"] = priority
    if customer is not None:
        wanted["customer"] = customer
    changes = _changes(order, wanted)
    if changes and order.status in (Order.Status.COMPLETED, Order.Status.CANCELLED):
        raise ConflictError(
            f"order {number} is {order.status}: it cannot change ({_text(changes)})",
            current_state=order.status,
        )
    if changes:
        _update(order, changes)
        _audit(order, audit, "update", order.status, _text(changes))
    return order, bool(changes)


def job_record(
    *,
    number: str,
    order: Order,
    line: Line,
    quantity: int,
    planned_start: datetime,
    planned_end: datetime,
    audit: Audit,
) -> tuple[Job, bool]:
    """Create a job at the end of its line's sequence, or re-plan one not yet started;
    returns (job, changed)."""
    job = Job.objects.select_for_update().filter(number=number).first()
    wanted = {
        "line": line,
        "quantity": quantity,
        "planned_start": planned_start,
        "planned_end": planned_end,
    }
    if job is None:
        # Appended: where it belongs in the sequence is the planner's (and the sequencer's)
        # decision; its planned start is what the ERP asked for.
        last = Job.objects.filter(line=line).aggregate(last=Max("sequence"))["last"] or 0
        job = Job.objects.create(
            number=number, order=order, item=order.item, sequence=last + 10, **wanted
        )
        _audit(job, audit, "create", "", f"job {number} created on {line.code}")
        return job, True
    if job.order_id != order.pk:
        raise ConflictError(f"job {number} belongs to order {job.order.number}", field="job")
    changes = _changes(job, wanted)
    if changes and job.status not in (Job.Status.PLANNED, Job.Status.RELEASED):
        raise ConflictError(
            f"job {number} is {job.status}: the plan cannot move it ({_text(changes)})",
            current_state=job.status,
        )
    if "line" in changes:
        last = Job.objects.filter(line=line).aggregate(last=Max("sequence"))["last"] or 0
        changes["sequence"] = (job.sequence, last + 10)
    if changes:
        _update(job, changes)
        _audit(job, audit, "update", job.status, _text(changes))
    return job, bool(changes)


def lot_record(
    *,
    code: str,
    item: Item,
    location: Location | None,
    quantity: Decimal | None,
    parent: Lot | None,
    hold_reason: str | None,
    audit: Audit,
) -> tuple[Lot, bool, str]:
    """Create or update a lot (or a sub-lot: ``parent``); ``hold_reason`` puts a usable lot on
    hold (audited, ``lot.held`` in the outbox). Returns (lot, changed, note): the note says
    what was deliberately not done. Stock follows a lot's quantity; a sub-lot is part of its
    lot's quantity and moves no stock."""
    lot = Lot.objects.select_for_update().filter(code=code).first()
    note = ""
    if lot is None:
        if location is None:
            raise ConflictError(f"lot {code} is new and has no location", field="location")
        lot = Lot.objects.create(
            code=code,
            item=item,
            location=location,
            quantity=quantity if quantity is not None else Decimal(0),
            split_from=parent,
        )
        _audit(lot, audit, "create", "", f"lot {code} created")
        if parent is None:
            _stock_add(item, location, lot.quantity)
        changed = True
    else:
        if lot.item_id != item.pk:
            raise ConflictError(f"lot {code} is of item {lot.item.code}, not {item.code}")
        wanted = {}
        if quantity is not None:
            wanted["quantity"] = quantity
        if location is not None:
            wanted["location"] = location
        changes = _changes(lot, wanted)
        if changes:
            old_quantity, old_location = lot.quantity, lot.location
            _update(lot, changes)
            _audit(lot, audit, "update", lot.status, _text(changes))
            if lot.split_from_id is None:
                _stock_add(item, old_location, -old_quantity)
                _stock_add(item, lot.location, lot.quantity)
        changed = bool(changes)
    if hold_reason is not None:
        if lot.status in Lot.USABLE:
            lot = Lot.objects.select_for_update().select_related("location__site").get(pk=lot.pk)
            # A person's hold path: the audited transition, ``lot.held`` in the outbox, and
            # the quality.hold signal the exceptions app raises its case from.
            lot_hold_locked(
                lot, actor=audit.actor, reason=hold_reason, defect_code="", via=audit.via
            )
            changed = True
    elif lot.status == Lot.Status.ON_HOLD:
        note = f"lot {code} stays on hold here: quality dispositions holds, not the ERP"
    return lot, changed, note


def _stock_add(item: Item, location: Location, quantity: Decimal) -> None:
    if not quantity:
        return
    stock, _ = Stock.objects.select_for_update().get_or_create(item=item, location=location)
    Stock.objects.filter(pk=stock.pk).update(
        quantity=F("quantity") + quantity, updated_at=timezone.now()
    )
