"""Alternatives for a snapshot: solved by the scheduling core, checked, measured, explained.

Each alternative is one objective given to ``coordination.scheduling.solve``; every schedule
(the baseline too) passes the independent ``check_schedule`` before it is kept. KPIs are
always measured with the plant's real weights, whatever weights an objective used, so the
alternatives compare on one scale. Alternatives whose sequences equal an earlier one's are
folded into it ("also the fewest changeovers").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from coordination.scheduling import Objective, Problem, Result, check_schedule, solve
from coordination.scheduling.instance import build_instance, free_orders, to_result

from .snapshot import Snapshot

#: Protecting the top tier multiplies its weights by this (the rest keep theirs).
TOP_TIER_FACTOR = 100


class ScheduleCheckError(RuntimeError):
    """An alternative failed the independent feasibility check: never shown."""


@dataclass
class Plan:
    key: str
    label: str
    problem: Problem
    result: Result


def fmt_minutes(minutes: int) -> str:
    """People's durations: 130 → "2 h 10 m", 40 → "40 min", 0 → "0 min"."""
    minutes = round(abs(minutes))
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} m"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


def _checked(problem: Problem, result: Result, what: str) -> Result:
    errors = check_schedule(problem, result)
    if errors:
        raise ScheduleCheckError(f"{what}: {'; '.join(errors[:3])}")
    return result


def baseline_result(snap: Snapshot) -> tuple[Problem, Result]:
    """Today's sequence pushed right by the constraint (semi-active, checked)."""
    problem = snap.problem(Objective("tardiness", changeover_weight=snap.changeover_weight),
                           today=True)  # fmt: skip
    inst = build_instance(problem)
    orders = free_orders(inst, snap.today)
    return problem, _checked(problem, to_result(inst, orders), "baseline")


def _seconds() -> float:
    return float(getattr(settings, "PROPOSAL_SOLVE_SECONDS", 1.0))


def plans_solve(
    snap: Snapshot, *, move_to: dict[str, list[str]] | None = None, only: str | None = None
) -> list[Plan]:
    """The alternatives where they differ, each checked. ``move_to``: per job the lines it
    may move to (a labour shortfall: moving work instead of running short-crewed)."""
    limit = _seconds()
    weight = snap.changeover_weight
    wanted: list[tuple[str, str, Problem]] = [
        ("least_tardiness", "Least weighted lateness",
         snap.problem(Objective("tardiness", changeover_weight=weight))),
        ("fewest_changeovers", "Fewest changeover minutes",
         snap.problem(Objective("tardiness", changeover_weight=weight,
                                lexicographic=("changeover",)))),
    ]  # fmt: skip
    top = [n for n, i in snap.jobs.items() if i.tier == 1]
    if top and len(top) < len(snap.jobs):
        boosted = {n: snap.jobs[n].weight * TOP_TIER_FACTOR for n in top}
        wanted.append(
            ("protect_top_tier", "Protect strategic customers",
             snap.problem(Objective("tardiness", changeover_weight=weight), boosted))
        )  # fmt: skip
    if move_to:
        wanted.append(
            ("move_work", "Move work to other lines",
             snap.problem(Objective("tardiness", changeover_weight=weight), eligible=move_to))
        )  # fmt: skip
    plans: list[Plan] = []
    for key, label, problem in wanted:
        if only is not None and key != only:
            continue
        result = solve(problem, time_limit=limit, seed=0)
        plans.append(Plan(key, label, problem, _checked(problem, result, label)))
    return plans


def kpis(snap: Snapshot, result: Result) -> dict:
    """KPIs with the plant's real weights (whatever the objective weighed)."""
    tardiness = late = lateness = 0
    late_orders: set[str] = set()
    for entry in result.jobs:
        info = snap.jobs[entry.job]
        late_by = max(0, entry.end - info.due)
        if late_by:
            tardiness += info.weight * late_by
            lateness += late_by
            late += 1
            late_orders.add(info.order)
    end = max((e.end for e in result.jobs), default=0)
    return {
        "weighted_tardiness": tardiness,
        "late_jobs": late,
        "late_orders": len(late_orders),
        "changeover_minutes": sum(c.end - c.start for c in result.changeovers),
        "makespan_end": (snap.origin + timedelta(minutes=end)).isoformat(),
        "lateness_minutes": lateness,
    }


def schedule_rows(snap: Snapshot, result: Result) -> tuple[list[dict], list[dict]]:
    """Jobs in line order with times, changeover and lateness; the changeovers for drawing."""
    setups = {(c.line, c.to_job): c for c in result.changeovers}
    by_job = {e.job: e for e in result.jobs}
    rows = []
    for line, sequence in sorted(result.sequences.items()):
        for position, number in enumerate(sequence, 1):
            entry, info = by_job[number], snap.jobs[number]
            change = setups.get((line, number))
            rows.append(
                {
                    "job": number,
                    "line": line,
                    "position": position,
                    "start": (snap.origin + timedelta(minutes=entry.start)).isoformat(),
                    "end": (snap.origin + timedelta(minutes=entry.end)).isoformat(),
                    "changeover_minutes": (change.end - change.start) if change else 0,
                    "late_minutes": max(0, entry.end - info.due),
                    "start_min": entry.start,
                    "end_min": entry.end,
                    "fixed": number in snap.fixed.get(line, []),
                }
            )
    changeovers = [
        {"line": c.line, "from_job": c.from_job, "to_job": c.to_job, "start_min": c.start,
         "end_min": c.end}
        for c in result.changeovers
    ]  # fmt: skip
    return rows, changeovers


def explain(
    snap: Snapshot,
    base: dict,
    base_rows: list[dict],
    kpi: dict,
    rows: list[dict],
    *,
    orders: bool = True,
) -> list[str]:
    """Plain sentences: what it saves and costs against the baseline, then the main moves.

    ``orders=False``: the same without order numbers, tiers and priorities (for roles that
    do not read orders)."""
    sentences = []
    before = {r["job"]: r for r in base_rows}
    saved = base["lateness_minutes"] - kpi["lateness_minutes"]
    orders_better = {
        snap.jobs[r["job"]].order
        for r in rows
        if r["late_minutes"] < before[r["job"]]["late_minutes"]
    }
    orders_worse = {
        snap.jobs[r["job"]].order
        for r in rows
        if r["late_minutes"] > before[r["job"]]["late_minutes"]
    }
    changeover = kpi["changeover_minutes"] - base["changeover_minutes"]
    if saved > 0:
        head = (
            f"Saves {fmt_minutes(saved)} of lateness on {len(orders_better)} "
            f"order{'s' if len(orders_better) != 1 else ''}"
        )
    elif saved < 0:
        head = f"Adds {fmt_minutes(-saved)} of lateness"
    else:
        head = "Same total lateness as today's sequence"
    if changeover > 0:
        head += f", adds {fmt_minutes(changeover)} of changeovers"
    elif changeover < 0:
        head += f", saves {fmt_minutes(-changeover)} of changeovers"
    else:
        head += ", same changeover time"
    sentences.append(head + ".")
    sentences.append(
        f"Late orders: {base['late_orders']} → {kpi['late_orders']}; late jobs: "
        f"{base['late_jobs']} → {kpi['late_jobs']}."
    )
    if orders_worse and saved > 0:
        if orders:
            shown = ", ".join(sorted(orders_worse)[:3])
            more = " …" if len(orders_worse) > 3 else ""
        else:
            shown, more = f"{len(orders_worse)} order{'s' if len(orders_worse) != 1 else ''}", ""
        sentences.append(f"Later than today for {shown}{more}.")
    moves = []
    for r in rows:
        old = before.get(r["job"])
        if old is None:
            continue
        shift = r["start_min"] - old["start_min"]
        if r["line"] != old["line"] or (abs(shift) >= 1 and r["position"] != old["position"]):
            moves.append((abs(shift), r, old, shift))
    moves.sort(key=lambda m: -m[0])
    for _, r, old, shift in moves[:3]:
        info = snap.jobs[r["job"]]
        who = r["job"]
        if orders:
            who += f" ({info.order}, tier {info.tier}, priority {info.priority})"
        if r["line"] != old["line"]:
            what = f"{who} moves from {old['line']} to {r['line']}"
        else:
            way = "earlier" if shift < 0 else "later"
            place = f"position {old['position']} → {r['position']}"
            what = f"{who} runs {fmt_minutes(shift)} {way}, {place}"
        if old["late_minutes"] and not r["late_minutes"]:
            what += f": on time instead of {fmt_minutes(old['late_minutes'])} late"
        elif r["late_minutes"] > old["late_minutes"]:
            what += (
                f": {fmt_minutes(r['late_minutes'])} late (was {fmt_minutes(old['late_minutes'])})"
                if old["late_minutes"]
                else f": now {fmt_minutes(r['late_minutes'])} late"
            )
        elif r["late_minutes"] < old["late_minutes"]:
            what += f": {fmt_minutes(old['late_minutes'] - r['late_minutes'])} less late"
        sentences.append(what + ".")
    return sentences


def build(
    snap: Snapshot, *, move_to: dict[str, list[str]] | None = None, only: str | None = None
) -> tuple[dict, list[dict], dict]:
    """(baseline, alternatives, timings) for the proposal's stored form."""
    began = time.perf_counter()
    _, base_result = baseline_result(snap)
    base_kpis = kpis(snap, base_result)
    base_rows, base_changeovers = schedule_rows(snap, base_result)
    baseline = {"kpis": base_kpis, "jobs": base_rows, "changeovers": base_changeovers}
    solved_at = time.perf_counter()
    plans = plans_solve(snap, move_to=move_to, only=only)
    solve_seconds = time.perf_counter() - solved_at
    alternatives: list[dict] = []
    for plan in plans:
        rows, changeovers = schedule_rows(snap, plan.result)
        same = next((a for a in alternatives if a["sequences"] == plan.result.sequences), None)
        if same is not None:
            same["also"].append(plan.label)
            continue
        kpi = kpis(snap, plan.result)
        alternatives.append(
            {
                "key": plan.key,
                "label": plan.label,
                "kpis": kpi,
                "jobs": rows,
                "changeovers": changeovers,
                "sequences": plan.result.sequences,
                "explanation": explain(snap, base_kpis, base_rows, kpi, rows),
                "explanation_floor": explain(snap, base_kpis, base_rows, kpi, rows, orders=False),
                "also": [],
                "method": plan.result.method,
                "proven_optimal": plan.result.proven_optimal,
                "objective": plan.result.objective,
            }
        )
    for alt in alternatives:
        if alt["also"]:
            alt["explanation"].append(
                "Also the answer for: " + ", ".join(alt["also"]).lower() + "."
            )
    timings = {
        "solve": round(solve_seconds, 3),
        "alternatives": round(time.perf_counter() - began, 3),
    }
    return baseline, alternatives, timings
