"""Planner-facing explanations: which job moved relative to the baseline, and why."""

from __future__ import annotations

from .instance import Instance, Timing, decode
from .model import NO_DUE, Move


def _late(inst: Instance, job: int, end: int) -> int:
    return max(0, end - inst.due[job])


def _due_text(inst: Instance, job: int) -> str:
    due = inst.due[job]
    return "no due date" if due >= NO_DUE else f"due {due}"


def _reason(inst: Instance, job: int, old: Timing, new: Timing) -> str:
    name, weight = inst.job_ids[job], inst.weight[job]
    delta = new.start[job] - old.start[job]
    late_old, late_new = _late(inst, job, old.end[job]), _late(inst, job, new.end[job])
    parts: list[str] = []
    if old.line_of[job] != new.line_of[job]:
        parts.append(
            f"{name} moved from line {inst.line_ids[old.line_of[job]]} to "
            f"{inst.line_ids[new.line_of[job]]}, ends {new.end[job]} instead of {old.end[job]}"
        )
    elif delta < 0:
        parts.append(f"{name} moved earlier by {-delta} min")
    else:
        parts.append(f"{name} moved later by {delta} min")
    if late_old > late_new:
        parts.append(f"{_due_text(inst, job)}, weight {weight}, would be {late_old} min late")
    elif late_new > late_old:
        parts.append(
            f"{_due_text(inst, job)}, weight {weight}, now {late_new} min late to let more "
            "urgent or heavier jobs finish earlier"
        )
    elif late_new == 0 and delta > 0:
        parts.append(f"still on time ({_due_text(inst, job)})")
    if new.setup_before[job] != old.setup_before[job]:
        parts.append(f"changeover before it {old.setup_before[job]} -> {new.setup_before[job]} min")
    head, rest = parts[0], parts[1:]
    return f"{head}: {'; '.join(rest)}" if rest else head


def explain(inst: Instance, baseline: list[list[int]], orders: list[list[int]]) -> list[Move]:
    """Moves of every job whose line or place among the others changed, largest shift first."""
    old, new = decode(inst, baseline), decode(inst, orders)
    rank_old = {j: k for seq in old.sequences for k, j in enumerate(seq)}
    rank_new = {j: k for seq in new.sequences for k, j in enumerate(seq)}
    moves = []
    for job in inst.free:
        same_line = old.line_of[job] == new.line_of[job]
        if same_line and (rank_old[job] == rank_new[job] or old.start[job] == new.start[job]):
            continue
        kind = (
            "line" if not same_line else "earlier" if new.start[job] < old.start[job] else "later"
        )
        moves.append(
            Move(
                job=inst.job_ids[job],
                kind=kind,
                old_line=inst.line_ids[old.line_of[job]],
                new_line=inst.line_ids[new.line_of[job]],
                old_start=old.start[job],
                new_start=new.start[job],
                reason=_reason(inst, job, old, new),
            )
        )
    moves.sort(key=lambda m: -abs(m.new_start - m.old_start))
    return moves
