"""check_schedule rejects each kind of infeasible schedule."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from coordination.scheduling import Job, Line, Problem, Window, check_schedule, solve

FAMILIES = {"A": {"B": 5}, "B": {"A": 5}}


@pytest.fixture(scope="module")
def problem() -> Problem:
    jobs = [
        Job("J1", {"L1": 10}, due=20, family="A"),
        Job("J2", {"L1": 10, "L2": 12}, due=30, release=3, family="B"),
        Job("J3", {"L1": 8}, due=25, family="B", resumable=True),
        Job("J4", {"L2": 6}, due=15, family="A"),
        Job("RUN", {"L2": 4}, locked=True, start=0, family="A"),
    ]
    lines = [
        Line("L1", windows=[Window(40, 50)], family_changeover=FAMILIES, initial_family="A"),
        Line("L2", family_changeover=FAMILIES, initial_family="A"),
    ]
    return Problem(jobs, lines)


@pytest.fixture(scope="module")
def feasible(problem):
    result = solve(problem, time_limit=2, seed=0, iterations=5)
    assert check_schedule(problem, result) == []
    return result


def _shift(result, job: str, delta: int):
    broken = copy.deepcopy(result)
    broken.jobs = [
        replace(e, start=e.start + delta, end=e.end + delta) if e.job == job else e
        for e in broken.jobs
    ]
    return broken


def _entry(result, job: str):
    return next(e for e in result.jobs if e.job == job)


def test_overlap(problem, feasible) -> None:
    second = feasible.sequences["L1"][1]
    first = _entry(feasible, feasible.sequences["L1"][0])
    delta = first.end - 1 - _entry(feasible, second).start
    errors = check_schedule(problem, _shift(feasible, second, delta))
    assert any("overlaps" in e or "changeover" in e for e in errors)


def test_missing_changeover(problem, feasible) -> None:
    broken = copy.deepcopy(feasible)
    assert broken.changeovers
    broken.changeovers = []
    assert any("missing changeover" in e for e in check_schedule(problem, broken))


def test_job_in_window(problem) -> None:
    result = solve(problem, time_limit=2, seed=0, iterations=5)
    broken = copy.deepcopy(result)
    broken.jobs = [replace(e, start=45, end=55) if e.job == "J1" else e for e in broken.jobs]
    assert any("window" in e for e in check_schedule(problem, broken))


def test_resumable_may_span_window_but_not_start_in_it(problem) -> None:
    solo = Problem([Job("J3", {"L1": 8}, resumable=True)], [Line("L1", windows=[Window(4, 10)])])
    result = solve(solo, time_limit=1, seed=0, iterations=1)
    assert check_schedule(solo, result) == []
    broken = copy.deepcopy(result)
    broken.jobs = [replace(broken.jobs[0], start=5, end=13)]
    assert any("window" in e for e in check_schedule(solo, broken))


def test_release(problem, feasible) -> None:
    broken = copy.deepcopy(feasible)
    broken.jobs = [replace(e, start=1, end=11) if e.job == "J2" else e for e in broken.jobs]
    assert any("release" in e for e in check_schedule(problem, broken))


def test_locked_moved(problem, feasible) -> None:
    errors = check_schedule(problem, _shift(feasible, "RUN", 1))
    assert any("locked" in e for e in errors)


def test_job_missing_and_duplicated(problem, feasible) -> None:
    missing = copy.deepcopy(feasible)
    missing.jobs = [e for e in missing.jobs if e.job != "J1"]
    assert any("J1: scheduled 0 times" in e for e in check_schedule(problem, missing))
    twice = copy.deepcopy(feasible)
    twice.jobs.append(_entry(feasible, "J1"))
    assert any("J1: scheduled 2 times" in e for e in check_schedule(problem, twice))


def test_ineligible_line(problem, feasible) -> None:
    broken = copy.deepcopy(feasible)
    broken.jobs = [replace(e, line="L2") if e.job == "J1" else e for e in broken.jobs]
    assert any("not eligible" in e for e in check_schedule(problem, broken))


def test_wrong_duration_and_objective(problem, feasible) -> None:
    short = copy.deepcopy(feasible)
    short.jobs = [replace(e, end=e.end - 1) if e.job == "J4" else e for e in short.jobs]
    assert any("processing requires" in e for e in check_schedule(problem, short))
    wrong = copy.deepcopy(feasible)
    wrong.objective += 1
    assert any("recomputed" in e for e in check_schedule(problem, wrong))
