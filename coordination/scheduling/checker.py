"""Independent feasibility checker and objective evaluator.

Deliberately shares no code with the decoder or the solvers: it reads the Problem and the
timed Result only, so a bug in a solver cannot hide itself. Used by the tests, by the
benchmark and before any proposal is shown to a planner.
"""

from __future__ import annotations

from .model import Job, Line, Problem, Result, ScheduledJob


def required_changeover(line: Line, jobs: dict[str, Job], before: str | None, after: str) -> int:
    """Changeover minutes on ``line`` before ``after`` when ``before`` ran just before it."""
    pairs = line.job_changeover or {}
    if (before, after) in pairs:
        return int(pairs[(before, after)])
    if line.family_changeover is None:
        return 0
    old = line.initial_family if before is None else jobs[before].family
    new = jobs[after].family
    if old is None or new is None:
        return 0
    return int(line.family_changeover.get(old, {}).get(new, 0))


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def _stretched_end(line: Line, start: int, minutes: int) -> int:
    """End of ``minutes`` of work from ``start`` when windows pause the work."""
    t, left = start, minutes
    for window in sorted(line.windows, key=lambda w: w.start):
        if window.end <= t:
            continue
        if window.start >= t + left:
            break
        left -= max(window.start - t, 0)
        t = max(t, window.end)
    return t + left


def _check_job(lines: dict[str, Line], job: Job, entry: ScheduledJob) -> list[str]:
    errors: list[str] = []
    if entry.line not in lines:
        return [f"job {job.id}: unknown line {entry.line}"]
    if entry.line not in job.processing:
        return [f"job {job.id}: line {entry.line} is not eligible"]
    line = lines[entry.line]
    minutes = job.processing[entry.line]
    expected = (
        _stretched_end(line, entry.start, minutes) if job.resumable else entry.start + minutes
    )
    if entry.end != expected:
        errors.append(f"job {job.id}: ends at {entry.end}, processing requires {expected}")
    if entry.start < job.release:
        errors.append(f"job {job.id}: starts at {entry.start} before its release {job.release}")
    if entry.start < line.available_from:
        errors.append(f"job {job.id}: starts before line {line.id} is available")
    for window in line.windows:
        if job.resumable:
            bad = window.start <= entry.start < window.end
        else:
            bad = _overlaps(entry.start, entry.end, window.start, window.end)
        if bad:
            errors.append(
                f"job {job.id}: runs in unavailability window [{window.start}, {window.end}) "
                f"of line {line.id}"
            )
    if job.locked:
        locked_line = job.line or next(iter(job.processing))
        if entry.start != job.start or entry.line != locked_line:
            errors.append(f"job {job.id}: locked job moved from {locked_line}@{job.start}")
    return errors


def _check_line(line: Line, jobs: dict[str, Job], result: Result) -> list[str]:
    errors: list[str] = []
    entries = sorted((e for e in result.jobs if e.line == line.id), key=lambda e: e.start)
    if [e.job for e in entries] != list(result.sequences.get(line.id, [])):
        errors.append(f"line {line.id}: sequence does not match the start times")
    changeovers = {(c.line, c.to_job): c for c in result.changeovers}
    prev_id, prev_end = None, line.available_from
    for entry in entries:
        if entry.job not in jobs:
            prev_id, prev_end = None, entry.end
            continue
        need = required_changeover(line, jobs, prev_id, entry.job)
        ready = entry.start
        if need:
            change = changeovers.get((line.id, entry.job))
            if change is None or change.end - change.start != need or change.from_job != prev_id:
                errors.append(f"job {entry.job}: missing changeover of {need} min on {line.id}")
            else:
                if change.start < prev_end or change.end > entry.start:
                    errors.append(f"job {entry.job}: changeover not between jobs on {line.id}")
                for window in line.windows:
                    if _overlaps(change.start, change.end, window.start, window.end):
                        errors.append(f"job {entry.job}: changeover in a window on {line.id}")
                ready = change.start
        if ready < prev_end:
            errors.append(f"job {entry.job}: overlaps the previous job on line {line.id}")
        prev_id, prev_end = entry.job, entry.end
    return errors


def check_schedule(problem: Problem, result: Result) -> list[str]:
    """Return every violation found in ``result`` (empty list: the schedule is feasible)."""
    jobs = {job.id: job for job in problem.jobs}
    lines = {line.id: line for line in problem.lines}
    errors: list[str] = []
    seen: dict[str, int] = {}
    for entry in result.jobs:
        seen[entry.job] = seen.get(entry.job, 0) + 1
        if entry.job not in jobs:
            errors.append(f"job {entry.job}: not in the problem")
            continue
        errors += _check_job(lines, jobs[entry.job], entry)
    for job_id in jobs:
        if seen.get(job_id, 0) != 1:
            errors.append(f"job {job_id}: scheduled {seen.get(job_id, 0)} times, expected once")
    for line_id in result.sequences:
        if line_id not in lines:
            errors.append(f"line {line_id}: not in the problem")
    for line in problem.lines:
        errors += _check_line(line, jobs, result)
    if not errors:
        values = recompute_metrics(problem, result)
        vector = tuple(values[c] for c in problem.objective.criteria)
        if vector != tuple(result.objective_values) or vector[-1] != result.objective:
            errors.append(f"objective {result.objective_values} differs from recomputed {vector}")
    return errors


def recompute_metrics(problem: Problem, result: Result) -> dict[str, int]:
    """Every criterion recomputed from the timed jobs and the problem's changeover rules."""
    jobs = {job.id: job for job in problem.jobs}
    tardiness = late = changeover = makespan = 0
    for entry in result.jobs:
        job = jobs[entry.job]
        makespan = max(makespan, entry.end)
        if job.due is not None and entry.end > job.due:
            tardiness += job.weight * (entry.end - job.due)
            late += 1
    for line in problem.lines:
        prev = None
        for job_id in result.sequences.get(line.id, []):
            changeover += required_changeover(line, jobs, prev, job_id)
            prev = job_id
    return {
        "weighted_tardiness": tardiness,
        "late_jobs": late,
        "changeover": changeover,
        "makespan": makespan,
        "tardiness": tardiness + problem.objective.changeover_weight * changeover,
    }
