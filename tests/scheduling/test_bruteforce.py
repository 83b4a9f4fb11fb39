"""The core against brute force over every order (and line assignment), n <= 7."""

from __future__ import annotations

import itertools

import pytest

from coordination.scheduling import Objective, check_schedule, solve
from coordination.scheduling.instance import build_instance, evaluate

from .conftest import random_problem

OBJECTIVES = {
    "tardiness": Objective(),
    "makespan": Objective("makespan"),
    "changeover": Objective("changeover"),
    "late_first": Objective("tardiness", lexicographic=("late_jobs",)),
}
FEATURES = {
    "plain": {},
    "setups": {"setups": True},
    "windows": {"windows": True, "setups": True},
    "releases": {"releases": True},
    "locked": {"locked": True, "setups": True},
    "two_lines": {"lines": 2, "setups": True, "releases": True},
}


def brute_force(problem) -> tuple[int, ...]:
    """Best objective vector over every split of the free jobs and every order per line."""
    inst = build_instance(problem)
    best = None
    choices = [inst.eligible[j] for j in inst.free]
    for assignment in itertools.product(*choices):
        groups = [
            [j for j, k in zip(inst.free, assignment, strict=True) if k == line]
            for line in range(inst.m)
        ]
        for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
            value = evaluate(inst, [list(o) for o in orders])
            if best is None or value < best:
                best = value
    return best


@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_solve_matches_brute_force(objective: str, feature: str) -> None:
    options = FEATURES[feature]
    n = 5 if options.get("lines") else 7
    for seed in (1, 2):
        problem = random_problem(seed, n, objective=OBJECTIVES[objective], **options)
        result = solve(problem, time_limit=5, seed=seed, iterations=30)
        assert check_schedule(problem, result) == []
        assert result.objective_values == brute_force(problem), (objective, feature, seed)
        if result.lower_bound is not None:
            assert result.lower_bound <= result.objective
