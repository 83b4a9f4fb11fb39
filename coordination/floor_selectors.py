"""Reads for the drill-down pages (line, order, job, item) and the one search box.

Every read takes the user: what a role may not read in the lists (orders for maintenance,
lots for sales and maintenance, another function's exceptions) it does not read here either.
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from exceptions.kinds import kinds_for
from exceptions.models import OPEN_STATES, ExceptionCase, ExceptionCaseEvent
from exceptions.selectors import case_list

from .models import Item, Job, Line, Lot, MaintenanceWindow, Order, Staffing, Stock
from .quality_selectors import OPEN_ORDERS
from .selectors import ACTIVE_JOB_STATES
from .services import state_history

VIEW_ORDER = "coordination.view_order"
VIEW_LOT = "coordination.view_lot"
RECENT_EVENTS = 25
NEXT_JOBS = 8


def may_read_orders(user) -> bool:
    return user.has_perm(VIEW_ORDER)


def may_read_lots(user) -> bool:
    return user.has_perm(VIEW_LOT)


def _open_cases(user, **lookup) -> list[ExceptionCase]:
    return list(case_list(user=user).filter(status__in=OPEN_STATES, **lookup)[:50])


def _cases_naming(user, number: str, impact_key: str, *, lines: set[int]) -> list[ExceptionCase]:
    """Exceptions keyed by ``number`` or whose stored impact lists it (orders, jobs).

    The impact is JSON: "contains" is not portable to SQLite (the embedded default), so the
    candidates are the exceptions on the same lines, read newest first and matched here.
    """
    candidates = case_list(user=user).filter(Q(key=number) | Q(line_id__in=lines))
    found = []
    for case in candidates.order_by("-opened_at")[:200]:
        listed = (case.impact or {}).get(impact_key) or []
        if case.key == number or any(
            isinstance(x, dict) and x.get("number") == number for x in listed
        ):
            found.append(case)
    return found[:20]


# --- line ------------------------------------------------------------------------------------


@dataclass
class LinePage:
    line: Line
    current: Job | None
    upcoming: list[Job]
    cases: list[ExceptionCase]
    staffing: list[Staffing]
    maintenance: list[MaintenanceWindow]
    events: list[ExceptionCaseEvent]
    recent_jobs: list[Job] = field(default_factory=list)


def line_get(*, code: str) -> Line | None:
    return Line.objects.select_related("site").filter(code=code).first()


def line_page(line: Line, *, user) -> LinePage:
    """Status, what runs now and next, open exceptions, staffing, recent events of one line."""
    jobs = Job.objects.filter(line=line).select_related("order__customer", "item")
    running = jobs.filter(status=Job.Status.RUNNING).order_by("sequence").first()
    upcoming = list(
        jobs.filter(status__in=[Job.Status.RELEASED, Job.Status.PLANNED]).order_by("sequence")[
            :NEXT_JOBS
        ]
    )
    cases = _open_cases(user, line=line)
    visible_kinds = kinds_for(user)
    events = list(
        ExceptionCaseEvent.objects.filter(case__line=line, case__kind__in=visible_kinds)
        .select_related("case", "actor")
        .order_by("-at", "-id")[:RECENT_EVENTS]
    )
    return LinePage(
        line=line,
        current=running,
        upcoming=upcoming,
        cases=cases,
        staffing=list(
            Staffing.objects.filter(line=line).select_related("shift").order_by("shift__starts")
        ),
        maintenance=list(
            MaintenanceWindow.objects.filter(line=line)
            .exclude(status__in=["completed", "cancelled"])
            .order_by("starts_at")
        ),
        events=events,
        recent_jobs=list(
            jobs.filter(status=Job.Status.COMPLETED).order_by("-actual_end", "-sequence")[:5]
        ),
    )


# --- order, job, item ------------------------------------------------------------------------


def order_get(*, number: str) -> Order | None:
    return Order.objects.select_related("customer", "item", "site").filter(number=number).first()


def order_page(order: Order, *, user) -> dict:
    jobs = list(order.jobs.select_related("line", "item").order_by("planned_start", "number"))
    lots = []
    if may_read_lots(user):
        lots = list(Lot.objects.filter(job__order=order).select_related("location", "item"))
    cases = _cases_naming(user, order.number, "orders", lines={j.line_id for j in jobs})
    produced = sum(j.good_quantity for j in jobs)
    planned_end = max(
        (j.planned_end for j in jobs if j.status != Job.Status.CANCELLED), default=None
    )
    return {
        "jobs": jobs,
        "lots": lots,
        "cases": cases,
        "produced": produced,
        "planned_end": planned_end,
        "late": bool(planned_end and planned_end > order.due_at),
        "history": list(state_history(order)),
    }


def job_get(*, number: str) -> Job | None:
    return (
        Job.objects.select_related("line", "item", "order__customer").filter(number=number).first()
    )


def job_page(job: Job, *, user) -> dict:
    before = (
        Job.objects.filter(line=job.line, status__in=ACTIVE_JOB_STATES, sequence__lt=job.sequence)
        .order_by("-sequence")
        .first()
    )
    after = (
        Job.objects.filter(line=job.line, status__in=ACTIVE_JOB_STATES, sequence__gt=job.sequence)
        .order_by("sequence")
        .first()
    )
    lots = []
    if may_read_lots(user):
        lots = list(
            Lot.objects.filter(Q(job=job) | Q(rework_job=job)).select_related("location", "item")
        )
    cases = _cases_naming(user, job.number, "jobs", lines={job.line_id})
    made = job.good_quantity + job.scrap_quantity
    return {
        "before": before,
        "after": after,
        "lots": lots,
        "cases": cases,
        "scrap_rate": (job.scrap_quantity / made) if made else None,
        "late": job.planned_end > job.order.due_at,
        "history": list(state_history(job)),
    }


def item_get(*, code: str) -> Item | None:
    return Item.objects.filter(code=code).first()


def item_page(item: Item, *, user) -> dict:
    return {
        "jobs": list(
            item.jobs.filter(status__in=ACTIVE_JOB_STATES)
            .select_related("line", "order")
            .order_by("planned_start")[:20]
        ),
        "orders": list(item.orders.filter(status__in=OPEN_ORDERS).select_related("customer")[:20])
        if may_read_orders(user)
        else [],
        "lots": list(item.lots.select_related("location").order_by("-produced_at")[:20])
        if may_read_lots(user)
        else [],
        "stock": list(Stock.objects.filter(item=item).select_related("location"))
        if may_read_lots(user)
        else [],
        "cases": _open_cases(user, impact__material__item=item.code)
        + _open_cases(user, key__startswith=f"{item.code}@"),
    }


# --- search ----------------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str  # line, order, job, lot, item, exception
    code: str
    label: str
    url: str
    exact: bool = False


SEARCH_EACH = 10
MAX_QUERY = 100


def search(*, query: str, user) -> list[Hit]:
    """Lines, orders, jobs, lots, items and exceptions whose code matches, exact ones first.

    Only what the user's role reads: maintenance finds no order, sales no lot, nobody another
    function's exception.
    """
    q = (query or "").strip()[:MAX_QUERY]
    if not q:
        return []
    hits: list[Hit] = []

    def add(kind, code, label, url):
        hits.append(Hit(kind, code, label, url, exact=code.lower() == q.lower()))

    for line in Line.objects.filter(Q(code__icontains=q) | Q(name__icontains=q))[:SEARCH_EACH]:
        add(
            "line", line.code, f"{line.name} · {line.get_status_display()}", _url("line", line.code)
        )
    if may_read_orders(user):
        for o in Order.objects.filter(number__icontains=q).select_related("customer")[:SEARCH_EACH]:
            add(
                "order",
                o.number,
                f"{o.customer.name} · due {o.due_at:%d %b} · {o.status}",
                _url("order", o.number),
            )
    for j in Job.objects.filter(number__icontains=q).select_related("line", "item")[:SEARCH_EACH]:
        add("job", j.number, f"{j.item.code} on {j.line.code} · {j.status}", _url("job", j.number))
    if may_read_lots(user):
        for lot in Lot.objects.filter(code__icontains=q).select_related("item", "location")[
            :SEARCH_EACH
        ]:
            label = f"{lot.item.code} at {lot.location.code} · {lot.get_status_display()}"
            add("lot", lot.code, label, _url("lot", lot.code))
    for item in Item.objects.filter(Q(code__icontains=q) | Q(description__icontains=q))[
        :SEARCH_EACH
    ]:
        add("item", item.code, item.description, _url("item", item.code))
    number = q.lstrip("#")
    cases = case_list(user=user)
    match = Q(key__icontains=q) | Q(title__icontains=q)
    if number.isascii() and number.isdigit() and len(number) < 10:
        match |= Q(pk=int(number))
    for case in cases.filter(match).order_by("-opened_at")[:SEARCH_EACH]:
        hit = Hit(
            "exception", f"#{case.pk}", f"{case.title} · {case.status}", _url("exception", case.pk)
        )
        # Only its number opens an exception at once: "L1" is the line, not its downtime.
        hit.exact = number == str(case.pk)
        hits.append(hit)
    hits.sort(key=lambda h: not h.exact)  # stable: exact first, kinds in order otherwise
    return hits


URL_NAMES = {
    "line": "line-detail",
    "order": "order-detail",
    "job": "job-detail",
    "lot": "lot-detail",
    "item": "item-detail",
    "exception": "exception-detail",
}


def _url(kind: str, ref) -> str:
    return reverse(URL_NAMES[kind], args=[ref])


def order_list(*, late: bool = False, limit: int = 300) -> list[Order]:
    """Open orders, soonest due first (``late``: only those past their due date)."""
    orders = Order.objects.filter(status__in=OPEN_ORDERS).select_related("customer", "item")
    if late:
        orders = orders.filter(due_at__lt=timezone.now())
    return list(orders.order_by("due_at", "number")[:limit])


def lot_extra(lot: Lot, *, user, history) -> dict:
    """The lot page's holds (each hold with how it ended) and the exceptions on the lot."""
    holds, current = [], None
    for change in history:
        if change.transition == "hold":
            current = {"at": change.at, "reason": change.reason, "by": change.actor, "end": None}
            holds.append(current)
        elif current is not None and change.from_state == Lot.Status.ON_HOLD:
            current["end"] = change
            current = None
    cases = list(
        case_list(user=user)
        .filter(Q(key=lot.code) | Q(key__endswith=f":lot:{lot.code}"))
        .order_by("-opened_at")[:20]
    )
    return {"holds": holds[::-1], "lot_cases": cases}
