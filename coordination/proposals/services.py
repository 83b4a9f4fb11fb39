"""Writes on proposals: build (and supersede), request, approve, reject, record outcomes.

The solve runs outside any transaction (seconds of CPU must not hold row locks); the result
is then saved in one short transaction that supersedes the line's open proposal. Approval
locks the proposal once, re-reads the picture to refuse a stale one, and writes the jobs'
new places (audited), the decision, the planner's task and the MES message in one
transaction: all of it or nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coordination.models import Job, Line, StateChange
from coordination.outbox import outbox_add
from coordination.services import row_locked, transition_apply
from kernel.errors import DomainError, InvalidInputError, NotFoundError, PermissionDeniedError
from kernel.roles import PLANNER

from . import alternatives as alt
from .models import Proposal, SequenceDecision
from .snapshot import ACTIVE, snapshot_take

log = logging.getLogger(__name__)
APPROVE_PERMISSION = "coordination.approve_sequence"
OPEN = Proposal.Status.PROPOSED


class ProposalStaleError(DomainError):
    """The plant changed since the proposal was built in a way that changes its answer."""

    code = "proposal_stale"


class ProposalClosedError(DomainError):
    code = "proposal_closed"


class ProposalNotReadyError(DomainError):
    code = "proposal_not_ready"


def _authorize(actor, what: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDeniedError(f"only planners {what}")


# --- build -----------------------------------------------------------------------------------


def _move_targets(codes: list[str], snap_lines: list[str]) -> list[str]:
    """Other running lines of the same site that share a family with a short-crewed line."""
    lines = list(Line.objects.filter(code__in=codes).select_related("site"))
    families = {f for line in lines for f in (line.families or [])}
    others = (
        Line.objects.filter(site__in=[line.site for line in lines])
        .exclude(code__in=snap_lines)
        .exclude(status__in=[Line.Status.DOWN, Line.Status.MAINTENANCE])
    )
    return sorted(
        o.code for o in others if not families or not o.families or families & set(o.families)
    )


def _labour_lines(snap) -> list[str]:
    return sorted(
        {c for c, ws in snap.windows.items() if any(w["reason"] == "short-crewed" for w in ws)}
    )


def proposal_compute(lines: list[str], *, pins=None, reference=None, now=None) -> dict:
    """Snapshot and solve (no transaction): the fields of a ready proposal."""
    began = time.perf_counter()
    snap = snapshot_take(lines, now=now, pins=pins, reference=reference)
    snapshot_seconds = time.perf_counter() - began
    baseline, alternatives, timings = alt.build(snap)
    version = snap.version
    wide = None
    short = _labour_lines(snap)
    if short and not pins:
        targets = _move_targets(short, snap.lines)
        if targets:
            wide = snapshot_take([*snap.lines, *targets], now=snap.origin)
            move_to = {
                n: sorted({wide.home[n], *(targets if wide.home[n] in short else [])})
                for n in wide.jobs
            }
            families = dict(
                Line.objects.filter(code__in=wide.lines).values_list("code", "families")
            )
            move_to = {
                n: [c for c in lines_ if not families[c] or wide.jobs[n].family in families[c]]
                for n, lines_ in move_to.items()
            }
            wide_base, moved, more = alt.build(wide, move_to=move_to, only="move_work")
            extra = next((a for a in moved if a["key"] == "move_work"), None)
            if extra is not None:
                # Measured against today's sequences of all these lines, not only the short one.
                extra["lines"] = wide.lines
                extra["baseline_kpis"] = wide_base["kpis"]
                alternatives.append(extra)
            timings["move_work"] = more["alternatives"]
            version = alt_version(version, wide.version)
    timings["snapshot"] = round(snapshot_seconds, 3)
    for a in alternatives:
        a.setdefault("lines", snap.lines)
    return {
        "lines": snap.lines,
        "origin": snap.origin,
        "input_version": version,
        "baseline": baseline,
        "alternatives": alternatives,
        "timings": timings,
        "snapshot": {
            "origin": snap.origin.isoformat(),
            "constraints": snap.constraints,
            "windows": {**(wide.windows if wide else {}), **snap.windows},
            "fixed": snap.fixed,
            "jobs": {**_jobs_json(wide), **_jobs_json(snap)},
            "today": {**(wide.today if wide else {}), **snap.today},
            "labour_lines": short,
        },
    }


def _jobs_json(snap) -> dict:
    if snap is None:
        return {}
    return {
        n: {"order": i.order, "customer": i.customer, "tier": i.tier,
            "priority": i.priority, "due_at": i.due_at, "due_min": i.due,
            "weight": i.weight, "family": i.family, "status": i.status,
            "minutes": i.minutes, "frozen": i.frozen, "release_min": i.release,
            "line": i.line}
        for n, i in snap.jobs.items()
    }  # fmt: skip


def alt_version(*versions: str) -> str:
    """One version of several snapshots (a short line and the lines work may move to)."""
    return hashlib.sha256("|".join(versions).encode()).hexdigest()


def proposal_version(proposal: Proposal) -> str:
    """The input version of the picture now, read as the proposal read it."""
    pins = proposal.pins or []
    reference = (proposal.snapshot or {}).get("reference")
    snap = snapshot_take(proposal.lines, pins=pins, reference=reference)
    version = snap.version
    short = _labour_lines(snap)
    if short and not pins:
        targets = _move_targets(short, snap.lines)
        if targets:
            version = alt_version(version, snapshot_take([*snap.lines, *targets]).version)
    return version


def proposal_build(
    *,
    lines: list[str],
    trigger: str,
    first_signal_at: datetime,
    case_id: int | None = None,
    detail: str = "",
    proposal_id: int | None = None,
    pins: list[dict] | None = None,
    reference: dict | None = None,
) -> Proposal | None:
    """Build a proposal for ``lines`` and make it the open one of its line.

    A trigger whose picture matches the open proposal's input version changes nothing (a
    line repeating "down" every few seconds); returns None then. ``proposal_id``: fill in a
    requested proposal (202 already answered with its id).
    """
    started = timezone.now()
    if proposal_id is None and _unchanged(lines):
        return None  # the line's open proposal already answers this picture
    try:
        computed = proposal_compute(lines, pins=pins, reference=reference)
    except (DomainError, alt.ScheduleCheckError, ValueError, RuntimeError) as exc:
        log.exception("proposal for %s could not be built", lines)
        if proposal_id is not None:
            _fail(proposal_id, str(exc))
        return None
    saving = time.perf_counter()
    with transaction.atomic():
        main = Line.objects.get(code=lines[0])
        open_ones = list(
            Proposal.objects.select_for_update()
            .filter(line=main, status=OPEN)
            .exclude(pk=proposal_id)
            .order_by("pk")
        )
        if proposal_id is None and any(
            p.input_version == computed["input_version"] and not p.pins and p.is_ready
            for p in open_ones
        ):
            return None
        now = timezone.now()
        fields = {
            "lines": computed["lines"],
            "origin": computed["origin"],
            "input_version": computed["input_version"],
            "baseline": computed["baseline"],
            "alternatives": computed["alternatives"],
            "snapshot": {**computed["snapshot"], "reference": reference},
            "ready_at": now,
            "ready_seconds": round((now - first_signal_at).total_seconds(), 3),
        }
        if proposal_id is None:
            proposal = Proposal.objects.create(
                line=main,
                case_id=case_id,
                trigger=trigger,
                trigger_detail=detail[:300],
                first_signal_at=first_signal_at,
                pins=pins or [],
                timings=computed["timings"],
                **fields,
            )
        else:
            proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
            if proposal.status != OPEN:
                return proposal
            for name, value in fields.items():
                setattr(proposal, name, value)
            proposal.timings = computed["timings"]
            proposal.save(update_fields=[*fields, "timings"])
        for old in open_ones:
            transition_apply(
                old.supersede,
                via=StateChange.Via.SYSTEM,
                reason=f"replaced by proposal #{proposal.pk}",
                by=proposal,
            )
        # Where the time went: first signal → build started (ingest, apply, exception,
        # queue) → snapshot → solve → save.
        proposal.timings = {
            **proposal.timings,
            "before_build": round((started - first_signal_at).total_seconds(), 3),
            "save": round(time.perf_counter() - saving, 3),
        }
        Proposal.objects.filter(pk=proposal.pk).update(timings=proposal.timings)
    return proposal


def _fail(proposal_id: int, error: str) -> None:
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        if proposal.status != OPEN:
            return
        proposal.error = error[:2000] or "could not be built"
        proposal.ready_at = timezone.now()
        proposal.save(update_fields=["error", "ready_at"])
        transition_apply(
            proposal.reject, via=StateChange.Via.SYSTEM, reason=f"could not be built: {error}"
        )


def _unchanged(lines: list[str]) -> bool:
    """True when the line's open, ready, pin-free proposal was built on the same picture."""
    current = (
        Proposal.objects.filter(line__code=lines[0], status=OPEN, ready_at__isnull=False, error="")
        .order_by("-pk")
        .first()
    )
    if current is None or current.pins or current.lines != sorted(lines):
        return False
    try:
        return proposal_version(current) == current.input_version
    except DomainError:
        return False


def proposal_request(
    *,
    line_code: str,
    actor,
    via: str = StateChange.Via.WEB,
    pins: list[dict] | None = None,
    based_on: int | None = None,
) -> Proposal:
    """A planner asks for a proposal on a line (optionally re-optimising an open one around
    pins); returns the row at once, the worker fills it in (after commit)."""
    _authorize(actor, "ask for resequencing proposals")
    line = Line.objects.filter(code=line_code).first()
    if line is None:
        raise NotFoundError(f"line {line_code} does not exist")
    lines, case_id, trigger, reference = [line.code], None, Proposal.Trigger.REQUEST, None
    if based_on is not None:
        base = Proposal.objects.filter(pk=based_on).first()
        if base is None:
            raise NotFoundError(f"proposal {based_on} does not exist")
        lines, case_id = base.lines, base.case_id
        shown = base.alternative("least_tardiness") or (base.alternatives or [{}])[0]
        reference = shown.get("sequences") or None
    pins = _pins_clean(pins or [])
    from .tasks import proposal_build_task

    with transaction.atomic():
        now = timezone.now()
        proposal = Proposal.objects.create(
            line=line,
            lines=lines,
            case_id=case_id,
            trigger=trigger,
            trigger_detail=(
                f"re-optimised around {len(pins)} pin{'s' if len(pins) != 1 else ''}"
                if pins
                else f"asked for by {actor.get_username()}"
            ),
            requested_by=actor,
            first_signal_at=now,
            created_at=now,
            pins=pins,
            snapshot={"reference": reference},
        )
        proposal_id = proposal.pk
        transaction.on_commit(lambda: proposal_build_task.delay(proposal_id=proposal_id))
    return proposal


def _pins_clean(pins) -> list[dict]:
    if not isinstance(pins, list) or len(pins) > 50:
        raise InvalidInputError("pins: a list of at most 50 {job, line, position}", field="pins")
    clean = []
    for pin in pins:
        if not isinstance(pin, dict) or not isinstance(pin.get("job"), str) or not pin["job"]:
            raise InvalidInputError("each pin names a job", field="pins")
        line = pin.get("line") or None
        position = pin.get("position")
        if position in ("", None):
            position = None
        else:
            try:
                position = int(position)
            except (TypeError, ValueError):
                raise InvalidInputError("position: a whole number from 1", field="pins") from None
            if not 1 <= position <= 1000:
                raise InvalidInputError("position: a whole number from 1", field="pins")
        if line is not None and not isinstance(line, str):
            raise InvalidInputError("line: a line code", field="pins")
        if line is None and position is None:
            raise InvalidInputError(f"pin {pin['job']}: give a line or a position", field="pins")
        clean.append({"job": pin["job"][:40], "line": line, "position": position})
    return clean


def proposal_build_for_request(proposal_id: int) -> Proposal | None:
    """The worker's half of ``proposal_request``."""
    proposal = Proposal.objects.filter(pk=proposal_id, status=OPEN, ready_at__isnull=True).first()
    if proposal is None:
        return None  # done already (a task delivered twice), or closed meanwhile
    return proposal_build(
        lines=proposal.lines,
        trigger=proposal.trigger,
        first_signal_at=proposal.first_signal_at,
        case_id=proposal.case_id,
        proposal_id=proposal.pk,
        pins=proposal.pins,
        reference=(proposal.snapshot or {}).get("reference"),
    )


def proposals_maintenance_sweep(now: datetime | None = None) -> int:
    """Beat: a planned maintenance window (no exception is raised for planned work) that no
    proposal of its line has seen yet gets one. Unplanned maintenance raises a downtime
    exception and is triggered by it at once. Returns the proposals built."""
    from coordination.models import MaintenanceWindow

    now = now or timezone.now()
    built = 0
    windows = (
        MaintenanceWindow.objects.filter(
            kind=MaintenanceWindow.Kind.PLANNED,
            status__in=[MaintenanceWindow.Status.SCHEDULED, MaintenanceWindow.Status.STARTED],
            expected_end__gt=now,
        )
        .select_related("line")
        .order_by("line__code", "updated_at")
    )
    for window in windows:
        seen = Proposal.objects.filter(line=window.line, created_at__gte=window.updated_at)
        if seen.exists():
            continue  # a proposal built since it was known includes it
        proposal = proposal_build(
            lines=[window.line.code],
            trigger=Proposal.Trigger.MAINTENANCE,
            first_signal_at=window.updated_at,
            detail=f"planned maintenance {window.work_order} on {window.line.code}",
        )
        built += proposal is not None
    return built


# --- approve and reject ------------------------------------------------------------------------


def _open_checked(proposal: Proposal) -> None:
    if proposal.status != OPEN:
        raise ProposalClosedError(
            f"proposal #{proposal.pk} is {proposal.status}: nothing was changed",
            current_state=proposal.status,
        )
    if not proposal.is_ready:
        raise ProposalNotReadyError(f"proposal #{proposal.pk} is still being built; wait a moment")


def _at(value: str) -> datetime:
    return parse_datetime(value)


def proposal_approve(
    *, proposal_id, actor, alternative: str, rationale: str, via: str = StateChange.Via.WEB
) -> SequenceDecision:
    """Approve one alternative: jobs resequenced (audited), decision, planner task, MES message."""
    _authorize(actor, "approve sequences")
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInputError("give the rationale for your choice", field="rationale")
    with row_locked(Proposal, proposal_id) as proposal:
        _open_checked(proposal)
        chosen = proposal.alternative(alternative)
        if chosen is None:
            raise InvalidInputError(
                "choose one of: " + ", ".join(a["key"] for a in proposal.alternatives),
                field="alternative",
            )
        if proposal_version(proposal) != proposal.input_version:
            raise ProposalStaleError(
                f"the plant changed since proposal #{proposal.pk} was built (jobs, due dates, "
                "priorities, line status or windows): re-run it and approve the new one",
                rerun=f"/api/v1/lines/{proposal.line.code}/resequence",
            )
        now = timezone.now()
        jobs = {
            j.number: j
            for j in Job.objects.select_for_update()
            .filter(number__in=[r["job"] for r in chosen["jobs"]])
            .select_related("order")
        }
        lines = {line.code: line for line in Line.objects.filter(code__in=chosen["lines"])}
        reason = f"proposal #{proposal.pk}: {chosen['label']} — {rationale}"
        planned = []
        for row in chosen["jobs"]:
            job = jobs.get(row["job"])
            if job is None or job.status not in ACTIVE:
                raise ProposalStaleError(f"job {row['job']} is no longer open: re-run the proposal")
            # A running job keeps the start it had (it started); its end moves.
            start = job.planned_start if job.status == Job.Status.RUNNING else _at(row["start"])
            transition_apply(
                job.resequence,
                actor=actor,
                via=via,
                reason=reason[:2000],
                line=lines[row["line"]],
                sequence=row["position"] * 10,
                planned_start=min(start, _at(row["end"])),
                planned_end=_at(row["end"]),
            )
            info = proposal.snapshot["jobs"][row["job"]]
            planned.append(
                {"job": row["job"], "line": row["line"], "planned_end": row["end"],
                 "due_at": info["due_at"], "weight": info["weight"]}
            )  # fmt: skip
        transition_apply(proposal.approve, actor=actor, via=via, reason=reason[:2000])
        decision = SequenceDecision.objects.create(
            proposal=proposal,
            decided_by=actor,
            decided_at=now,
            options=[
                {"key": a["key"], "label": a["label"], "kpis": a["kpis"]}
                for a in proposal.alternatives
            ],
            chosen=chosen["key"],
            chosen_label=chosen["label"],
            rationale=rationale,
            predicted=chosen["kpis"],
            planned=planned,
        )
        decision.task_decision = _planner_task_complete(proposal, chosen, actor, rationale, via)
        if decision.task_decision is not None:
            decision.save(update_fields=["task_decision"])
        for code in chosen["lines"]:
            rows = [r for r in chosen["jobs"] if r["line"] == code]
            outbox_add(
                topic="sequence.approved",
                aggregate=f"line:{code}",
                data={
                    "line": code,
                    "proposal": str(proposal.pk),
                    "jobs": [
                        {"job": r["job"], "sequence": r["position"] * 10,
                         "planned_start": r["start"], "planned_end": r["end"]}
                        for r in rows
                    ],
                    "approved_by": actor.get_username(),
                    "approved_at": now.isoformat(),
                    "rationale": rationale,
                },
            )  # fmt: skip
    return decision


def _planner_task_complete(proposal, chosen, actor, rationale, via):
    """Complete the planner's open task on the exception with this decision, if there is one
    the approver may act on (another planner's claimed task is left to them)."""
    if proposal.case_id is None:
        return None
    from workflows.models import ACTIVE_TASK_STATES, Task
    from workflows.task_actions import task_complete, task_may_act

    tasks = Task.objects.filter(
        case_id=proposal.case_id, owner_group__name=PLANNER, status__in=ACTIVE_TASK_STATES
    ).order_by("due_at", "pk")
    task = next((t for t in tasks if task_may_act(actor, t)), None)
    if task is None:
        return None
    values = [o["value"] for o in task.options if not o.get("needs_value")]
    option = next(
        (v for v in ("resequence", "accept") if v in values), values[0] if values else None
    )
    if option is None:
        return None
    return task_complete(
        task_id=task.pk,
        actor=actor,
        option=option,
        rationale=f"{chosen['label']} (proposal #{proposal.pk}): {rationale}",
        predicted_effect=" ".join(chosen["explanation"][:2]),
        predicted_completion_at=_at(chosen["kpis"]["makespan_end"]),
        via=via,
    )


def proposal_reject(
    *, proposal_id, actor, rationale: str, via: str = StateChange.Via.WEB
) -> Proposal:
    """A planner turns a proposal down (the plan stays as it is); the rationale is kept."""
    _authorize(actor, "reject sequences")
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInputError("say why you reject it", field="rationale")
    with row_locked(Proposal, proposal_id) as proposal:
        if proposal.status != OPEN:
            raise ProposalClosedError(
                f"proposal #{proposal.pk} is {proposal.status}: nothing was changed",
                current_state=proposal.status,
            )
        transition_apply(proposal.reject, actor=actor, via=via, reason=rationale)
    return proposal


# --- outcomes ------------------------------------------------------------------------------------


def proposal_outcomes_record(now: datetime | None = None) -> int:
    """Actual lateness of approved jobs once they have all completed, next to the prediction."""
    now = now or timezone.now()
    done = 0
    for decision in SequenceDecision.objects.filter(actual__isnull=True).order_by("pk")[:200]:
        numbers = [p["job"] for p in decision.planned]
        jobs = {j.number: j for j in Job.objects.filter(number__in=numbers).select_related("order")}
        if any(j.status in ACTIVE for j in jobs.values()):
            continue
        tardiness = lateness = late = 0
        for p in decision.planned:
            job = jobs.get(p["job"])
            if job is None or job.status != Job.Status.COMPLETED or job.actual_end is None:
                continue
            late_by = max(0, int((job.actual_end - job.order.due_at).total_seconds() // 60))
            if late_by:
                tardiness += p["weight"] * late_by
                lateness += late_by
                late += 1
        completed = sum(1 for j in jobs.values() if j.status == Job.Status.COMPLETED)
        updated = SequenceDecision.objects.filter(pk=decision.pk, actual__isnull=True).update(
            actual={
                "weighted_tardiness": tardiness,
                "lateness_minutes": lateness,
                "late_jobs": late,
                "completed_jobs": completed,
                "cancelled_jobs": len(jobs) - completed,
            },
            actual_at=now,
        )
        done += updated
    return done
