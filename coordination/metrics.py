"""The brief's metrics, computed from the audit trail at read time — never from counters.

Every figure is derived from what the system already records for its own reasons: the
exception's timestamps and timeline (``ExceptionCase``, ``ExceptionCaseEvent``), the tasks, their
timeline and their decisions (``Task``, ``TaskEvent``, ``Decision``, the run's frozen plan). A
counter can drift from what happened (a lost increment, a replayed event); a query over the
record cannot. The clocks are defined in the README ("Metrics"); in short:

- an exception belongs to the period in which it was **opened** (``opened_at``); dismissed ones
  (not a real disruption) are counted but enter no clock;
- MTTA: opened → acknowledged (a resolve without an acknowledgement counts as one);
- MTTR: opened → resolved;
- constraint-to-response: first signal (``first_seen_at``, plant time) → the first decision
  answering it (a task completed with a ``Decision``), and → resolution;
- SLA: a task belongs to the period in which it was **created**; it is on time when decided
  before its due time, paused time excluded (resuming moves ``due_at`` by the pause; a task
  decided while paused gets the open pause too); one not yet decided is late once past due,
  and pending (not counted) before that or while paused;
- repeat: an exception that follows a resolved one within the policy's repeat window, on the
  same kind and key, or with the same root cause on the same line.

Percentiles are nearest-rank (p50 of 1, 2, 3, 4 is 2): always a duration that really happened.
Selectors only: nothing here writes.
"""

import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from django.contrib.auth.models import Group
from django.db.models import Exists, F, Min, OuterRef
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from exceptions.models import ExceptionCase, ExceptionPolicy, Kind
from kernel.errors import InvalidInputError
from kernel.roles import ROLES
from workflows.models import Task, TaskEvent

from .models import Line, Shift, Site

PERIODS = ("shift", "day", "week")
OWNER = "owner"  # a task for the exception's owner rather than for a function (group)
MAX_RANGE = timedelta(days=366)
MAX_BUCKETS = 400
DEFAULT_RANGE = timedelta(days=7)
# Upper bounds (seconds) of the response-time distribution's bins; the last bin is open.
BINS_S = (300, 900, 1800, 3600, 7200, 14400, 28800)
TOP = 5

Status = ExceptionCase.Status


@dataclass(frozen=True)
class MetricsQuery:
    """What to measure: a window [start, end), filters, and the bucket size of the trend."""

    start: datetime
    end: datetime
    site: str = ""
    line: str = ""
    kind: str = ""
    function: str = ""
    period: str = "day"

    @property
    def previous(self) -> "MetricsQuery":
        """The window of the same length just before this one (the trend's baseline)."""
        return replace(self, start=self.start - (self.end - self.start), end=self.start)

    def params(self) -> dict:
        """As URL parameters (the dashboard's links and CSV exports keep the filters)."""
        out = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "period": self.period,
        }
        for name in ("site", "line", "kind", "function"):
            if value := getattr(self, name):
                out[name] = value
        return out


# --- parsing ------------------------------------------------------------------------------


def _text_param(params, name: str, *, max_length: int = 80) -> str:
    value = params.get(name) or ""
    if "\x00" in value:
        raise InvalidInputError(f"{name} contains a NUL byte", field=name)
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInputError(f"{name} is longer than {max_length} characters", field=name)
    return value


def _moment(params, name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 date or date-time; a date means its local midnight (``to``: the next one)."""
    value = _text_param(params, name, max_length=40)
    if not value:
        return None
    try:
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:  # well-formed but impossible: 2026-02-30, hour 25
        moment = day = None
    if moment is None and day is None:
        raise InvalidInputError(
            f"{name} must be a date (2026-11-27) or a date-time with an offset "
            "(2026-11-27T06:00:00Z)",
            field=name,
        )
    if day is not None:
        if end_of_day:
            day += timedelta(days=1)
        moment = datetime.combine(day, time(0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if not (datetime(2000, 1, 1, tzinfo=UTC) <= moment <= datetime(2100, 1, 1, tzinfo=UTC)):
        raise InvalidInputError(f"{name} must lie between 2000 and 2100", field=name)
    return moment


def metrics_query_parse(params, *, now: datetime | None = None) -> MetricsQuery:
    """The query from URL parameters; a bad one raises ``InvalidInputError`` naming it."""
    now = now or timezone.now()
    end = _moment(params, "to", end_of_day=True)
    start = _moment(params, "from", end_of_day=False)
    if end is None:
        end = max(now, start + timedelta(days=1)) if start else now
    if start is None:
        start = end - DEFAULT_RANGE
    if start >= end:
        raise InvalidInputError("from must be before to", field="from")
    if end - start > MAX_RANGE:
        raise InvalidInputError("from … to may span at most 366 days", field="from")
    site = _text_param(params, "site", max_length=20)
    if site and not Site.objects.filter(code=site).exists():
        raise InvalidInputError(f"unknown site {site!r}", field="site")
    line = _text_param(params, "line", max_length=20)
    if line:
        lines = Line.objects.filter(code=line)
        if site:
            lines = lines.filter(site__code=site)
        if not lines.exists():
            where = f" at site {site}" if site else ""
            raise InvalidInputError(f"unknown line {line!r}{where}", field="line")
    kind = _text_param(params, "kind", max_length=20)
    if kind and kind not in Kind.values:
        raise InvalidInputError(f"kind must be one of {', '.join(Kind.values)}", field="kind")
    function = _text_param(params, "function", max_length=40)
    if function and function not in (*ROLES, OWNER):
        raise InvalidInputError(
            f"function must be one of {', '.join((*ROLES, OWNER))}", field="function"
        )
    period = _text_param(params, "period", max_length=10) or "day"
    if period not in PERIODS:
        raise InvalidInputError(f"period must be one of {', '.join(PERIODS)}", field="period")
    query = MetricsQuery(start, end, site, line, kind, function, period)
    if len(period_buckets(query)) > MAX_BUCKETS:
        raise InvalidInputError(
            f"more than {MAX_BUCKETS} {period}s between from and to: choose a longer period",
            field="period",
        )
    return query


# --- statistics -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least ``p`` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds())  # plant clocks may run ahead of ours


def _clock(values: list[float], **extra) -> dict:
    return {
        "n": len(values),
        "p50_s": percentile(values, 0.5),
        "p90_s": percentile(values, 0.9),
        "mean_s": round(sum(values) / len(values), 1) if values else None,
        **extra,
    }


def _distribution(values: list[float]) -> list[dict]:
    counts = [0] * (len(BINS_S) + 1)
    for v in values:
        counts[next((k for k, bound in enumerate(BINS_S) if v <= bound), len(BINS_S))] += 1
    return [
        {"le_s": bound, "label": _duration_label(bound), "count": counts[k]}
        for k, bound in enumerate((*BINS_S, None))
    ]


def _duration_label(bound: int | None) -> str:
    if bound is None:
        return f"> {_duration_label(BINS_S[-1])[2:]}"
    return f"≤ {bound // 60} min" if bound < 3600 else f"≤ {bound // 3600} h"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- the record -----------------------------------------------------------------------------


def _case_rows(q: MetricsQuery, start: datetime, end: datetime) -> list[dict]:
    """Exceptions opened in [start, end) under the filters, with their first decision and
    whether they repeat a resolved one (two queries)."""
    cases = ExceptionCase.objects.filter(opened_at__gte=start, opened_at__lt=end)
    if q.site:
        cases = cases.filter(site__code=q.site)
    if q.line:
        cases = cases.filter(line__code=q.line)
    if q.kind:
        cases = cases.filter(kind=q.kind)
    if q.function:
        tasks = Task.objects.filter(case=OuterRef("pk"))
        tasks = (
            tasks.filter(owner_group__isnull=True)
            if q.function == OWNER
            else tasks.filter(owner_group__name=q.function)
        )
        cases = cases.filter(Exists(tasks))
    rows = list(
        cases.annotate(
            first_decision_at=Min("decisions__decided_at"),
            line_code=F("line__code"),
            cause=F("root_cause__name"),
            cause_category=F("root_cause__category__name"),
        )
        .values(
            "id",
            "kind",
            "key",
            "title",
            "status",
            "line_id",
            "line_code",
            "root_cause_id",
            "first_seen_at",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "first_decision_at",
            "cause",
            "cause_category",
        )
        .order_by("opened_at", "id")
    )
    _mark_repeats(rows, timedelta(days=ExceptionPolicy.current().repeat_window_days))
    return rows


def _mark_repeats(rows: list[dict], window: timedelta) -> None:
    """``is_repeat``: a resolved exception came before it within the window, on the same kind
    and key, or with the same root cause on the same line. One read of the resolved ones in
    reach (the predecessor may lie before the period), then a bisection per exception: a
    correlated subquery per row cost seconds on a month of history."""
    for row in rows:
        row["is_repeat"] = False
    if not rows:
        return
    earliest = min(r["opened_at"] for r in rows) - window
    latest = max(r["opened_at"] for r in rows)
    by_key: dict[tuple, list] = defaultdict(list)
    by_cause: dict[tuple, list] = defaultdict(list)
    for pk, kind, key, cause, line, at in ExceptionCase.objects.filter(
        status=Status.RESOLVED, resolved_at__gte=earliest, resolved_at__lte=latest
    ).values_list("id", "kind", "key", "root_cause_id", "line_id", "resolved_at"):
        by_key[(kind, key)].append((at, pk))
        if cause and line:
            by_cause[(cause, line)].append((at, pk))
    for found in (*by_key.values(), *by_cause.values()):
        found.sort()

    def follows(found, row) -> bool:
        if not found:
            return False
        opened = row["opened_at"]
        k = bisect_left(found, (opened - window, 0))
        while k < len(found) and found[k][0] <= opened:
            if found[k][1] != row["id"]:
                return True
            k += 1
        return False

    for row in rows:
        row["is_repeat"] = follows(by_key.get((row["kind"], row["key"])), row) or bool(
            row["root_cause_id"]
            and row["line_id"]
            and follows(by_cause.get((row["root_cause_id"], row["line_id"])), row)
        )


def _task_rows(q: MetricsQuery, start: datetime, end: datetime) -> list[dict]:
    """Tasks created in [start, end) under the filters, with the function they were routed
    to (from the run's frozen plan), their paused time and their escalations."""
    tasks = Task.objects.filter(created_at__gte=start, created_at__lt=end)
    if q.site:
        tasks = tasks.filter(case__site__code=q.site)
    if q.line:
        tasks = tasks.filter(case__line__code=q.line)
    if q.kind:
        tasks = tasks.filter(case__kind=q.kind)
    rows = list(
        tasks.values(
            "id",
            "run_id",
            "run__plan",
            "step_id",
            "owner_group_id",
            "status",
            "created_at",
            "due_at",
            "done_at",
            "paused_at",
        )
    )
    groups = dict(Group.objects.values_list("id", "name"))
    timeline = defaultdict(list)
    for task_id, kind, at in (
        TaskEvent.objects.filter(
            task_id__in=[r["id"] for r in rows],
            kind__in=[TaskEvent.Kind.PAUSED, TaskEvent.Kind.RESUMED, TaskEvent.Kind.ESCALATED],
        )
        .order_by("at", "id")
        .values_list("task_id", "kind", "at")
    ):
        timeline[task_id].append((kind, at))
    steps_of_run: dict[int, dict] = {}
    out = []
    for row in rows:
        steps = steps_of_run.get(row["run_id"])
        if steps is None:
            plan = row["run__plan"] or {}
            steps = {s.get("id"): s for s in plan.get("steps", [])}
            steps_of_run[row["run_id"]] = steps
        step = steps.get(row["step_id"], {})
        # The function it was routed to, not whoever escalation handed it to later.
        group_id = step.get("group_id") if step else row["owner_group_id"]
        if step.get("assignee") == "owner":
            group_id = None
        function = groups.get(group_id, OWNER) if group_id else OWNER
        if q.function and function != q.function:
            continue
        row["function"] = function
        stop = row["done_at"]
        paused, since, escalations = 0.0, None, 0
        for kind, at in timeline[row["id"]]:
            if kind == TaskEvent.Kind.ESCALATED:
                escalations += 1
            elif kind == TaskEvent.Kind.PAUSED and since is None:
                since = at
            elif kind == TaskEvent.Kind.RESUMED and since is not None:
                paused += (at - since).total_seconds()
                since = None
        # Still paused: the clock stopped at ``since`` (decided while paused, or waiting now).
        row["open_pause_s"] = _seconds(since, stop) if since and stop else 0.0
        row["paused_now"] = since is not None and stop is None
        row["paused_s"] = paused + row["open_pause_s"]
        row["escalations"] = escalations
        out.append(row)
    return out


def _task_verdict(row: dict, now: datetime) -> str:
    """on_time, late, pending (not due yet, or paused) or cancelled."""
    if row["status"] == Task.Status.DONE:
        due = row["due_at"] + timedelta(seconds=row["open_pause_s"])
        return "on_time" if row["done_at"] <= due else "late"
    if row["status"] == Task.Status.CANCELLED:
        return "cancelled"
    if row["paused_now"] or now <= row["due_at"]:
        return "pending"
    return "late"


# --- the summary ------------------------------------------------------------------------------


def _case_figures(cases: list[dict]) -> dict:
    real = [c for c in cases if c["status"] != Status.DISMISSED]
    acknowledged = [_seconds(c["opened_at"], c["acknowledged_at"]) for c in real]
    resolved = [_seconds(c["opened_at"], c["resolved_at"]) for c in real]
    response = [_seconds(c["first_seen_at"], c["first_decision_at"]) for c in real]
    to_resolution = [_seconds(c["first_seen_at"], c["resolved_at"]) for c in real]
    response = [v for v in response if v is not None]
    to_resolution = [v for v in to_resolution if v is not None]
    closed = [c for c in real if c["status"] == Status.RESOLVED]
    without = [c for c in closed if c["first_decision_at"] is None]
    repeats = [c for c in real if c["is_repeat"]]
    open_count = sum(1 for c in real if c["status"] != Status.RESOLVED)
    return {
        "counts": {
            "opened": len(cases),
            "open": open_count,
            "resolved": len(closed),
            "dismissed": len(cases) - len(real),
        },
        "constraint_to_response": {
            **_clock(response, waiting=len(real) - len(response)),
            "distribution": _distribution(response),
        },
        "constraint_to_resolution": _clock(to_resolution, waiting=len(real) - len(to_resolution)),
        "mtta": _clock(
            [v for v in acknowledged if v is not None],
            waiting=sum(1 for v in acknowledged if v is None),
        ),
        "mttr": _clock([v for v in resolved if v is not None], waiting=open_count),
        "repeat_rate": {
            "n": len(real),
            "repeats": len(repeats),
            "rate": _rate(len(repeats), len(real)),
            "window_days": None,  # filled in by metrics_summary
            "top": _top_repeaters(repeats),
        },
        "root_causes": _pareto(closed),
        "no_decision": {
            "n": len(closed),
            "without_decision": len(without),
            "rate": _rate(len(without), len(closed)),
            "cases": [
                {"id": c["id"], "title": c["title"], "resolved_at": c["resolved_at"]}
                for c in without[-20:]
            ],
        },
    }


def _top_repeaters(repeats: list[dict]) -> list[dict]:
    by_key = Counter((c["kind"], c["key"]) for c in repeats)
    last = {(c["kind"], c["key"]): c for c in repeats}
    return [
        {
            "kind": kind,
            "key": key,
            "line": last[(kind, key)]["line_code"] or "",
            "title": last[(kind, key)]["title"],
            "repeats": n,
        }
        for (kind, key), n in sorted(by_key.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    ]


def _pareto(closed: list[dict]) -> list[dict]:
    counts = Counter((c["cause_category"] or "", c["cause"] or "(none recorded)") for c in closed)
    total, running, out = len(closed), 0, []
    for (category, cause), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        out.append(
            {
                "category": category,
                "cause": cause,
                "n": n,
                "share": _rate(n, total),
                "cumulative": _rate(running, total),
            }
        )
    return out


def _sla(tasks: list[dict], now: datetime) -> dict:
    per: dict[str, dict] = {}
    for row in sorted(tasks, key=lambda r: r["function"]):
        entry = per.setdefault(
            row["function"],
            {
                "n": 0,
                "on_time": 0,
                "late": 0,
                "pending": 0,
                "rate": None,
                "escalations": 0,
                "escalated_tasks": 0,
                "_work": [],
            },
        )
        verdict = _task_verdict(row, now)
        if verdict in ("on_time", "late"):
            entry["n"] += 1
            entry[verdict] += 1
        elif verdict == "pending":
            entry["pending"] += 1
        entry["escalations"] += row["escalations"]
        entry["escalated_tasks"] += 1 if row["escalations"] else 0
        if row["status"] == Task.Status.DONE:
            work = _seconds(row["created_at"], row["done_at"]) - row["paused_s"]
            entry["_work"].append(max(0.0, work))
    for entry in per.values():
        entry["rate"] = _rate(entry["on_time"], entry["n"])
        work = entry.pop("_work")
        entry["decide_p50_s"] = percentile(work, 0.5)
    return per


def _sla_total(sla: dict) -> dict:
    n = sum(e["n"] for e in sla.values())
    on_time = sum(e["on_time"] for e in sla.values())
    return {
        "n": n,
        "on_time": on_time,
        "rate": _rate(on_time, n),
        "escalations": sum(e["escalations"] for e in sla.values()),
    }


def _headline(figures: dict, sla: dict) -> dict:
    total = _sla_total(sla)
    return {
        "constraint_to_response_p50_s": figures["constraint_to_response"]["p50_s"],
        "mtta_p50_s": figures["mtta"]["p50_s"],
        "mttr_p50_s": figures["mttr"]["p50_s"],
        "repeat_rate": figures["repeat_rate"]["rate"],
        "sla_rate": total["rate"],
        "no_decision_rate": figures["no_decision"]["rate"],
        "opened": figures["counts"]["opened"],
    }


# Which way is better, for the trend arrows.
LOWER_IS_BETTER = {
    "constraint_to_response_p50_s",
    "mtta_p50_s",
    "mttr_p50_s",
    "repeat_rate",
    "no_decision_rate",
}


def _trend(now_values: dict, before: dict) -> dict:
    out = {}
    for name, value in now_values.items():
        prev = before.get(name)
        delta = None if value is None or prev is None else round(value - prev, 4)
        if delta is None or delta == 0 or name == "opened":
            better = None
        else:
            better = (delta < 0) == (name in LOWER_IS_BETTER)
        out[name] = {"now": value, "before": prev, "delta": delta, "better": better}
    return out


def period_buckets(q: MetricsQuery) -> list[tuple[datetime, datetime]]:
    """The trend's buckets covering [start, end), cut at local shift starts, midnights or
    Mondays; the first and last may be partial."""
    tz = timezone.get_current_timezone()
    if q.period == "shift":
        shifts = Shift.objects.all()
        if q.site:
            shifts = shifts.filter(site__code=q.site)
        starts = sorted({s.starts for s in shifts}) or [time(6), time(14), time(22)]
    else:
        starts = [time(0)]
    local = timezone.localtime(q.start, tz)
    day = local.date() - timedelta(days=local.weekday() if q.period == "week" else 1)
    step = timedelta(days=7 if q.period == "week" else 1)
    cuts = []
    while True:
        for start in starts:
            cut = timezone.make_aware(datetime.combine(day, start), tz)
            if q.start < cut < q.end:
                cuts.append(cut)
        if timezone.make_aware(datetime.combine(day, time(0)), tz) > q.end:
            break
        if len(cuts) > MAX_BUCKETS:
            break
        day += step
    edges = [q.start, *cuts, q.end]
    return list(pairwise(edges))


def _series(q: MetricsQuery, cases: list[dict], tasks: list[dict], now: datetime) -> list[dict]:
    buckets = period_buckets(q)
    starts = [b[0] for b in buckets]

    def index(moment):
        return max(0, bisect_right(starts, moment) - 1)

    case_in = defaultdict(list)
    for c in cases:
        case_in[index(c["opened_at"])].append(c)
    task_in = defaultdict(list)
    for t in tasks:
        task_in[index(t["created_at"])].append(t)
    out = []
    for k, (start, end) in enumerate(buckets):
        figures = _case_figures(case_in[k])
        sla = _sla(task_in[k], now)
        total = _sla_total(sla)
        out.append(
            {
                "start": start,
                "end": end,
                "opened": figures["counts"]["opened"],
                "constraint_to_response": {
                    key: figures["constraint_to_response"][key] for key in ("n", "p50_s", "p90_s")
                },
                "mtta_p50_s": figures["mtta"]["p50_s"],
                "mttr_p50_s": figures["mttr"]["p50_s"],
                "repeats": figures["repeat_rate"]["repeats"],
                "repeat_rate": figures["repeat_rate"]["rate"],
                "sla_rate": total["rate"],
                "sla": {f: {"n": e["n"], "rate": e["rate"]} for f, e in sla.items()},
            }
        )
    return out


def response_seconds(q: MetricsQuery) -> list[float]:
    """Every constraint-to-response time in the window (for other percentiles: the bench)."""
    cases = [c for c in _case_rows(q, q.start, q.end) if c["status"] != Status.DISMISSED]
    times = [_seconds(c["first_seen_at"], c["first_decision_at"]) for c in cases]
    return [t for t in times if t is not None]


def metrics_summary(q: MetricsQuery, *, now: datetime | None = None) -> dict:
    """Every metric for the window, its trend against the window before, and the series by
    period (the API's and the dashboard's one read)."""
    now = now or timezone.now()
    cases = _case_rows(q, q.start, q.end)
    tasks = _task_rows(q, q.start, q.end)
    figures = _case_figures(cases)
    figures["repeat_rate"]["window_days"] = ExceptionPolicy.current().repeat_window_days
    sla = _sla(tasks, now)
    before_q = q.previous
    before = _case_figures(_case_rows(q, before_q.start, before_q.end))
    before_sla = _sla(_task_rows(q, before_q.start, before_q.end), now)
    return {
        "period": {
            "from": q.start,
            "to": q.end,
            "previous_from": before_q.start,
            "previous_to": before_q.end,
            "period": q.period,
            "site": q.site or None,
            "line": q.line or None,
            "kind": q.kind or None,
            "function": q.function or None,
        },
        **figures,
        "sla": sla,
        "sla_total": _sla_total(sla),
        "trend": _trend(_headline(figures, sla), _headline(before, before_sla)),
        "series": _series(q, cases, tasks, now),
    }
