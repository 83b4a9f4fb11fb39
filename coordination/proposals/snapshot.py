"""The live picture of some lines as a scheduling ``Problem``, and its input version.

Time zero (``origin``) is the moment the snapshot is taken, rounded down to the minute; every
time in the problem is in whole minutes from it. What goes in:

- the open jobs (planned, released, running) of the lines, their remaining quantity at the
  item's rate, the line's changeover matrix by family, due dates and weights (customer tier
  weight x (6 - order priority), tier weights from the ``PlanningPolicy``);
- the running job and the jobs planned to start inside the frozen horizon keep their place
  (locked at their earliest feasible times, in today's order); a planner's pins too;
- downtime: an open downtime exception on the line (its ``expected_up_at`` / ``expected_end``,
  else the policy's repair estimate) or a line whose status is down / maintenance; maintenance
  windows (scheduled or started, with an expected end); a labour shortfall on a shift as the
  lost share of that shift; a shortage delays the jobs it hits until the material arrives.

The input version hashes only what would change the answer — which jobs, their status, line,
planned quantity, item, due date, priority and customer tier; the lines' status; the windows'
inputs (exception facts, maintenance rows, staffing); the shortages' hit jobs; the policy; the
pins — and not the good/scrap counts a running line reports every few seconds, nor the clock.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coordination.models import ChangeoverMatrix, Job, Line, MaintenanceWindow, Order, Shift
from coordination.scheduling import Job as CoreJob
from coordination.scheduling import Line as CoreLine
from coordination.scheduling import Objective, Problem, Window
from coordination.scheduling.instance import build_instance, walk_line
from exceptions.models import OPEN_STATES, ExceptionCase, Kind
from kernel.errors import InvalidInputError

from .models import PlanningPolicy

ACTIVE = (Job.Status.PLANNED, Job.Status.RELEASED, Job.Status.RUNNING)
DOWN_STATUSES = (Line.Status.DOWN, Line.Status.MAINTENANCE)


@dataclass
class JobInfo:
    number: str
    line: str
    order: str
    customer: str
    tier: int
    priority: int
    due_at: str
    due: int
    weight: int
    family: str
    status: str
    minutes: int
    frozen: bool = False
    release: int = 0


@dataclass
class Snapshot:
    origin: datetime
    lines: list[str]
    jobs: dict[str, JobInfo]
    core_lines: list[CoreLine]
    baseline: dict[str, list[str]]
    windows: dict[str, list[dict]]  # per line: {start, end, reason} in minutes, for drawing
    fixed: dict[str, list[str]]  # per line: the jobs kept in place, in order
    locked_start: dict[str, int]
    eligible: dict[str, list[str]]  # job -> lines it may run on (pins narrow it)
    home: dict[str, str]  # job -> the line it is planned on today
    today: dict[str, list[str]]  # per line: today's sequence (the baseline, before pins)
    base_fixed: dict[str, list[str]]  # per line: running + frozen (no pins)
    base_start: dict[str, int]
    version: str
    constraints: list[str] = field(default_factory=list)  # what hits the lines, in words
    changeover_weight: int = 1

    def problem(
        self,
        objective: Objective,
        weights: dict[str, int] | None = None,
        *,
        today: bool = False,
        eligible: dict[str, list[str]] | None = None,
    ) -> Problem:
        """The problem for one objective; ``weights`` overrides job weights (protect a tier).

        ``today``: without the pins (the baseline: today's sequence pushed right);
        ``eligible`` widens where jobs may run (moving work to other lines)."""
        jobs = []
        fixed_lines = self.base_fixed if today else self.fixed
        starts = self.base_start if today else self.locked_start
        fixed = {j for line in fixed_lines.values() for j in line}
        for number, info in self.jobs.items():
            if eligible is not None:
                lines = eligible[number]
            else:
                lines = [self.home[number]] if today else self.eligible[number]
            processing = {line: info.minutes for line in lines}
            locked = number in fixed
            jobs.append(
                CoreJob(
                    number,
                    processing,
                    weight=(weights or {}).get(number, info.weight),
                    due=info.due,
                    release=0 if locked else info.release,
                    family=info.family,
                    locked=locked,
                    start=starts.get(number) if locked else None,
                    line=(self.home[number] if today else info.line) if locked else None,
                    resumable=info.status == Job.Status.RUNNING,
                )
            )
        baseline = self.today if today or eligible is not None else self.baseline
        return Problem(jobs, self.core_lines, objective, baseline=baseline)


def _minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        parsed = parse_datetime(value)
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.utc)
        return parsed
    return None


def policy_for(line: Line) -> PlanningPolicy:
    """The line's own policy, else the plant default (created on first use)."""
    own = PlanningPolicy.objects.filter(line=line).first()
    if own is not None:
        return own
    default = PlanningPolicy.objects.filter(line__isnull=True).first()
    return default or PlanningPolicy.objects.create()


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _open_cases(line_codes: list[str], job_numbers: set[str]):
    """Open exceptions whose condition holds and that touch these lines (or their jobs)."""
    cases = []
    for case in ExceptionCase.objects.filter(
        status__in=OPEN_STATES,
        condition_active=True,
        kind__in=[Kind.DOWNTIME, Kind.SHORTAGE, Kind.LABOUR],
    ).select_related("line"):
        facts = case.facts or {}
        links = case.impact or {}
        lines = set(links.get("lines") or []) | {facts.get("line")}
        hit = {j.get("number") for j in links.get("jobs") or []}
        if lines & set(line_codes) or hit & job_numbers:
            cases.append(case)
    return sorted(cases, key=lambda c: c.pk)


def _shift_window(shift: Shift, now: datetime) -> tuple[datetime, datetime]:
    """The current occurrence of a shift if it is on, else the next one."""
    local = timezone.localtime(now)
    for day in (-1, 0, 1):
        date = local.date() + timedelta(days=day)
        start = timezone.make_aware(datetime.combine(date, shift.starts), local.tzinfo)
        end = timezone.make_aware(datetime.combine(date, shift.ends), local.tzinfo)
        if end <= start:
            end += timedelta(days=1)
        if end > now:
            return start, end
    raise AssertionError("a shift always has a next occurrence")


def snapshot_take(
    line_codes: list[str],
    *,
    now: datetime | None = None,
    pins: list[dict] | None = None,
    reference: dict[str, list[str]] | None = None,
) -> Snapshot:
    """Read the picture of ``line_codes`` now. ``pins`` ({job, line?, position?}) move a job
    to a line and/or a place; ``reference`` (per line, the order a planner was shown) gives
    the jobs kept ahead of a pinned place. Raises InvalidInputError naming a bad pin."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    pins = pins or []
    lines = {line.code: line for line in Line.objects.filter(code__in=line_codes)}
    for pin in pins:
        if pin.get("line") and pin["line"] not in lines:
            extra = Line.objects.filter(code=pin["line"]).first()
            if extra is None:
                raise InvalidInputError(f"line {pin['line']} does not exist", field="pins")
            lines[extra.code] = extra
    codes = sorted(lines)
    policies = {code: policy_for(line) for code, line in lines.items()}
    plant_policy = policy_for(lines[codes[0]])
    jobs = list(
        Job.objects.filter(line__code__in=codes, status__in=ACTIVE)
        .exclude(order__status=Order.Status.CANCELLED)
        .select_related("order__customer", "item", "line")
        .order_by("line__code", "sequence", "planned_start", "pk")
    )
    numbers = {j.number for j in jobs}
    cases = _open_cases(codes, numbers)
    version: dict = {
        "lines": [(c, lines[c].status) for c in codes],
        "policy": [
            (c, p.frozen_minutes, p.repair_minutes, p.material_minutes, p.strategic_weight,
             p.key_weight, p.standard_weight, p.changeover_weight)
            for c, p in sorted(policies.items())
        ],
        "pins": pins,
        "reference": reference or {},
    }  # fmt: skip

    # --- windows and line availability ---------------------------------------------------
    windows: dict[str, list[dict]] = {c: [] for c in codes}
    constraints: list[str] = []
    seen_cases = []
    for case in cases:
        facts = case.facts or {}
        code = facts.get("line")
        if case.kind == Kind.DOWNTIME and code in lines:
            expected = _when(facts.get("expected_up_at")) or _when(facts.get("expected_end"))
            estimate = expected is None or expected <= now
            if estimate:
                expected = now + timedelta(minutes=policies[code].repair_minutes)
            windows[code].append(
                {"start": 0, "end": max(1, _minutes(expected - now)), "reason": "down"}
            )
            constraints.append(
                f"{code} down since {timezone.localtime(case.first_seen_at):%H:%M}, "
                + (
                    f"assumed back in {policies[code].repair_minutes} min (no estimate)"
                    if estimate
                    else f"expected back {timezone.localtime(expected):%H:%M}"
                )
            )
            seen_cases.append(
                (case.pk, case.kind, facts.get("expected_up_at"), facts.get("expected_end"))
            )
        elif case.kind == Kind.LABOUR and code in lines:
            shift = Shift.objects.filter(site=lines[code].site, code=facts.get("shift")).first()
            required, available = int(facts.get("required") or 0), int(facts.get("available") or 0)
            if shift is None or required <= 0 or available >= required:
                continue
            start, end = _shift_window(shift, now)
            start = max(start, now)
            share = (required - available) / required
            lost = max(1, round(_minutes(end - start) * share))
            windows[code].append(
                {
                    "start": _minutes(start - now),
                    "end": _minutes(start - now) + lost,
                    "reason": "short-crewed",
                }
            )
            constraints.append(
                f"{code} shift {shift.code}: {available} of {required} people, "
                f"about {lost} min of the shift lost"
            )
            seen_cases.append((case.pk, case.kind, available, required, shift.code))
        elif case.kind == Kind.SHORTAGE:
            seen_cases.append(
                (case.pk, case.kind, sorted(j.get("number") for j in case.impact.get("jobs") or []))
            )
    for row in MaintenanceWindow.objects.filter(
        line__code__in=codes,
        status__in=[MaintenanceWindow.Status.SCHEDULED, MaintenanceWindow.Status.STARTED],
        expected_end__gt=now,
    ).select_related("line"):
        start = row.starts_at or now
        if row.status == MaintenanceWindow.Status.STARTED:
            start = min(start, now)
        windows[row.line.code].append(
            {
                "start": max(0, _minutes(start - now)),
                "end": max(1, _minutes(row.expected_end - now)),
                "reason": f"maintenance {row.work_order}",
            }
        )
        constraints.append(
            f"{row.line.code} {row.kind} maintenance {row.work_order} "
            f"{timezone.localtime(max(start, now)):%H:%M} to "
            f"{timezone.localtime(row.expected_end):%H:%M}"
        )
        version.setdefault("maintenance", []).append(
            (row.work_order, row.status, row.starts_at, row.expected_end)
        )
    for code in codes:
        if lines[code].status in DOWN_STATUSES and not any(w["start"] == 0 for w in windows[code]):
            windows[code].append(
                {"start": 0, "end": policies[code].repair_minutes, "reason": "down"}
            )
            constraints.append(
                f"{code} {lines[code].status}, assumed back in {policies[code].repair_minutes} min"
            )
    version["cases"] = seen_cases

    # --- release times from shortages ----------------------------------------------------
    release: dict[str, int] = {}
    for case in cases:
        if case.kind != Kind.SHORTAGE:
            continue
        facts = case.facts or {}
        arrival = _when(facts.get("expected_at")) or now + timedelta(
            minutes=plant_policy.material_minutes
        )
        at = max(0, _minutes(arrival - now))
        hit = [j.get("number") for j in case.impact.get("jobs") or [] if j.get("number") in numbers]
        for number in hit:
            release[number] = max(release.get(number, 0), at)
        if hit:
            constraints.append(
                f"{facts.get('item')} short: {len(hit)} job{'s' if len(hit) != 1 else ''} wait "
                f"for it until {timezone.localtime(arrival):%H:%M}"
            )

    # --- jobs ----------------------------------------------------------------------------
    info: dict[str, JobInfo] = {}
    eligible: dict[str, list[str]] = {}
    baseline: dict[str, list[str]] = {c: [] for c in codes}
    running: dict[str, str] = {}
    job_rows = []
    for job in jobs:
        order = job.order
        code = job.line.code
        remaining = job.quantity
        if job.status == Job.Status.RUNNING:
            remaining = max(job.quantity - job.good_quantity, 0)
        rate = job.item.rate_per_hour
        if rate:
            minutes = math.ceil(remaining / rate * 60)
        else:  # no rate in the master data: the planned duration, scaled to what is left
            planned = max(_minutes(job.planned_end - job.planned_start), 1)
            minutes = math.ceil(planned * remaining / job.quantity)
        family = job.item.family or f"item:{job.item.code}"
        policy = policies[code]
        info[job.number] = JobInfo(
            number=job.number,
            line=code,
            order=order.number,
            customer=order.customer.code,
            tier=order.customer.tier,
            priority=order.priority,
            due_at=order.due_at.isoformat(),
            due=_minutes(order.due_at - now),
            weight=policy.tier_weight(order.customer.tier) * (6 - order.priority),
            family=family,
            status=job.status,
            minutes=max(1, minutes),
            release=release.get(job.number, 0),
        )
        eligible[job.number] = [code]
        baseline[code].append(job.number)
        if job.status == Job.Status.RUNNING:
            running.setdefault(code, job.number)
        job_rows.append(
            (job.number, code, job.status, job.quantity, job.item.code, order.number,
             order.due_at, order.priority, order.customer.tier, order.quantity)
        )  # fmt: skip
    version["jobs"] = job_rows
    version["release"] = sorted(release.items())

    today = {c: list(seq) for c, seq in baseline.items()}
    home = {n: i.line for n, i in info.items()}

    # --- pins: another line, a place -----------------------------------------------------
    for pin in pins:
        number = pin.get("job")
        if number not in info:
            raise InvalidInputError(f"job {number} is not an open job of these lines", field="pins")
        if info[number].status == Job.Status.RUNNING:
            raise InvalidInputError(f"job {number} is running: it cannot move", field="pins")
        target = pin.get("line") or info[number].line
        families = lines[target].families or []
        if families and info[number].family not in families and target != info[number].line:
            raise InvalidInputError(
                f"line {target} cannot run {info[number].family} (job {number})", field="pins"
            )
        eligible[number] = [target]
        if target != info[number].line:
            baseline[info[number].line].remove(number)
            baseline[target].append(number)
            info[number].line = target

    # --- changeovers -----------------------------------------------------------------------
    matrix: dict[str, dict[str, dict[str, int]]] = {c: {} for c in codes}
    for row in ChangeoverMatrix.objects.filter(line__code__in=codes).select_related("line"):
        matrix[row.line.code].setdefault(row.from_family, {})[row.to_family] = row.minutes
    version["changeovers"] = sorted(
        (c, a, b, m)
        for c, rows in matrix.items()
        for a, cols in rows.items()
        for b, m in cols.items()
    )
    core_lines: list[CoreLine] = []
    for code in codes:
        # Every family of the snapshot: a job may be pinned or moved here.
        families = {i.family for i in info.values()}
        initial = info[running[code]].family if code in running else None
        if initial:
            families.add(initial)
        table = {a: {b: matrix[code].get(a, {}).get(b, 0) for b in families} for a in families}
        busy, future = 0, []
        for w in sorted(windows[code], key=lambda w: w["start"]):
            if w["start"] <= busy:
                busy = max(busy, w["end"])
            else:
                future.append(Window(w["start"], w["end"], w["reason"]))
        core_lines.append(
            CoreLine(code, future, family_changeover=table, initial_family=initial,
                     available_from=busy)
        )  # fmt: skip

    # --- what stays in place: the running job, the frozen horizon, pinned places -----------
    fixed: dict[str, list[str]] = {}
    base_fixed: dict[str, list[str]] = {}
    for line in core_lines:
        code = line.id
        order = list(baseline[code])
        keep = [running[code]] if code in running else []
        horizon = now + timedelta(minutes=policies[code].frozen_minutes)
        planned = {j.number: j.planned_start for j in jobs}
        for number in order:
            if number in keep:
                continue
            if (
                planned.get(number, horizon) < horizon
                and info[number].line == code
                and not any(p.get("job") == number for p in pins)
            ):
                keep.append(number)
                info[number].frozen = True
            else:
                break
        base_fixed[code] = [n for n in keep if home[n] == code]
        for pin in pins:
            if pin.get("position") and info[pin["job"]].line == code:
                ahead = [n for n in (reference or {}).get(code, order) if n in info]
                ahead = [n for n in ahead if n not in keep and n != pin["job"]]
                ahead = [n for n in ahead if info[n].line == code]
                count = max(
                    int(pin["position"]) - 1 - sum(1 for n in keep if n != running.get(code)), 0
                )
                keep += [*ahead[:count], pin["job"]]
        fixed[code] = keep
    locked_start = _fixed_times(info, core_lines, fixed)
    base_start = _fixed_times(info, core_lines, base_fixed)

    return Snapshot(
        origin=now,
        lines=codes,
        jobs=info,
        core_lines=core_lines,
        baseline=baseline,
        windows=windows,
        fixed=fixed,
        locked_start=locked_start,
        eligible=eligible,
        home=home,
        today=today,
        base_fixed=base_fixed,
        base_start=base_start,
        version=_hash(version),
        constraints=constraints,
        changeover_weight=plant_policy.changeover_weight,
    )


def _fixed_times(info, core_lines, fixed) -> dict[str, int]:
    """Earliest feasible starts of the kept jobs, in their order (the decoder's rules)."""
    starts: dict[str, int] = {}
    for _k, line in enumerate(core_lines):
        keep = fixed[line.id]
        if not keep:
            continue
        sub = [
            CoreJob(n, {line.id: info[n].minutes}, family=info[n].family,
                    release=info[n].release if n != keep[0] else 0,
                    resumable=info[n].status == Job.Status.RUNNING)
            for n in keep
        ]  # fmt: skip
        inst = build_instance(Problem(sub, [line]))
        for job, start, _end, _setup in walk_line(inst, 0, list(range(len(keep)))):
            starts[keep[job]] = start
    return starts
