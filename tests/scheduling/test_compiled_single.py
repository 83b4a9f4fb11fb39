"""The compiled single-line search with setups: incremental move costs against the exact
decoder (property test), local minima, brute force for n <= 8, determinism."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.scheduling import (
    Job,
    Line,
    Objective,
    Problem,
    check_schedule,
    compiled_single,
    solve,
    solver,
)
from coordination.scheduling.instance import build_instance, line_values

from .conftest import random_problem
from .test_bruteforce import brute_force

OBJECTIVES = {
    "tardiness": Objective(),
    "changeover": Objective("changeover"),
    "late_first": Objective("tardiness", lexicographic=("late_jobs",)),
    "with_changeover_weight": Objective("tardiness", changeover_weight=3),
}


@st.composite
def one_line_problems(draw) -> Problem:
    """One line, job-pair setups (asymmetric, zero allowed), weights 0-5, due dates from 0."""
    n = draw(st.integers(2, 10))
    jobs = [
        Job(
            f"J{j}",
            {"L": draw(st.integers(1, 20))},
            weight=draw(st.integers(0, 5)),
            due=draw(st.integers(0, 15 * n)),
        )
        for j in range(n)
    ]
    ids = [None] + [job.id for job in jobs]
    setups = {(a, b.id): draw(st.integers(0, 9)) for a in ids for b in jobs if a != b.id}
    objective = OBJECTIVES[draw(st.sampled_from(sorted(OBJECTIVES)))]
    return Problem(jobs, [Line("L", job_changeover=setups)], objective)


def exact_cost(inst, sm, order) -> int:
    """Search cost of ``order`` from the exact decoder (``instance.line_values``)."""
    tardiness, late, changeover, _ = line_values(inst, 0, list(order))
    return sm.ct * tardiness + sm.cl * late + sm.cs * changeover


def moved(order: list[int], kind: int, s: int, t: int, length: int) -> list[int]:
    """The order after a move as ``compiled_single.move_delta`` names it."""
    if kind == 2:
        out = list(order)
        out[s], out[t] = out[t], out[s]
        return out
    block, rest = order[s : s + length], order[:s] + order[s + length :]
    at = t - length + 1 if kind in (0, 3) else t
    return rest[:at] + block + rest[at:]


def every_move(n: int, longest: int):
    """(kind, s, t, length) of every block move up to ``longest`` jobs and every swap."""
    for length in range(1, min(longest, n - 1) + 1):
        for s in range(n - length + 1):
            for t in range(s + length, n):
                yield 0, s, t, length
            for t in range(s):
                yield 1, s, t, length
    for s, t in itertools.combinations(range(n), 2):
        if t >= s + 2:
            yield 2, s, t, 1


def single(problem: Problem):
    inst = build_instance(problem)
    sm = solver.single_machine(inst)
    assert sm is not None
    return inst, sm, compiled_single.arrays(sm)[:5]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=one_line_problems(), data=st.data())
def test_move_costs_equal_the_exact_decoder(problem: Problem, data) -> None:
    """Every move kind, scanned (kinds 0-2) and single-target (kinds 3-4, the near-neighbour
    blocks), on random orders: the incremental change equals the exact decoder's."""
    inst, sm, arrays = single(problem)
    n = inst.n
    order = data.draw(st.permutations(list(range(n))))
    seq = np.array(order, dtype=np.int64)
    before = exact_cost(inst, sm, order)
    assert compiled_single.order_cost(*arrays, seq) == before
    moves = list(every_move(n, n - 1))
    for kind, s, t, length in data.draw(st.lists(st.sampled_from(moves), min_size=1, max_size=8)):
        after = moved(order, kind, s, t, length)
        expected = exact_cost(inst, sm, after) - before
        delta, _ = compiled_single.move_delta(*arrays, seq, kind, s, t, length)
        assert delta == expected, (kind, s, t, length)
        if kind < 2:  # the same move through the single-target evaluation
            delta, _ = compiled_single.move_delta(*arrays, seq, kind + 3, s, t, length)
            assert delta == expected, (kind + 3, s, t, length)


@pytest.mark.parametrize("seed", range(12))
def test_descent_ends_where_no_short_move_improves(seed: int) -> None:
    """The lazy bounds never discard an improving move: after a descent no block move of up
    to three jobs and no swap lowers the exact cost."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 16))
    jobs = [
        Job(f"J{j}", {"L": int(rng.integers(1, 30))}, weight=int(rng.integers(0, 6)),
            due=int(rng.integers(0, 12 * n)))
        for j in range(n)
    ]  # fmt: skip
    ids = [None] + [job.id for job in jobs]
    setups = {(a, b.id): int(rng.integers(0, 12)) for a in ids for b in jobs if a != b.id}
    objective = list(OBJECTIVES.values())[seed % len(OBJECTIVES)]
    inst, sm, arrays = single(Problem(jobs, [Line("L", job_changeover=setups)], objective))
    pred, succ = compiled_single.neighbour_lists(arrays[3], n, compiled_single.NEAR)
    seq = rng.permutation(n).astype(np.int64)
    state = np.array([seed + 1], dtype=np.uint64)
    cost = compiled_single.descend_order(
        *arrays, pred, succ, compiled_single.NEIGHBOURHOODS, seq, state
    )
    order = [int(j) for j in seq]
    assert cost == exact_cost(inst, sm, order)
    for move in every_move(n, 3):
        assert exact_cost(inst, sm, moved(order, *move)) >= cost, move


@pytest.mark.parametrize("objective", ["tardiness", "changeover", "late_first"])
@pytest.mark.parametrize("n", [6, 8])
def test_compiled_single_line_reaches_brute_force(monkeypatch, objective: str, n: int) -> None:
    """n <= 8 with family setups, the compiled search alone (no CP-SAT), a kick budget."""
    monkeypatch.setattr(solver, "CPSAT_MAX_JOBS", 0)
    for seed in range(2 if n == 8 else 4):
        problem = random_problem(seed, n, setups=True, objective=OBJECTIVES[objective])
        result = solve(problem, time_limit=30, seed=seed, iterations=60)
        assert result.method == "single-line compiled ILS/VND"
        assert check_schedule(problem, result) == []
        assert result.objective_values == brute_force(problem)


def test_job_pair_setups_reach_brute_force(monkeypatch) -> None:
    """Asymmetric job-pair setups (the wtsds shape), n = 8."""
    monkeypatch.setattr(solver, "CPSAT_MAX_JOBS", 0)
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        jobs = [
            Job(f"J{j}", {"L": int(rng.integers(5, 15))}, weight=int(rng.integers(0, 10)),
                due=int(rng.integers(20, 90)))
            for j in range(8)
        ]  # fmt: skip
        ids = [None] + [job.id for job in jobs]
        setups = {(a, b.id): int(rng.integers(0, 8)) for a in ids for b in jobs if a != b.id}
        problem = Problem(jobs, [Line("L", job_changeover=setups)], Objective())
        result = solve(problem, time_limit=30, seed=seed, iterations=60)
        assert result.method == "single-line compiled ILS/VND"
        assert result.objective_values == brute_force(problem)


def test_deterministic_for_a_seed_and_a_budget() -> None:
    problem = random_problem(11, 40, setups=True)
    runs = [solve(problem, time_limit=60, seed=4, iterations=25) for _ in range(2)]
    assert runs[0].method == "single-line compiled ILS/VND"
    assert runs[0].sequences == runs[1].sequences
    assert runs[0].iterations == runs[1].iterations == 25
    other = solve(problem, time_limit=60, seed=5, iterations=25)
    assert check_schedule(problem, other) == []


def test_time_limit_bounds_the_search() -> None:
    """Without a budget the deadline stops it (the wall time is measured in the benchmark;
    here a generous guard)."""
    compiled_single.warm_up()
    problem = random_problem(12, 60, setups=True)
    began = time.perf_counter()
    result = solve(problem, time_limit=0.5, seed=0)
    assert time.perf_counter() - began < 5
    assert result.iterations > 0
    assert check_schedule(problem, result) == []
