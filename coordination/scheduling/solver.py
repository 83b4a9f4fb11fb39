"""Entry point of the core: ``solve(problem, time_limit, seed, iterations)``.

Anytime: a constructive rule gives a first answer at once, iterated local search improves it,
CP-SAT (warm-started from the local search's best) improves further and proves bounds on
small instances. Deterministic for a seed and an iteration budget (CP-SAT then runs on one
worker with a deterministic time budget); the wall-clock limit is only an upper bound.
"""

from __future__ import annotations

import time

import numpy as np

from . import compiled, compiled_single, cpsat, general, single
from .checker import check_schedule
from .explain import explain
from .instance import Instance, build_instance, evaluate, free_orders, to_result
from .model import Problem, Result

#: Above this many jobs CP-SAT rarely helps within seconds; the local search keeps the time.
CPSAT_MAX_JOBS = 20
#: Deterministic-time budget of CP-SAT per local-search iteration when iterations are given.
CPSAT_DETERMINISTIC_PER_ITERATION = 0.01
#: Share of the time the local search gets when CP-SAT follows: on small instances it
#: converges fast, and CP-SAT needs the rest to close the gap and prove optimality.
LOCAL_SEARCH_SHARE_WITH_CPSAT = 0.3
#: Share of the local search's time the compiled search gets on small cases (the general
#: ILS the rest).
COMPILED_SHARE_SMALL = 0.5
#: Share of the time limit kept for decoding, explaining and checking the result.
POSTPROCESS_RESERVE = 0.1
_COEFFICIENTS = {  # (weighted tardiness, late jobs, setups) per criterion on one line
    "late_jobs": (0, 1, 0),
    "makespan": (0, 0, 1),
    "changeover": (0, 0, 1),
}


def _single_line_coefficients(inst: Instance, setup: np.ndarray) -> tuple[int, int, int] | None:
    """Scalarise the lexicographic criteria for the fast path; None if int64 would overflow."""
    objective = inst.problem.objective
    horizon = sum(inst.proc[0]) + inst.n * int(setup.max(initial=0))
    lowest_due = min([d - inst.available[0] for d in inst.due], default=0)
    bounds = {
        "tardiness": sum(inst.weight) * (horizon + max(0, -lowest_due))
        + objective.changeover_weight * horizon,
        "late_jobs": inst.n,
        "makespan": horizon,
        "changeover": horizon,
    }
    coefficient = [0, 0, 0]
    scale = 1
    for name in reversed(objective.criteria):
        part = _COEFFICIENTS.get(name, (1, 0, objective.changeover_weight))
        coefficient = [c + scale * x for c, x in zip(coefficient, part, strict=True)]
        scale *= bounds[name] + 1
    return tuple(coefficient) if scale < 2**60 else None


def single_machine(inst: Instance) -> single.SingleMachine | None:
    """The fast-path arrays when the problem is one plain line, else None."""
    if inst.m != 1 or inst.windows[0] or inst.locked[0]:
        return None
    if max(inst.release, default=0) > inst.available[0]:
        return None
    setup = inst.setup_array(0)
    setup[:, inst.n] = 0
    coefficients = _single_line_coefficients(inst, setup)
    if coefficients is None:
        return None
    ct, cl, cs = coefficients
    due = np.array(inst.due, dtype=np.int64) - inst.available[0]
    return single.SingleMachine(
        p=np.array([*inst.proc[0], 0], dtype=np.int64),
        w=np.array([*inst.weight, 0], dtype=np.int64),
        d=np.append(due, 0),
        setup=setup,
        ct=ct,
        cl=cl,
        cs=cs,
    )


def _local_search(
    inst: Instance, deadline: float, seed: int, iterations: int | None
) -> tuple[list[list[int]], int, str, bool]:
    """Constructive start + iterated local search; (orders, iterations, method, proven)."""
    sm = single_machine(inst)
    if sm is not None and sm.has_setups:
        # One plain line with setups: the compiled single-line search (wtsds at 1 s: from
        # 12-17 % mean gap with the NumPy search to the figures in bench/SEQUENCING.md).
        start, _ = single.constructive(sm)
        best, cost, done = compiled_single.search(
            sm, [start], deadline, seed, iterations, compiled.family_ids(inst)
        )
        return [[int(j) for j in best]], done, "single-line compiled ILS/VND", cost == 0
    if sm is not None:
        # One plain line without setups: exact dynasearch over the vectorised NumPy moves.
        start, _ = single.constructive(sm)
        best, cost, done = single.iterated_local_search(sm, start, deadline, seed, iterations)
        return [[int(j) for j in best]], done, "single-line dynasearch ILS", cost == 0
    arrays = compiled.problem_arrays(inst)
    if arrays is not None and len(inst.free) <= CPSAT_MAX_JOBS:
        # Small cases: the compiled search first (thousands of kicks a second, so a loaded
        # machine still gets a good incumbent: Vallada-Ruiz small 13/13), then the general
        # ILS from its best (it matched brute force within 30 kicks where the compiled one
        # occasionally needs more, late-jobs-first with windows); CP-SAT follows both.
        now = time.perf_counter()
        half = now + COMPILED_SHARE_SMALL * max(deadline - now, 0.0)
        start = general.constructive(inst)
        orders, _, done = compiled.search(arrays, [start], half, seed, iterations)
        orders, cost, more = general.iterated_local_search(inst, orders, deadline, seed, iterations)
        return orders, done + more, "compiled ILS/VND + general ILS", not any(cost[0])
    if arrays is not None:
        # Up to CPSAT_MAX_JOBS the general ILS is fast enough and CP-SAT follows it; its
        # random-order first-improvement descent matched brute force there within 30 kicks,
        # where the compiled search occasionally needs more (late-jobs-first with windows).
        # One start: descending all three list schedules used the whole second on the
        # plant-shaped set (140 jobs) before the first kick.
        start = general.constructive(inst)
        orders, _, done = compiled.search(arrays, [start], deadline, seed, iterations)
        return orders, done, "compiled ILS/VND", not any(evaluate(inst, orders))
    start = general.constructive(inst)
    orders, cost, done = general.iterated_local_search(inst, start, deadline, seed, iterations)
    return orders, done, "general ILS", not any(cost[0])


def solve(
    problem: Problem, time_limit: float = 10.0, seed: int = 0, iterations: int | None = None
) -> Result:
    """Best schedule found within ``time_limit`` seconds (and ``iterations`` kicks if given).

    Raises ProblemError on invalid input. The returned schedule has passed
    ``check_schedule``; ``moves`` explains the differences to ``problem.baseline`` (or, if
    there is none, to the earliest-due-date list schedule).
    """
    began = time.perf_counter()
    budget = time_limit - min(POSTPROCESS_RESERVE * time_limit, 0.05)
    deadline = began + budget
    inst = build_instance(problem)
    use_cp = inst.n <= CPSAT_MAX_JOBS
    ls_deadline = began + budget * (LOCAL_SEARCH_SHARE_WITH_CPSAT if use_cp else 1.0)
    orders, done, method, proven = _local_search(inst, ls_deadline, seed, iterations)
    bound = 0 if proven else None
    if use_cp and not proven:
        det = None if iterations is None else CPSAT_DETERMINISTIC_PER_ITERATION * (iterations + 1)
        outcome = cpsat.improve(inst, orders, deadline, seed, det)
        if outcome.orders is not None and evaluate(inst, outcome.orders) < evaluate(inst, orders):
            orders = outcome.orders
        bound, proven = outcome.bound, outcome.optimal
        method += " + CP-SAT"
    result = to_result(inst, orders, method=method, iterations=done)
    result.lower_bound = bound if len(problem.objective.criteria) == 1 else None
    result.proven_optimal = (
        result.lower_bound is not None and result.lower_bound >= result.objective
    )
    result.moves = explain(inst, _baseline(inst), orders)
    errors = check_schedule(problem, result)
    if errors:
        raise RuntimeError(f"internal error, infeasible schedule: {errors[:3]}")
    result.seconds = time.perf_counter() - began
    return result


def _baseline(inst: Instance) -> list[list[int]]:
    if inst.problem.baseline is not None:
        orders = free_orders(inst, dict(inst.problem.baseline))
        missing = set(inst.free) - {j for o in orders for j in o}
        for job in sorted(missing):
            orders[inst.eligible[job][0]].append(job)
        return orders
    return general.greedy_orders(inst, key=lambda j: (inst.due[j], inst.release[j], j))
