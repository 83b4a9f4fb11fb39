"""What to run next on a line, what to expedite, what to defer — ranked, with the reasons.

Read on demand from the live picture (a handful of queries per line), so it is as current
as the picture: a page polling it, or ``GET /api/v1/lines/{code}/priorities``, sees every
change. The rank is the apparent-tardiness-cost rule a planner would apply by hand: weight
(customer tier x order priority) over the work left, discounted by the slack to the due
date, plus the changeover it saves after the job before it; blocked jobs (material short,
held lots of the order's item) sink to the bottom.

- **running**: the running job stays first;
- **run next**: the best-ranked job that may start;
- **expedite**: due-date risk — at today's sequence it ends after its due date, or its
  slack is under a shift, and it outranks the job before it;
- **defer**: blocked (material not ready, held lots), or far from its due date with
  higher-ranked work behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from exceptions.models import OPEN_STATES, ExceptionCase, Kind

from .models import ChangeoverMatrix, Job, Line, Lot, Order
from .proposals.snapshot import policy_for

ACTIVE = (Job.Status.PLANNED, Job.Status.RELEASED, Job.Status.RUNNING)
SHIFT = timedelta(hours=8)


@dataclass
class Priority:
    rank: int
    job: str
    order: str
    customer: str
    tier: int
    priority: int
    status: str
    due_at: datetime
    planned_start: datetime
    planned_end: datetime
    advice: str  # running, run_next, expedite, keep, defer
    score: float
    reasons: list[str] = field(default_factory=list)
    late_minutes: int = 0


def _hm(minutes: float) -> str:
    minutes = round(abs(minutes))
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} m" if hours and rest else f"{hours} h" if hours else f"{rest} min"


def line_priorities(code: str, *, now: datetime | None = None) -> list[Priority]:
    """The ranked list of the line's open jobs (empty when the line has none)."""
    now = now or timezone.now()
    line = Line.objects.filter(code=code).first()
    if line is None:
        return []
    policy = policy_for(line)
    jobs = list(
        Job.objects.filter(line=line, status__in=ACTIVE)
        .exclude(order__status=Order.Status.CANCELLED)
        .select_related("order__customer", "item")
        .order_by("sequence", "planned_start", "pk")
    )
    if not jobs:
        return []
    matrix = {
        (r.from_family, r.to_family): r.minutes for r in ChangeoverMatrix.objects.filter(line=line)
    }
    short = _short_items_and_jobs(line, {j.number for j in jobs})
    held_items = set(
        Lot.objects.filter(
            status=Lot.Status.ON_HOLD, item__in={j.item_id for j in jobs}
        ).values_list("item_id", flat=True)
    )
    line_down = line.status in (Line.Status.DOWN, Line.Status.MAINTENANCE)
    mean = sum(_work(j) for j in jobs) / len(jobs) or 1
    running = next((j for j in jobs if j.status == Job.Status.RUNNING), None)
    previous_family = running.item.family if running else None
    clock = now
    rows: list[Priority] = []
    for job in jobs:
        order = job.order
        work = _work(job)
        weight = policy.tier_weight(order.customer.tier) * (6 - order.priority)
        setup = matrix.get((previous_family, job.item.family), 0) if previous_family else 0
        # Today's sequence from now: when would it end, is that after the due date?
        start = max(clock, now)
        end = start + timedelta(minutes=setup + work)
        clock = end
        slack = (order.due_at - now).total_seconds() / 60 - work
        score = weight / work * math.exp(-max(slack, 0) / (2 * mean))
        reasons = [f"tier {order.customer.tier} customer, priority {order.priority}"]
        late = max(0, int((end - order.due_at).total_seconds() // 60))
        if late:
            reasons.append(f"due-date risk: ends {_hm(late)} after its due date at today's place")
        elif slack < SHIFT.total_seconds() / 60:
            reasons.append(f"due in {_hm(max(slack + work, 0))}, {_hm(max(slack, 0))} of slack")
        if running and job is not running and job.item.family == running.item.family:
            across = max((v for (a, _), v in matrix.items() if a == job.item.family), default=0)
            same = matrix.get((job.item.family, job.item.family), 0)
            if across > same:
                reasons.append(
                    f"same family as the running job: {_hm(same)} changeover instead of up to "
                    f"{_hm(across)}"
                )
                score *= 1.2
        if job.item_id in held_items:
            # Held finished stock of the item cannot cover the order: making it matters more.
            reasons.append(f"lots of {job.item.code} on hold: stock cannot cover the order")
            score *= 1.1
        if job.number in short:
            reasons.append("material not ready (open shortage)")
            score *= 0.01
        else:
            reasons.append("material ready")
        previous_family = job.item.family
        rows.append(
            Priority(
                rank=0, job=job.number, order=order.number, customer=order.customer.name,
                tier=order.customer.tier, priority=order.priority, status=job.status,
                due_at=order.due_at, planned_start=job.planned_start,
                planned_end=job.planned_end, advice="keep", score=round(score, 6),
                reasons=reasons, late_minutes=late,
            )
        )  # fmt: skip
    ordered = sorted(
        rows, key=lambda r: (r.status != Job.Status.RUNNING, -r.score, r.due_at, r.job)
    )
    today = [r.job for r in rows]
    first_free = next((r for r in ordered if r.status != Job.Status.RUNNING), None)
    for rank, row in enumerate(ordered, 1):
        row.rank = rank
        blocked = any("not ready" in r for r in row.reasons)
        if row.status == Job.Status.RUNNING:
            row.advice = "running"
            row.reasons.insert(0, "running now")
        elif row is first_free and not blocked:
            row.advice = "run_next"
            if line_down:
                row.reasons.append(f"line {line.code} is {line.status}: next once it runs")
        elif blocked:
            row.advice = "defer"
        elif today.index(row.job) > rank - 1 and (
            row.late_minutes or "due in" in " ".join(row.reasons)
        ):
            row.advice = "expedite"
            row.reasons.append(f"position {today.index(row.job) + 1} today, ranked {rank}")
        elif today.index(row.job) < rank - 1 and not row.late_minutes:
            row.advice = "defer"
            row.reasons.append(
                f"on time with room to spare: position {today.index(row.job) + 1} today"
            )
    return ordered


def _work(job: Job) -> float:
    left = job.quantity - (job.good_quantity if job.status == Job.Status.RUNNING else 0)
    if job.item.rate_per_hour:
        return max(left / job.item.rate_per_hour * 60, 1.0)
    return max((job.planned_end - job.planned_start).total_seconds() / 60, 1.0)


def _short_items_and_jobs(line: Line, numbers: set[str]) -> set:
    """Job numbers and item ids an open shortage holds up on this line."""
    blocked: set = set()
    for case in ExceptionCase.objects.filter(
        kind=Kind.SHORTAGE, status__in=OPEN_STATES, condition_active=True
    ):
        impact = case.impact or {}
        hit = {j.get("number") for j in impact.get("jobs") or []} & numbers
        blocked |= hit
    return blocked


def priorities_json(rows: list[Priority], *, orders_visible: bool) -> list[dict]:
    """The API's shape; order and customer only for roles that read orders."""
    out = []
    for r in rows:
        reasons = (
            r.reasons if orders_visible else [x for x in r.reasons if not x.startswith("tier ")]
        )
        item = {
            "rank": r.rank,
            "job": r.job,
            "status": r.status,
            "advice": r.advice,
            "reasons": reasons,
            "planned_start": r.planned_start.isoformat(),
            "planned_end": r.planned_end.isoformat(),
            "late_minutes": r.late_minutes,
        }
        if orders_visible:
            item.update(order=r.order, customer=r.customer, tier=r.tier, priority=r.priority,
                        due_at=r.due_at.isoformat())  # fmt: skip
        out.append(item)
    return out
