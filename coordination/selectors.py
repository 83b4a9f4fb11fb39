"""Reads of the operational picture for pages, the API and tasks."""

from dataclasses import dataclass, field

from django.db.models import Case, Count, F, IntegerField, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from .models import Heartbeat, Job, Line, Lot, Order

ACTIVE_JOB_STATES = (Job.Status.RUNNING, Job.Status.RELEASED, Job.Status.PLANNED)


@dataclass
class LineOverview:
    line: Line
    current: Job | None = None
    upcoming: list[Job] = field(default_factory=list)
    open_jobs: int = 0
    late_jobs: int = 0


def line_overview_list(*, site_code: str | None = None, upcoming: int = 3) -> list[LineOverview]:
    """Each line with its running job and the next ones in sequence: three queries in all."""
    lines = Line.objects.select_related("site").annotate(
        open_jobs=Count("jobs", filter=Q(jobs__status__in=ACTIVE_JOB_STATES)),
        late_jobs=Count(
            "jobs",
            filter=Q(
                jobs__status__in=ACTIVE_JOB_STATES, jobs__planned_end__gt=F("jobs__order__due_at")
            ),
        ),
    )
    if site_code:
        lines = lines.filter(site__code=site_code)
    overview = {
        line.pk: LineOverview(line, open_jobs=line.open_jobs, late_jobs=line.late_jobs)
        for line in lines
    }
    # Running first, then by sequence; keep the first few per line in the database.
    rank = Case(
        When(status=Job.Status.RUNNING, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    jobs = (
        Job.objects.filter(line__in=overview.keys(), status__in=ACTIVE_JOB_STATES)
        .select_related("order__customer", "item")
        .annotate(
            position=Window(RowNumber(), partition_by=[F("line_id")], order_by=[rank, "sequence"])
        )
        .filter(position__lte=upcoming + 1)
        .order_by("line_id", "position")
    )
    for job in jobs:
        entry = overview[job.line_id]
        if job.status == Job.Status.RUNNING and entry.current is None:
            entry.current = job
        elif len(entry.upcoming) < upcoming:
            entry.upcoming.append(job)
    return list(overview.values())


def plant_counts() -> dict[str, int]:
    now = timezone.now()
    return {
        "open_orders": Order.objects.filter(
            status__in=[Order.Status.OPEN, Order.Status.IN_PRODUCTION]
        ).count(),
        "late_orders": Order.objects.filter(
            status__in=[Order.Status.OPEN, Order.Status.IN_PRODUCTION], due_at__lt=now
        ).count(),
        "lots_on_hold": Lot.objects.filter(status=Lot.Status.ON_HOLD).count(),
        "lines_down": Line.objects.filter(
            status__in=[Line.Status.DOWN, Line.Status.MAINTENANCE]
        ).count(),
    }


def worker_seen_at():
    """When the background worker last answered beat's heartbeat (None: never)."""
    return Heartbeat.objects.filter(name="worker").values_list("seen_at", flat=True).first()
