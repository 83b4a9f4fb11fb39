"""Index-based form of a Problem and the decoder from per-line sequences to a timed schedule.

Solvers work on integer job and line indices; the decoder turns per-line orders of the free
(unlocked) jobs into the semi-active schedule (every job as early as its predecessor,
release, changeover and the line's windows allow). For the regular objectives of the core
that schedule dominates every other schedule with the same orders, so searching orders is
enough. Locked jobs are merged in at their fixed start.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from .model import NO_DUE, Changeover, Problem, ProblemError, Result, ScheduledJob, validate


@dataclass
class Instance:
    """Arrays of a validated problem. Index ``n`` in a setup matrix is the line start."""

    problem: Problem
    job_ids: list[str]
    line_ids: list[str]
    proc: list[list[int]]  # [line][job], 0 where not eligible
    eligible: list[list[int]]  # [job] -> line indices
    setup: list[list[list[int]]]  # [line][prev or n][job or n]
    weight: list[int]
    due: list[int]
    release: list[int]
    resumable: list[bool]
    windows: list[list[tuple[int, int]]]  # [line] sorted, merged
    available: list[int]
    locked: list[list[tuple[int, int]]]  # [line] sorted (start, job)
    free: list[int]

    @property
    def n(self) -> int:
        return len(self.job_ids)

    @property
    def m(self) -> int:
        return len(self.line_ids)

    def setup_array(self, line: int) -> np.ndarray:
        return np.asarray(self.setup[line], dtype=np.int64)


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _setup_matrix(problem: Problem, line_index: int) -> list[list[int]]:
    line = problem.lines[line_index]
    jobs = problem.jobs
    n = len(jobs)
    families = [job.family for job in jobs] + [line.initial_family]
    matrix = [[0] * (n + 1) for _ in range(n + 1)]
    table = line.family_changeover
    if table is not None:
        for i in range(n + 1):
            row = table.get(families[i]) if families[i] is not None else None
            if row is None:
                continue
            for j in range(n):
                if families[j] is not None and i != j:
                    matrix[i][j] = int(row.get(families[j], 0))
    index = {job.id: k for k, job in enumerate(jobs)}
    for (before, after), minutes in (line.job_changeover or {}).items():
        matrix[n if before is None else index[before]][index[after]] = int(minutes)
    return matrix


def build_instance(problem: Problem) -> Instance:
    """Validate ``problem`` and index it; raises ProblemError."""
    validate(problem)
    line_ids = [line.id for line in problem.lines]
    line_index = {lid: k for k, lid in enumerate(line_ids)}
    jobs = problem.jobs
    proc = [[int(job.processing.get(lid, 0)) for job in jobs] for lid in line_ids]
    inst = Instance(
        problem=problem,
        job_ids=[job.id for job in jobs],
        line_ids=line_ids,
        proc=proc,
        eligible=[[line_index[lid] for lid in line_ids if lid in job.processing] for job in jobs],
        setup=[_setup_matrix(problem, k) for k in range(len(line_ids))],
        weight=[int(job.weight) for job in jobs],
        due=[NO_DUE if job.due is None else int(job.due) for job in jobs],
        release=[int(job.release) for job in jobs],
        resumable=[bool(job.resumable) for job in jobs],
        windows=[_merge([(w.start, w.end) for w in line.windows]) for line in problem.lines],
        available=[int(line.available_from) for line in problem.lines],
        locked=[[] for _ in line_ids],
        free=[k for k, job in enumerate(jobs) if not job.locked],
    )
    for k, job in enumerate(jobs):
        if job.locked:
            lid = job.line if job.line is not None else next(iter(job.processing))
            inst.locked[line_index[lid]].append((int(job.start), k))
    for line in range(inst.m):
        inst.locked[line].sort()
        _check_locked(inst, line)
    return inst


def _check_locked(inst: Instance, line: int) -> None:
    """Locked jobs must be feasible among themselves, else no schedule exists."""
    prev, t = inst.n, inst.available[line]
    for start, job in inst.locked[line]:
        need = inst.setup[line][prev][job]
        if start < t + need or start != earliest_start(inst, line, job, start - need, need):
            raise ProblemError(
                f"job {inst.job_ids[job]}: locked start {start} on line {inst.line_ids[line]} "
                "overlaps the previous locked job, its changeover or a window"
            )
        prev, t = job, finish(inst, line, job, start)


def earliest_start(inst: Instance, line: int, job: int, t: int, setup: int) -> int:
    """Earliest start >= t + setup (and >= release) whose changeover and job avoid windows.

    The changeover runs right before the job; a resumable job only needs to start outside
    a window, the others must not overlap one.
    """
    start = max(t + setup, inst.release[job])
    windows = inst.windows[line]
    if not windows:
        return start
    span = 1 if inst.resumable[job] else inst.proc[line][job]
    k = bisect.bisect_right(windows, (start - setup, 2**62)) - 1
    k = max(k, 0)
    while k < len(windows):
        ws, we = windows[k]
        if we <= start - setup:
            k += 1
            continue
        if ws >= start + span:
            break
        start = we + setup
        k += 1
    return start


def finish(inst: Instance, line: int, job: int, start: int) -> int:
    """End of ``job`` started at ``start``; a resumable job is stretched over windows."""
    end = start + inst.proc[line][job]
    if not inst.resumable[job]:
        return end
    for ws, we in inst.windows[line]:
        if we <= start:
            continue
        if ws >= end:
            break
        end += we - ws
    return end


@dataclass
class Timing:
    """Decoded schedule in index form."""

    sequences: list[list[int]]  # per line, locked jobs included
    start: list[int]
    end: list[int]
    line_of: list[int]
    setup_before: list[int]


def walk_line(inst: Instance, line: int, order: list[int]) -> list[tuple[int, int, int, int]]:
    """(job, start, end, setup) of the semi-active schedule of ``order`` on ``line``."""
    out: list[tuple[int, int, int, int]] = []
    prev, t, k = inst.n, inst.available[line], 0
    locked = inst.locked[line]

    def place(job: int, fixed: int | None = None) -> None:
        nonlocal prev, t
        setup = inst.setup[line][prev][job]
        start = earliest_start(inst, line, job, t, setup) if fixed is None else fixed
        t = finish(inst, line, job, start)
        out.append((job, start, t, setup))
        prev = job

    for job in order:
        while k < len(locked) and not _fits_before(inst, line, job, prev, t, k):
            place(locked[k][1], locked[k][0])
            k += 1
        place(job)
    for start, job in locked[k:]:
        place(job, start)
    return out


def _fits_before(inst: Instance, line: int, job: int, prev: int, t: int, locked: int) -> bool:
    start, next_job = inst.locked[line][locked]
    setup = inst.setup[line][prev][job]
    end = finish(inst, line, job, earliest_start(inst, line, job, t, setup))
    after = inst.setup[line][job][next_job]
    return earliest_start(inst, line, next_job, end, after) <= start


def decode(inst: Instance, orders: list[list[int]]) -> Timing:
    """Semi-active schedule of the free jobs in ``orders`` (one list per line)."""
    n = inst.n
    timing = Timing([[] for _ in range(inst.m)], [0] * n, [0] * n, [-1] * n, [0] * n)
    for line, order in enumerate(orders):
        for job, start, end, setup in walk_line(inst, line, order):
            timing.sequences[line].append(job)
            timing.start[job], timing.end[job] = start, end
            timing.line_of[job], timing.setup_before[job] = line, setup
    return timing


LineValues = tuple[int, int, int, int]


def line_values(inst: Instance, line: int, order: list[int]) -> LineValues:
    """(weighted tardiness, late jobs, changeover, end) of one line, for incremental search."""
    tardiness = late = changeover = last = 0
    due, weight = inst.due, inst.weight
    if not inst.windows[line] and not inst.locked[line]:
        # Same schedule as walk_line, inlined: this is the inner loop of the general search.
        setup, proc, release = inst.setup[line], inst.proc[line], inst.release
        prev, last = inst.n, inst.available[line]
        for job in order:
            s = setup[prev][job]
            last = max(last + s, release[job]) + proc[job]
            changeover += s
            if last > due[job]:
                tardiness += weight[job] * (last - due[job])
                late += 1
            prev = job
        return tardiness, late, changeover, last if order else 0
    for job, _, end, setup in walk_line(inst, line, order):
        if end > due[job]:
            tardiness += weight[job] * (end - due[job])
            late += 1
        changeover += setup
        last = max(last, end)
    return tardiness, late, changeover, last


def combine(inst: Instance, per_line: list[LineValues]) -> tuple[int, ...]:
    """Objective vector from per-line values (criteria in lexicographic order)."""
    tardiness = sum(v[0] for v in per_line)
    changeover = sum(v[2] for v in per_line)
    values = {
        "weighted_tardiness": tardiness,
        "late_jobs": sum(v[1] for v in per_line),
        "changeover": changeover,
        "makespan": max((v[3] for v in per_line), default=0),
        "tardiness": tardiness + inst.problem.objective.changeover_weight * changeover,
    }
    return objective_values(inst, values)


def metrics(inst: Instance, timing: Timing) -> dict[str, int]:
    """Every criterion of the core for a decoded schedule."""
    tardiness = late = 0
    for job in range(inst.n):
        late_by = timing.end[job] - inst.due[job]
        if late_by > 0:
            tardiness += inst.weight[job] * late_by
            late += 1
    changeover = sum(timing.setup_before)
    return {
        "weighted_tardiness": tardiness,
        "late_jobs": late,
        "changeover": changeover,
        "makespan": max(timing.end, default=0),
        "tardiness": tardiness + inst.problem.objective.changeover_weight * changeover,
    }


def objective_values(inst: Instance, values: dict[str, int]) -> tuple[int, ...]:
    return tuple(values[c] for c in inst.problem.objective.criteria)


def evaluate(inst: Instance, orders: list[list[int]]) -> tuple[int, ...]:
    """Lexicographic objective vector of the orders (smaller is better)."""
    return combine(inst, [line_values(inst, k, order) for k, order in enumerate(orders)])


def to_result(inst: Instance, orders: list[list[int]], **extra: object) -> Result:
    """Build the public Result of the given orders."""
    timing = decode(inst, orders)
    values = metrics(inst, timing)
    ids, lines = inst.job_ids, inst.line_ids
    jobs: list[ScheduledJob] = []
    changeovers: list[Changeover] = []
    for line, sequence in enumerate(timing.sequences):
        prev = None
        for job in sequence:
            start, setup = timing.start[job], timing.setup_before[job]
            jobs.append(ScheduledJob(ids[job], lines[line], start, timing.end[job]))
            if setup:
                changeovers.append(Changeover(lines[line], prev, ids[job], start - setup, start))
            prev = ids[job]
    vector = objective_values(inst, values)
    return Result(
        sequences={lines[k]: [ids[j] for j in seq] for k, seq in enumerate(timing.sequences)},
        jobs=jobs,
        changeovers=changeovers,
        objective=vector[-1],
        objective_values=vector,
        metrics=values,
        **extra,
    )


def free_orders(inst: Instance, result_sequences: dict[str, list[str]]) -> list[list[int]]:
    """Index orders of the free jobs from a Result's (or baseline's) sequences."""
    index = {jid: k for k, jid in enumerate(inst.job_ids)}
    locked = {job for line in inst.locked for _, job in line}
    return [
        [index[j] for j in result_sequences.get(lid, []) if index[j] not in locked]
        for lid in inst.line_ids
    ]
