"""A small plant for proposal tests: two lines of two families, eight jobs on P1, four on P2.

P1's plan (by sequence) is a planner's first cut: a running job, then jobs whose due dates
and families leave room to improve once the line goes down. Times are relative to ``now``.
"""

from datetime import time as clock
from datetime import timedelta

from django.utils import timezone

from coordination import models as m

# number, item family, hours of work, due in hours, customer tier, priority
P1_JOBS = [
    ("WO-1", "A", 1.0, 3, 3, 3),  # running
    ("WO-2", "A", 1.5, 30, 3, 4),
    ("WO-3", "B", 1.0, 4, 1, 1),
    ("WO-4", "A", 1.0, 5, 2, 3),
    ("WO-5", "B", 2.0, 40, 3, 3),
    ("WO-6", "A", 1.0, 6, 1, 2),
    ("WO-7", "B", 1.0, 8, 2, 2),
    ("WO-8", "A", 0.5, 9, 3, 3),
]
P2_JOBS = [
    ("WO-21", "A", 1.0, 20, 3, 3),  # running
    ("WO-22", "B", 1.0, 24, 2, 3),
    ("WO-23", "A", 1.0, 30, 3, 3),
    ("WO-24", "B", 1.0, 36, 3, 3),
]
MATRIX = {("A", "A"): 10, ("A", "B"): 45, ("B", "A"): 60, ("B", "B"): 10}


def proposal_plant(now=None) -> dict:
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    site = m.Site.objects.create(code="PP", name="Proposal plant")
    for code, name, starts, ends in (("A", "Early", 6, 14), ("B", "Late", 14, 22),
                                     ("C", "Night", 22, 6)):  # fmt: skip
        m.Shift.objects.create(
            site=site, code=code, name=name, starts=clock(starts), ends=clock(ends), crew_size=6
        )
    items = {
        f: m.Item.objects.create(code=f"FG-{f}", description=f"Product {f}", family=f"FAM-{f}",
                                 rate_per_hour=1000)
        for f in "AB"
    }  # fmt: skip
    customers = {
        t: m.Customer.objects.create(code=f"CT{t}", name=f"Customer tier {t}", tier=t)
        for t in (1, 2, 3)
    }
    lines = {}
    for code, jobs in (("P1", P1_JOBS), ("P2", P2_JOBS)):
        line = m.Line.objects.create(
            site=site, code=code, name=f"Line {code}", status="running",
            families=["FAM-A", "FAM-B"],
        )  # fmt: skip
        lines[code] = line
        for (a, b), minutes in MATRIX.items():
            m.ChangeoverMatrix.objects.create(
                line=line, from_family=f"FAM-{a}", to_family=f"FAM-{b}", minutes=minutes
            )
        start = now - timedelta(minutes=20)
        for position, (number, family, hours, due, tier, priority) in enumerate(jobs):
            order = m.Order.objects.create(
                number=f"SO-{number[3:]}",
                site=site,
                customer=customers[tier],
                item=items[family],
                quantity=int(hours * 1000),
                due_at=now + timedelta(hours=due),
                priority=priority,
                status="in_production" if position == 0 else "open",
            )
            end = start + timedelta(hours=hours)
            m.Job.objects.create(
                number=number,
                order=order,
                line=line,
                item=items[family],
                quantity=int(hours * 1000),
                sequence=(position + 1) * 10,
                planned_start=start,
                planned_end=end,
                status="running" if position == 0 else "planned",
                good_quantity=300 if position == 0 else 0,
            )
            start = end
    return {"now": now, "site": site, "lines": lines, "items": items, "customers": customers}
