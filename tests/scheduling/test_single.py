"""The NumPy fast path: incremental move evaluation and its local search without CP-SAT
(with setups one plain line goes to the compiled single-line search)."""

from __future__ import annotations

import numpy as np
import pytest

from coordination.scheduling import Objective, check_schedule, solve, solver
from coordination.scheduling.single import BIG, KINDS, SingleMachine

from .conftest import random_problem
from .test_bruteforce import brute_force


@pytest.mark.parametrize("trial", range(40))
def test_move_deltas_equal_true_cost_change(trial: int) -> None:
    rng = np.random.default_rng(trial)
    n = int(rng.integers(2, 9))
    p, w, d = rng.integers(1, 20, n), rng.integers(0, 5, n), rng.integers(0, 60, n)
    setup = rng.integers(0, 10, (n + 1, n + 1)) * (trial % 2)
    setup[:, n] = 0
    sm = SingleMachine(
        np.append(p, 0), np.append(w, 0), np.append(d, 0), setup,
        ct=1, cl=3 * (trial % 3 == 0), cs=2 * (trial % 4 == 0),
    )  # fmt: skip
    perm = rng.permutation(n)
    before = sm.cost(perm)
    deltas = sm.move_deltas(perm)
    assert len(deltas) == (len(KINDS) if setup.any() else 3)
    for k, (i, j) in enumerate(zip(sm.left, sm.right, strict=True)):
        for kind, delta in enumerate(deltas):
            name, length = KINDS[kind]
            if (name == "swap" and j == i + 1) or j - i < length:
                assert delta[k] == BIG, (kind, i, j)
                continue
            after = sm.apply(perm, kind, int(i), int(j))
            assert sorted(after) == sorted(perm)
            assert sm.cost(after) - before == delta[k], (kind, i, j)


@pytest.mark.parametrize("setups", [False, True])
@pytest.mark.parametrize(
    "objective", [Objective(), Objective("changeover"), Objective(lexicographic=("late_jobs",))]
)
def test_fast_path_alone_reaches_brute_force(monkeypatch, objective, setups: bool) -> None:
    monkeypatch.setattr(solver, "CPSAT_MAX_JOBS", 0)
    for seed in range(3):
        problem = random_problem(seed, 7, setups=setups, objective=objective)
        result = solve(problem, time_limit=5, seed=seed, iterations=40)
        expected = "single-line compiled ILS/VND" if setups else "single-line dynasearch ILS"
        assert result.method == expected
        assert check_schedule(problem, result) == []
        assert result.objective_values == brute_force(problem)
