"""Reads for the hold queue, the lot search and the lot page."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import Job, Lot, Order
from .services import state_history

OPEN_ORDERS = (Order.Status.OPEN, Order.Status.IN_PRODUCTION)
# Lots that left quality's hands: they may have been shipped or consumed already.
OUT_OF_HOLD = (Lot.Status.AVAILABLE, Lot.Status.RELEASED, Lot.Status.USED_AS_IS)


@dataclass
class HeldLot:
    lot: Lot
    age: timedelta | None
    orders: list[Order] = field(default_factory=list)  # made for, then open orders of the item
    # The job that made it and its rework job. The model has no bill of materials, so which
    # jobs would consume a material lot is not known here.
    jobs: list[Job] = field(default_factory=list)
    gone: list[Lot] = field(default_factory=list)  # same job or split family, out of hold

    @property
    def age_label(self) -> str:
        if self.age is None:
            return "—"
        minutes = int(self.age.total_seconds() // 60)
        if minutes < 60:
            return f"{minutes} min"
        if minutes < 48 * 60:
            return f"{minutes // 60} h {minutes % 60:02d}"
        return f"{minutes // (24 * 60)} d"


def _lots():
    return Lot.objects.select_related(
        "item", "location__site", "job__order__customer", "job__line", "rework_job__line",
        "split_from",
    )  # fmt: skip


def _related(lots: list[Lot], *, orders_per_lot: int = 3) -> list[HeldLot]:
    """Attach the orders that would take each lot (the one it was made for, then open orders
    of its item, soonest due) and what already left from its job or split family: two
    queries whatever the number of lots."""
    now = timezone.now()
    items = {lot.item_id for lot in lots}
    open_orders: dict[int, list[Order]] = {}
    for order in (
        Order.objects.filter(item_id__in=items, status__in=OPEN_ORDERS)
        .select_related("customer")
        .order_by("due_at")
    ):
        open_orders.setdefault(order.item_id, []).append(order)
    jobs = {lot.job_id for lot in lots if lot.job_id}
    family = {lot.split_from_id or lot.pk for lot in lots}
    siblings = list(
        Lot.objects.filter(Q(job_id__in=jobs) | Q(split_from_id__in=family) | Q(pk__in=family))
        .filter(status__in=OUT_OF_HOLD)
        .select_related("location")
        .order_by("code")
    )
    rows = []
    for lot in lots:
        orders = [lot.job.order] if lot.job_id else []
        orders += [o for o in open_orders.get(lot.item_id, []) if o not in orders][:orders_per_lot]
        made = [lot.job] if lot.job_id else []
        rework = [lot.rework_job] if lot.rework_job_id else []
        root = lot.split_from_id or lot.pk
        gone = [
            s
            for s in siblings
            if s.pk != lot.pk
            and ((lot.job_id and s.job_id == lot.job_id) or root in (s.pk, s.split_from_id))
        ]
        rows.append(
            HeldLot(
                lot=lot,
                age=(now - lot.held_at) if lot.held_at else None,
                orders=orders,
                jobs=made + rework,
                gone=gone,
            )
        )
    return rows


def hold_queue(*, limit: int = 200) -> list[HeldLot]:
    """Lots on hold, oldest hold first, with what they touch."""
    lots = list(_lots().filter(status=Lot.Status.ON_HOLD).order_by("held_at", "code")[:limit])
    return _related(lots)


SEARCH_LIMIT = 100


def lot_search(*, query: str = "", status: str = "") -> list[Lot]:
    """Lots by code, item, order (made for it, or of its item), job or location."""
    query = (query or "").strip()
    if not query and not status:
        return []
    lots = _lots()
    if query:
        lots = lots.filter(
            Q(code__icontains=query)
            | Q(item__code__icontains=query)
            | Q(location__code__icontains=query)
            | Q(job__number__icontains=query)
            | Q(rework_job__number__icontains=query)
            | Q(job__order__number__iexact=query)
            | Q(item__orders__number__iexact=query)
        )
    if status:
        lots = lots.filter(status=status)
    return list(lots.distinct().order_by("code")[:SEARCH_LIMIT])


def lot_get(*, code: str) -> Lot | None:
    return _lots().filter(code=code).first()


def lot_page(lot: Lot) -> dict:
    """The lot page: what touches it, its split family and its audit trail."""
    return {
        "held": _related([lot], orders_per_lot=10)[0],
        "splits": list(lot.splits.order_by("code")),
        "history": list(state_history(lot)),
    }
