"""Reads for the planner's pages: open proposals by line, one proposal's page, a case's."""

from __future__ import annotations

from coordination.models import Line

from .gantt import gantt_build, horizon_of
from .models import Proposal

KPI_ROWS = [
    ("weighted_tardiness", "Weighted lateness (weight x min)"),
    ("late_orders", "Late orders"),
    ("late_jobs", "Late jobs"),
    ("lateness_minutes", "Lateness (min)"),
    ("changeover_minutes", "Changeovers (min)"),
]


def plan_overview(site_code: str | None = None) -> list[dict]:
    """Every line with its open proposal (newest) and the last closed one."""
    lines = Line.objects.select_related("site").order_by("code")
    if site_code:
        lines = lines.filter(site__code=site_code)
    proposals = {}
    for p in (
        Proposal.objects.filter(status=Proposal.Status.PROPOSED)
        .select_related("line", "case")
        .order_by("-pk")
    ):
        proposals.setdefault(p.line_id, p)
    return [{"line": line, "proposal": proposals.get(line.pk)} for line in lines]


def recent_decisions(limit: int = 10):
    return (
        Proposal.objects.exclude(status=Proposal.Status.PROPOSED)
        .select_related("line", "decision__decided_by")
        .order_by("-closed_at", "-pk")[:limit]
    )


def _deltas(base: dict, kpis: dict) -> list[dict]:
    rows = []
    for key, label in KPI_ROWS:
        before, after = base.get(key, 0), kpis.get(key, 0)
        rows.append({"label": label, "before": before, "after": after, "delta": after - before})
    return rows


def proposal_page(
    proposal: Proposal, alternative: str | None = None, *, orders_visible: bool = True
) -> dict:
    """The Gantt before/after of the chosen alternative, every alternative's KPI deltas.

    Without ``orders_visible`` (maintenance) no order number, tier or due date is shown."""
    if not proposal.is_ready:
        return {"ready": False}
    chosen = proposal.alternative(alternative or "") or proposal.alternatives[0]
    if not orders_visible:
        chosen = {**chosen, "explanation": chosen.get("explanation_floor", [])}
    lines = chosen.get("lines") or proposal.lines
    baseline = proposal.baseline
    base_kpis = chosen.get("baseline_kpis") or baseline["kpis"]
    horizon = horizon_of(baseline, chosen)
    snapshot = proposal.snapshot
    if not orders_visible:
        snapshot = {
            **snapshot,
            "jobs": {n: {"family": j.get("family", "")} for n, j in snapshot["jobs"].items()},
        }
    before = gantt_build(baseline, lines=lines, snapshot=snapshot, origin=proposal.origin,
                         horizon=horizon)  # fmt: skip
    after = gantt_build(chosen, lines=lines, snapshot=snapshot, origin=proposal.origin,
                        horizon=horizon)  # fmt: skip
    alternatives = [
        {**a, "deltas": _deltas(a.get("baseline_kpis") or baseline["kpis"], a["kpis"]),
         "selected": a["key"] == chosen["key"]}
        for a in proposal.alternatives
    ]  # fmt: skip
    jobs = (snapshot.get("jobs") or {}) if orders_visible else {}
    rows = [
        {**r, **{"order": jobs.get(r["job"], {}).get("order"),
                 "tier": jobs.get(r["job"], {}).get("tier"),
                 "due_at": jobs.get(r["job"], {}).get("due_at")}}
        for r in chosen["jobs"]
    ]  # fmt: skip
    return {
        "ready": True,
        "chosen": chosen,
        "base_kpis": base_kpis,
        "before": before,
        "after": after,
        "alternatives": alternatives,
        "rows": rows,
        "constraints": snapshot.get("constraints") or [],
        "pin_jobs": [r["job"] for r in chosen["jobs"] if not r.get("fixed")],
        "pin_lines": sorted(
            {
                *proposal.lines,
                *Line.objects.filter(site=proposal.line.site).values_list("code", flat=True),
            }
        ),
    }


def case_proposals(case_id: int) -> list[Proposal]:
    return list(Proposal.objects.filter(case_id=case_id).select_related("line").order_by("-pk")[:5])
