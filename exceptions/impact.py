"""What a disruption hits, read from the operational picture, and the severity it earns.

``impact_assess`` returns a readable summary plus structured links (codes of lines, jobs,
orders, customers, lots, the material position) and the measures the admin's severity
thresholds test. A handful of indexed queries per assessment; it runs on opening and on each
new signal, never on a page render (the board reads the stored result).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coordination.models import Customer, Item, Job, Line, Lot, Order, Shift, Stock
from kernel.plant_time import plant_time

from .models import ExceptionPolicy, Kind, Severity, SeverityThreshold

ACTIVE_JOBS = (Job.Status.PLANNED, Job.Status.RELEASED, Job.Status.RUNNING)
OPEN_ORDERS = (Order.Status.OPEN, Order.Status.IN_PRODUCTION)


@dataclass
class Impact:
    summary: str = ""
    links: dict = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    affected_label: str = ""
    line_id: int | None = None


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        parsed = parse_datetime(value)
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.utc)
        return parsed
    return None


def _hours(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0) / 3600, 1)


def fmt(value) -> str:
    """A quantity for people: 603000 → "603,000", 2.50 → "2.5"."""
    number = float(value)
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _decimal_or(value, default=Decimal(0)) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception:  # absent or not a number: the rule engine already judged the signal
        return default


def impact_assess(case, *, now: datetime | None = None, policy=None) -> Impact:
    """The impact of an exception on the picture now (reads only)."""
    now = now or timezone.now()
    policy = policy or ExceptionPolicy.current()
    assess = {
        Kind.DOWNTIME: _downtime,
        Kind.SHORTAGE: _shortage,
        Kind.QUALITY_HOLD: _quality_hold,
        Kind.ORDER_CHANGE: _order_change,
        Kind.LABOUR: _labour,
        Kind.SCRAP: _scrap,
        Kind.SYNC_DIVERGENCE: _sync_divergence,
        Kind.ANDON: _andon,
        Kind.MANUAL: _manual,
    }[case.kind]
    return assess(case, case.facts or {}, now, policy)


# --- shared pieces ------------------------------------------------------------------------


def _jobs_on_line(line: Line, now: datetime, horizon: timedelta):
    """The line's active jobs in sequence, with order and customer (one query)."""
    return list(
        Job.objects.filter(line=line, status__in=ACTIVE_JOBS)
        .select_related("order__customer", "item")
        .order_by("sequence")
    )


def _job_link(job: Job) -> dict:
    return {
        "number": job.number,
        "order": job.order.number,
        "item": job.item.code,
        "status": job.status,
        "planned_start": job.planned_start.isoformat(),
        "planned_end": job.planned_end.isoformat(),
    }


def _orders_hit(jobs: list[Job], delay: timedelta, now: datetime) -> list[dict]:
    """Orders of the jobs, each at risk when its job's end pushed by ``delay`` passes its due."""
    orders: dict[str, dict] = {}
    for job in jobs:
        order = job.order
        end = max(job.planned_end, now) + delay if delay else job.planned_end
        late_by = _hours(end - order.due_at) if end > order.due_at else 0
        entry = orders.setdefault(
            order.number,
            {
                "number": order.number,
                "customer": order.customer.code,
                "customer_name": order.customer.name,
                "tier": order.customer.tier,
                "due_at": order.due_at.isoformat(),
                "priority": order.priority,
                "at_risk": False,
                "late_by_hours": 0,
            },
        )
        if late_by > entry["late_by_hours"]:
            entry.update(at_risk=True, late_by_hours=late_by)
    return sorted(orders.values(), key=lambda o: (not o["at_risk"], o["due_at"]))


def _finish(case, *, lines, jobs, orders, lots=None, material=None, lost_hours=0.0, head=""):
    customers: dict[str, dict] = {}
    for order in orders:
        customers.setdefault(
            order["customer"],
            {"code": order["customer"], "name": order["customer_name"], "tier": order["tier"]},
        )
    at_risk = [o for o in orders if o["at_risk"]]
    measures = {
        "orders_at_risk": len(at_risk),
        "strategic_customers": sum(
            1 for c in customers.values() if c["tier"] == Customer.Tier.STRATEGIC
        ),
        "key_customers": sum(1 for c in customers.values() if c["tier"] == Customer.Tier.KEY),
        "lost_hours": lost_hours,
        "jobs_hit": len(jobs),
    }
    links = {
        "lines": lines,
        "jobs": jobs,
        "orders": orders,
        "customers": sorted(customers.values(), key=lambda c: (c["tier"], c["code"])),
        "lots": lots or [],
        "material": material or {},
        "lost_hours": lost_hours,
    }
    parts = [head] if head else []
    if jobs:
        shown = ", ".join(j["number"] for j in jobs[:4]) + (" …" if len(jobs) > 4 else "")
        parts.append(f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} hit ({shown})")
    if orders:
        tiers = []
        if measures["strategic_customers"]:
            tiers.append(f"{measures['strategic_customers']} strategic")
        if measures["key_customers"]:
            tiers.append(f"{measures['key_customers']} key")
        parts.append(
            f"{len(orders)} order{'s' if len(orders) != 1 else ''} for {len(customers)} "
            f"customer{'s' if len(customers) != 1 else ''}"
            + (f" ({', '.join(tiers)})" if tiers else "")
        )
    if at_risk:
        shown = ", ".join(f"{o['number']} ({o['customer_name']})" for o in at_risk[:3])
        more = f" and {len(at_risk) - 3} more" if len(at_risk) > 3 else ""
        parts.append(f"{len(at_risk)} at risk of missing the due date: {shown}{more}")
    elif orders:
        parts.append("no due date at risk")
    if lost_hours:
        parts.append(f"~{fmt(lost_hours)} h of capacity lost")
    if lots:
        shown = ", ".join(f"{lot['code']} at {lot['location']}" for lot in lots[:3])
        parts.append(f"{len(lots)} lot{'s' if len(lots) != 1 else ''}: {shown}")
    label_orders = [o["number"] for o in (at_risk or orders)][:3]
    label = " · ".join(
        x
        for x in (
            ", ".join(lines),
            ", ".join(label_orders) + (f" +{len(orders) - 3}" if len(orders) > 3 else ""),
        )
        if x
    )
    return Impact(
        summary="; ".join(parts) + ("." if parts else ""),
        links=links,
        measures=measures,
        affected_label=label[:200],
    )


def _in_horizon(jobs: list[Job], now: datetime, horizon: timedelta) -> list[Job]:
    return [j for j in jobs if j.planned_start < now + horizon and j.planned_end > now]


def _line_by_code(code) -> Line | None:
    return Line.objects.filter(code=code).first() if code else None


# --- per kind -----------------------------------------------------------------------------


def _downtime(case, facts, now, policy) -> Impact:
    line = _line_by_code(facts.get("line"))
    if line is None:
        return Impact(summary=f"Line {facts.get('line')} is not in the plant picture.")
    horizon = timedelta(hours=policy.horizon_hours)
    expected = _when(facts.get("expected_up_at")) or _when(facts.get("expected_end"))
    down_since = case.first_seen_at or now
    if expected and expected > now:
        outage_end, basis = expected, f"expected back {plant_time(expected, 'time')}"
    else:
        outage_end = now + timedelta(hours=float(policy.default_outage_hours))
        basis = f"no expected end given, assuming {fmt(policy.default_outage_hours)} h more"
    remaining = outage_end - now
    jobs = _jobs_on_line(line, now, horizon)
    hit = _in_horizon(jobs, now, horizon + remaining)
    # Every later job on the line slips too, so due dates are checked over the whole sequence.
    orders = _orders_hit(jobs, remaining, now)
    orders_hit = {j.order.number for j in hit}
    orders = [o for o in orders if o["number"] in orders_hit or o["at_risk"]]
    impact = _finish(
        case,
        lines=[line.code],
        jobs=[{**_job_link(j), "line": line.code} for j in hit],
        orders=orders,
        lost_hours=_hours(outage_end - min(down_since, now)),
        head=f"{line.code} {line.name} out since {plant_time(down_since, 'time')} ({basis})",
    )
    impact.line_id = line.pk
    return impact


def _shortage(case, facts, now, policy) -> Impact:
    horizon = timedelta(hours=policy.horizon_hours)
    item = Item.objects.filter(code=facts.get("item")).first()
    code = facts.get("item")
    short = _decimal_or(facts.get("quantity_short"))
    uom = facts.get("uom") or (item.uom if item else "")
    needed_by = _when(facts.get("needed_by"))
    on_hand = Decimal(0)
    demand = Decimal(0)
    jobs: list[Job] = []
    if item is not None:
        on_hand = Stock.objects.filter(
            item=item, location__site__code=case.site.code if case.site_id else None
        ).aggregate(total=Sum("quantity"))["total"] or Decimal(0)
        if item.kind == Item.Kind.FINISHED:
            jobs = list(
                Job.objects.filter(item=item, status__in=ACTIVE_JOBS)
                .select_related("order__customer", "item", "line")
                .order_by("planned_start")
            )
    line = _line_by_code(facts.get("line"))
    if line is not None and not jobs:
        # No bill of materials in the picture: the jobs of the line that reported it are hit.
        jobs = _in_horizon(_jobs_on_line(line, now, horizon), now, horizon)
        for job in jobs:
            job.line = line
    demand = sum((Decimal(j.quantity - j.good_quantity) for j in jobs), Decimal(0))
    delay = timedelta(hours=float(policy.default_outage_hours))
    if needed_by and needed_by > now:
        # Material due later than the first job needs it: only the gap is lost.
        jobs = [j for j in jobs if j.planned_end >= needed_by] or jobs
    orders = _orders_hit(jobs, delay, now)
    material = {
        "item": code,
        "description": item.description if item else "",
        "quantity_short": float(short),
        "uom": uom,
        "on_hand": float(on_hand),
        "demand": float(demand),
        "needed_by": needed_by.isoformat() if needed_by else None,
    }
    head = f"{code}: {fmt(short)} {uom} short, {fmt(on_hand)} on hand" + (
        f", {fmt(demand)} needed by open jobs" if demand else ""
    )
    if needed_by:
        head += f", needed by {plant_time(needed_by)}"
    impact = _finish(
        case,
        lines=[line.code] if line else sorted({j.line.code for j in jobs}),
        jobs=[{**_job_link(j), "line": j.line.code} for j in jobs],
        orders=orders,
        material=material,
        head=head,
    )
    impact.line_id = line.pk if line else None
    return impact


def _lot_link(lot: Lot) -> dict:
    return {
        "code": lot.code,
        "item": lot.item.code,
        "quantity": float(lot.quantity),
        "uom": lot.item.uom,
        "location": lot.location.code,
        "location_kind": lot.location.kind,
        "status": lot.status,
        "job": lot.job.number if lot.job_id else None,
    }


def _quality_hold(case, facts, now, policy) -> Impact:
    lot = (
        Lot.objects.select_related("item", "location", "job__order__customer", "job__line")
        .filter(code=facts.get("lot"))
        .first()
    )
    if lot is None:
        return Impact(summary=f"Lot {facts.get('lot')} is not in the plant picture.")
    lots = [lot]
    if lot.job_id:
        # Lots from the same job are suspect too: same line, same run.
        lots += list(
            Lot.objects.select_related("item", "location", "job")
            .filter(job_id=lot.job_id)
            .exclude(pk=lot.pk)
            .order_by("code")
        )
    # Open orders for the same item, due within the horizon, may have counted on this stock.
    horizon = timedelta(hours=max(policy.horizon_hours, 24))
    orders = list(
        Order.objects.filter(item=lot.item, status__in=OPEN_ORDERS, due_at__lt=now + horizon)
        .select_related("customer")
        .order_by("due_at")
    )
    order_links = [
        {
            "number": o.number,
            "customer": o.customer.code,
            "customer_name": o.customer.name,
            "tier": o.customer.tier,
            "due_at": o.due_at.isoformat(),
            "priority": o.priority,
            "at_risk": True,
            "late_by_hours": 0,
        }
        for o in orders
    ]
    if lot.job_id and lot.job.order_id:
        origin = lot.job.order
        order_links.append(
            {
                "number": origin.number,
                "customer": origin.customer.code,
                "customer_name": origin.customer.name,
                "tier": origin.customer.tier,
                "due_at": origin.due_at.isoformat(),
                "priority": origin.priority,
                "at_risk": origin.status in OPEN_ORDERS,
                "late_by_hours": 0,
                "produced_for": True,
            }
        )
    head = (
        f"{lot.code}: {fmt(lot.quantity)} {lot.item.uom} of {lot.item.code} {lot.item.description} "
        f"at {lot.location.code} ({lot.location.get_kind_display()})"
    )
    if lot.job_id:
        head += f", made by {lot.job.number} on {lot.job.line.code}"
    impact = _finish(
        case,
        lines=[lot.job.line.code] if lot.job_id else [],
        jobs=[],
        orders=order_links,
        lots=[_lot_link(x) for x in lots],
        head=head,
    )
    impact.line_id = lot.job.line_id if lot.job_id else None
    return impact


def _order_change(case, facts, now, policy) -> Impact:
    order = (
        Order.objects.select_related("customer", "item").filter(number=facts.get("order")).first()
    )
    if order is None:
        return Impact(summary=f"Order {facts.get('order')} is not in the plant picture.")
    jobs = list(
        Job.objects.filter(order=order, status__in=ACTIVE_JOBS)
        .select_related("order__customer", "item", "line")
        .order_by("planned_start")
    )
    change = facts.get("change", "")
    delay = timedelta(0)
    head = f"{order.number} for {order.customer.name} (tier {order.customer.tier}): {change}"
    if change == "quantity" and order.item.rate_per_hour:
        planned = sum(j.quantity for j in jobs) if jobs else order.quantity
        extra = Decimal(order.quantity - planned)
        if extra > 0:
            delay = timedelta(hours=float(extra / order.item.rate_per_hour))
            head += f", {fmt(extra)} more to make (~{fmt(_hours(delay))} h)"
    elif change == "due_date":
        head += f", now due {plant_time(order.due_at)}"
    elif change == "cancel":
        head += ", capacity freed"
    lines = sorted({j.line.code for j in jobs})
    # Extra quantity pushes every later job on the same lines.
    later: list[Job] = []
    if delay:
        for job in jobs:
            later += list(
                Job.objects.filter(
                    line_id=job.line_id, status__in=ACTIVE_JOBS, sequence__gt=job.sequence
                ).select_related("order__customer", "item", "line")
            )
    orders = _orders_hit(jobs, delay, now) + [
        o for o in _orders_hit(later, delay, now) if o["number"] != order.number
    ]
    if change == "cancel":
        orders = [{**o, "at_risk": False} for o in orders]
    impact = _finish(
        case,
        lines=lines,
        jobs=[{**_job_link(j), "line": j.line.code} for j in jobs],
        orders=orders,
        lost_hours=_hours(delay),
        head=head,
    )
    impact.line_id = jobs[0].line_id if jobs else None
    return impact


def _labour(case, facts, now, policy) -> Impact:
    line = _line_by_code(facts.get("line"))
    if line is None:
        return Impact(summary=f"Line {facts.get('line')} is not in the plant picture.")
    available, required = _decimal_or(facts.get("available")), _decimal_or(facts.get("required"))
    shortfall = max(required - available, Decimal(0))
    shift = Shift.objects.filter(site=line.site, code=facts.get("shift")).first()
    hours = 8.0
    if shift:
        start = shift.starts.hour + shift.starts.minute / 60
        end = shift.ends.hour + shift.ends.minute / 60
        hours = (end - start) % 24 or 24
    lost = round(hours * float(shortfall / required), 1) if required else 0.0
    horizon = timedelta(hours=hours)
    jobs = _in_horizon(_jobs_on_line(line, now, horizon), now, horizon)
    impact = _finish(
        case,
        lines=[line.code],
        jobs=[{**_job_link(j), "line": line.code} for j in jobs],
        orders=_orders_hit(jobs, timedelta(hours=lost), now),
        lost_hours=lost,
        head=f"{line.code} shift {facts.get('shift')}: {fmt(available)} of {fmt(required)} people"
        + (f" ({facts['skill']})" if facts.get("skill") else ""),
    )
    impact.line_id = line.pk
    return impact


def _scrap(case, facts, now, policy) -> Impact:
    job = (
        Job.objects.select_related("order__customer", "item", "line")
        .filter(number=facts.get("job"))
        .first()
    )
    if job is None:
        return Impact(summary=f"Job {facts.get('job')} is not in the plant picture.")
    good, scrap = _decimal_or(facts.get("good")), _decimal_or(facts.get("scrap"))
    rate = facts.get("scrap_rate") or (float(scrap / (good + scrap)) if good + scrap else 0)
    remake = (
        timedelta(hours=float(scrap / job.item.rate_per_hour))
        if job.item.rate_per_hour
        else timedelta(0)
    )
    impact = _finish(
        case,
        lines=[job.line.code],
        jobs=[{**_job_link(job), "line": job.line.code}],
        orders=_orders_hit([job], remake, now),
        lost_hours=_hours(remake),
        head=f"{job.number} on {job.line.code}: {fmt(scrap)} scrapped of {fmt(good + scrap)} "
        f"({rate:.1%})",
    )
    impact.line_id = job.line_id
    return impact


# --- severity -----------------------------------------------------------------------------


def severity_assess(base: int, measures: dict, thresholds=None) -> tuple[int, list[str]]:
    """Base severity raised by the admin's thresholds; the reasons, in words, for the page."""
    thresholds = (
        thresholds
        if thresholds is not None
        else list(SeverityThreshold.objects.filter(active=True).order_by("measure", "at_least"))
    )
    reasons = [f"base {Severity(base).label} from the rule"]
    severity = base
    for t in thresholds:
        value = measures.get(t.measure) or 0
        if Decimal(str(value)) >= t.at_least:
            severity += t.raise_by
            reasons.append(
                f"+{t.raise_by}: {t.get_measure_display()} is {fmt(value)} "
                f"(threshold {fmt(t.at_least)})"
            )
    if severity > Severity.CRITICAL:
        severity = Severity.CRITICAL
        reasons.append("capped at critical")
    return severity, reasons


def _sync_divergence(case, facts, now, policy) -> Impact:
    """What the disagreeing object hits: a lot like a hold, an order like an order change."""
    ref = facts.get("ref")
    if facts.get("object") == "lot":
        return _quality_hold(case, {"lot": ref}, now, policy)
    if facts.get("object") == "order":
        return _order_change(case, {"order": ref, "change": "status differs"}, now, policy)
    return Impact(summary=f"{facts.get('object', 'object')} {ref}: the systems disagree.")


def _line_now(case, line: Line, now: datetime, head: str) -> Impact:
    """What a call on a line touches: the job running on it and the next one (the line is
    not known to be out, so no capacity is counted lost)."""
    jobs = _jobs_on_line(line, now, timedelta(0))[:2]
    impact = _finish(
        case,
        lines=[line.code],
        jobs=[{**_job_link(j), "line": line.code} for j in jobs],
        orders=_orders_hit(jobs, timedelta(0), now),
        head=head,
    )
    impact.line_id = line.pk
    return impact


def _andon(case, facts, now, policy) -> Impact:
    """A person at the line called (quality problem, material needed, need help)."""
    from .kinds import ANDON_CALLS

    line = _line_by_code(facts.get("line"))
    if line is None:
        return Impact(summary=f"Line {facts.get('line')} is not in the plant picture.")
    what = ANDON_CALLS.get(facts.get("call"), "andon call")
    by = " by " + str(facts["by"]) if facts.get("by") else ""
    at = " at " + str(facts["station"]) if facts.get("station") else ""
    return _line_now(case, line, now, f"{line.code}: {what} called{at}{by}")


def _manual(case, facts, now, policy) -> Impact:
    """Raised by hand: the line it names, if any (exceptions/manual.py)."""
    line = _line_by_code(facts.get("line"))
    head = f"raised by hand by {facts.get('by') or 'a supervisor'}"
    if line is None:
        return Impact(summary=head + ".")
    return _line_now(case, line, now, f"{line.code}: {head}")
