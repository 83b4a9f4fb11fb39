"""Problem and result dataclasses of the sequencing core, with input validation.

All times are integer minutes relative to the start of the planning horizon. The core never
imports Django: the adapter converts model instances into these dataclasses and back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Due date used for jobs without one: far enough that they are never late.
NO_DUE = 2**40

CRITERIA = ("tardiness", "makespan", "changeover", "late_jobs")


class ProblemError(ValueError):
    """Invalid input; the message names the job or line and the field at fault."""


@dataclass(frozen=True)
class Window:
    """Unavailability of a line over [start, end): downtime, maintenance, a break."""

    start: int
    end: int
    reason: str = ""


@dataclass(frozen=True)
class Job:
    """A job to sequence.

    ``processing`` maps each eligible line id to the processing minutes there. A locked job
    (already running, or inside the frozen horizon) keeps ``start`` on ``line``. A resumable
    job may be interrupted by an unavailability window and continues after it.
    """

    id: str
    processing: Mapping[str, int]
    weight: int = 1
    due: int | None = None
    release: int = 0
    family: str | None = None
    locked: bool = False
    start: int | None = None
    line: str | None = None
    resumable: bool = False


@dataclass(frozen=True)
class Line:
    """A production line (machine).

    Changeover minutes before a job come from ``job_changeover[(previous_job, job)]`` if
    present (``previous_job`` None means the first job on the line), else from
    ``family_changeover[previous_family][family]`` (``initial_family`` is the family set up
    at the start), else 0. Diagonal family entries may be omitted (0).
    """

    id: str
    windows: Sequence[Window] = ()
    family_changeover: Mapping[str, Mapping[str, int]] | None = None
    job_changeover: Mapping[tuple[str | None, str], int] | None = None
    initial_family: str | None = None
    available_from: int = 0


@dataclass(frozen=True)
class Objective:
    """What to minimise.

    ``kind``: "tardiness" = total weighted tardiness + ``changeover_weight`` x total
    changeover minutes (default); "makespan"; "changeover" = total changeover minutes;
    "late_jobs" = number of late jobs. ``lexicographic`` lists criteria optimised strictly
    before ``kind``, e.g. ``("late_jobs",)`` puts late orders first.
    """

    kind: str = "tardiness"
    changeover_weight: int = 1
    lexicographic: tuple[str, ...] = ()

    @property
    def criteria(self) -> tuple[str, ...]:
        return (*self.lexicographic, self.kind)


@dataclass(frozen=True)
class Problem:
    """Jobs, lines, objective and an optional baseline (current plan) to explain moves by."""

    jobs: Sequence[Job]
    lines: Sequence[Line]
    objective: Objective = field(default_factory=Objective)
    baseline: Mapping[str, Sequence[str]] | None = None


@dataclass(frozen=True)
class ScheduledJob:
    job: str
    line: str
    start: int
    end: int


@dataclass(frozen=True)
class Changeover:
    """Changeover on ``line`` from ``from_job`` (None: the line's initial state) to ``to_job``."""

    line: str
    from_job: str | None
    to_job: str
    start: int
    end: int


@dataclass(frozen=True)
class Move:
    """Why a job differs from the baseline; ``reason`` is the planner-facing sentence."""

    job: str
    kind: str
    old_line: str | None
    new_line: str
    old_start: int | None
    new_start: int
    reason: str


@dataclass
class Result:
    """A schedule: per-line sequences, timed jobs and changeovers, objective and bound.

    ``objective`` is the value of ``Objective.kind``; ``objective_values`` holds every
    criterion in lexicographic order. ``lower_bound`` bounds ``objective`` when known (only
    without lexicographic criteria). ``proven_optimal`` is true when it is reached.
    """

    sequences: dict[str, list[str]]
    jobs: list[ScheduledJob]
    changeovers: list[Changeover]
    objective: int
    objective_values: tuple[int, ...]
    metrics: dict[str, int]
    lower_bound: int | None = None
    proven_optimal: bool = False
    moves: list[Move] = field(default_factory=list)
    method: str = ""
    seconds: float = 0.0
    iterations: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_int(value: object, what: str, minimum: int | None = 0) -> None:
    if not _is_int(value):
        raise ProblemError(f"{what} must be an integer number of minutes, got {value!r}")
    if minimum is not None and value < minimum:
        raise ProblemError(f"{what} must be >= {minimum}, got {value}")


def _validate_objective(objective: Objective) -> None:
    for criterion in objective.criteria:
        if criterion not in CRITERIA:
            raise ProblemError(f"objective criterion {criterion!r} unknown, use one of {CRITERIA}")
    _check_int(objective.changeover_weight, "objective changeover_weight")


def _validate_line(line: Line, job_ids: set[str]) -> None:
    _check_int(line.available_from, f"line {line.id}: available_from")
    for k, window in enumerate(line.windows):
        _check_int(window.start, f"line {line.id}: window {k} start")
        _check_int(window.end, f"line {line.id}: window {k} end")
        if window.end <= window.start:
            raise ProblemError(f"line {line.id}: window {k} ends at or before its start")
    for row, cols in (line.family_changeover or {}).items():
        for col, minutes in cols.items():
            _check_int(minutes, f"line {line.id}: family_changeover[{row}][{col}]")
    for (before, after), minutes in (line.job_changeover or {}).items():
        for name in (before, after):
            if name is not None and name not in job_ids:
                raise ProblemError(f"line {line.id}: job_changeover names unknown job {name!r}")
        _check_int(minutes, f"line {line.id}: job_changeover[{before}, {after}]")


def _validate_job(job: Job, line_ids: set[str]) -> None:
    if not job.processing:
        raise ProblemError(f"job {job.id}: processing has no eligible line")
    for line_id, minutes in job.processing.items():
        if line_id not in line_ids:
            raise ProblemError(f"job {job.id}: processing names unknown line {line_id!r}")
        _check_int(minutes, f"job {job.id}: processing on line {line_id}", minimum=1)
    _check_int(job.weight, f"job {job.id}: weight")
    _check_int(job.release, f"job {job.id}: release")
    if job.due is not None:
        _check_int(job.due, f"job {job.id}: due", minimum=None)
    if job.locked:
        if job.start is None:
            raise ProblemError(f"job {job.id}: locked job without a start")
        _check_int(job.start, f"job {job.id}: start")
        if job.line is None and len(job.processing) > 1:
            raise ProblemError(f"job {job.id}: locked job without a line")
        if job.line is not None and job.line not in job.processing:
            raise ProblemError(f"job {job.id}: locked on line {job.line!r} it is not eligible for")


def _validate_families(problem: Problem) -> None:
    for line in problem.lines:
        matrix = line.family_changeover
        if matrix is None:
            continue
        families = {j.family for j in problem.jobs if line.id in j.processing} - {None}
        if line.initial_family is not None:
            families.add(line.initial_family)
        for family in sorted(families):
            if family not in matrix:
                raise ProblemError(
                    f"line {line.id}: family_changeover is missing family {family!r}"
                )
            missing = sorted(f for f in families if f != family and f not in matrix[family])
            if missing:
                raise ProblemError(
                    f"line {line.id}: family_changeover[{family}] is missing family {missing[0]!r}"
                )
        for job in problem.jobs:
            if line.id in job.processing and job.family is None:
                raise ProblemError(
                    f"job {job.id}: family is required on line {line.id} (family changeovers)"
                )


def validate(problem: Problem) -> None:
    """Raise ProblemError for the first invalid field found."""
    if not problem.lines:
        raise ProblemError("problem has no line")
    line_ids = [line.id for line in problem.lines]
    if len(set(line_ids)) != len(line_ids):
        raise ProblemError("line ids are not unique")
    job_ids = [job.id for job in problem.jobs]
    if len(set(job_ids)) != len(job_ids):
        dup = next(j for j in job_ids if job_ids.count(j) > 1)
        raise ProblemError(f"job {dup}: id is not unique")
    _validate_objective(problem.objective)
    for line in problem.lines:
        _validate_line(line, set(job_ids))
    for job in problem.jobs:
        _validate_job(job, set(line_ids))
    _validate_families(problem)
    if problem.baseline is not None:
        _validate_baseline(problem)


def _validate_baseline(problem: Problem) -> None:
    jobs = {job.id: job for job in problem.jobs}
    for line_id, sequence in problem.baseline.items():
        if line_id not in {line.id for line in problem.lines}:
            raise ProblemError(f"baseline names unknown line {line_id!r}")
        for job_id in sequence:
            if job_id not in jobs:
                raise ProblemError(f"baseline of line {line_id} names unknown job {job_id!r}")
            if line_id not in jobs[job_id].processing:
                raise ProblemError(f"job {job_id}: baseline puts it on ineligible line {line_id}")
