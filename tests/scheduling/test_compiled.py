"""The compiled ILS/VND: incremental move costs against the exact decoder, brute force with
setups, determinism."""

from __future__ import annotations

import random
import time

import pytest

from coordination.scheduling import (
    Job,
    Line,
    Problem,
    Window,
    check_schedule,
    compiled,
    solve,
)
from coordination.scheduling.instance import build_instance, evaluate, line_values

from .conftest import random_problem
from .test_bruteforce import OBJECTIVES, brute_force

FEATURES = {
    "setups": {"setups": True},
    "windows": {"setups": True, "windows": True},
    "releases": {"setups": True, "releases": True},
    "two_lines": {"lines": 2, "setups": True, "windows": True, "releases": True},
    "three_lines": {"lines": 3, "setups": True},
}


def exact_cost(inst, arrays, orders) -> int:
    """Search cost of ``orders`` from the exact decoder (``instance.line_values``)."""
    ct, cl, cs, cm, guide = (int(x) for x in arrays.coef)
    values = [line_values(inst, k, order) for k, order in enumerate(orders)]
    scalar = sum(ct * v[0] + cl * v[1] + cs * v[2] for v in values)
    scalar += cm * max(v[3] for v in values)
    return scalar if guide == 1 else guide * scalar + sum(v[3] for v in values)


def random_orders(inst, rng: random.Random) -> list[list[int]]:
    orders: list[list[int]] = [[] for _ in range(inst.m)]
    for job in inst.free:
        orders[rng.choice(inst.eligible[job])].append(job)
    for order in orders:
        rng.shuffle(order)
    return orders


def random_move(inst, orders, rng: random.Random) -> tuple[int, ...] | None:
    """(kind, line, i, other line, t, length) as ``compiled.move_cost`` takes it."""
    kind = rng.randrange(4)
    k = rng.randrange(inst.m)
    size = len(orders[k])
    if kind == 0 and size >= 2:
        length = rng.randint(1, min(3, size - 1))
        i = rng.randrange(size - length + 1)
        targets = [t for t in range(size + 1) if not i <= t <= i + length]
        return (0, k, i, k, rng.choice(targets), length) if targets else None
    if kind == 1 and size >= 3:
        i = rng.randrange(size - 2)
        return 1, k, i, k, rng.randrange(i + 2, size), 1
    others = [kb for kb in range(inst.m) if kb != k]
    if not others or not size:
        return None
    kb = rng.choice(others)
    i = rng.randrange(size)
    if kind == 2:
        if kb not in inst.eligible[orders[k][i]]:
            return None
        return 2, k, i, kb, rng.randrange(len(orders[kb]) + 1), 1
    swaps = [j for j, y in enumerate(orders[kb]) if k in inst.eligible[y]]
    if kind == 3 and swaps and kb in inst.eligible[orders[k][i]]:
        a, b = (k, kb) if k < kb else (kb, k)
        ia, ib = (i, rng.choice(swaps)) if k < kb else (rng.choice(swaps), i)
        return 3, a, ia, b, ib, 1
    return None


def moved(orders, move) -> list[list[int]]:
    kind, k, i, kb, t, length = move
    out = [list(o) for o in orders]
    if kind == 0:
        block = out[k][i : i + length]
        rest = out[k][:i] + out[k][i + length :]
        at = t if t < i else t - length
        out[k] = rest[:at] + block + rest[at:]
    elif kind == 1:
        out[k][i], out[k][t] = out[k][t], out[k][i]
    elif kind == 2:
        block = out[k][i : i + length]
        del out[k][i : i + length]
        out[kb][t:t] = block
    else:
        out[k][i], out[kb][t] = out[kb][t], out[k][i]
    return out


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("feature", FEATURES)
def test_incremental_move_cost_equals_exact_decoder(feature: str, objective: str) -> None:
    """Property: for random orders and random moves of every kind, the incremental cost of
    the move equals the cost of the moved orders from the exact decoder."""
    rng = random.Random(f"{feature}-{objective}")
    for seed in range(6):
        problem = random_problem(seed, 14, objective=OBJECTIVES[objective], **FEATURES[feature])
        inst = build_instance(problem)
        arrays = compiled.problem_arrays(inst)
        work = compiled.new_work(inst.m, inst.n, compiled.shift_reach(arrays))
        orders = random_orders(inst, rng)
        seq, ln = compiled.pack(orders, inst.m, inst.n)
        compiled.load(arrays, work, seq, ln)
        for _ in range(60):
            move = random_move(inst, orders, rng)
            if move is None:
                continue
            after = moved(orders, move)
            assert compiled.move_cost(*arrays, *work, *move) == exact_cost(inst, arrays, after)
            assert compiled.apply_move(*arrays, *work, *move) == exact_cost(inst, arrays, after)
            orders = compiled.unpack(work.seq, work.ln)
            assert orders == after


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("feature", FEATURES)
def test_compiled_search_alone_reaches_brute_force(feature: str, objective: str) -> None:
    """n <= 8 with setups (n <= 6 on several lines): the compiled search alone, no CP-SAT."""
    options = FEATURES[feature]
    n = 6 if options.get("lines") else 8
    for seed in (1, 2, 3):
        problem = random_problem(seed, n, objective=OBJECTIVES[objective], **options)
        inst = build_instance(problem)
        arrays = compiled.problem_arrays(inst)
        start: list[list[int]] = [[] for _ in range(inst.m)]
        for j in inst.free:
            start[inst.eligible[j][0]].append(j)
        orders, _, _ = compiled.search(arrays, [start], time.perf_counter() + 60, seed, 200)
        assert evaluate(inst, orders) == brute_force(problem), (feature, objective, seed)


def test_leading_locked_job_is_exact() -> None:
    """A running job at the line start: the compiled search applies and stays exact."""
    jobs = [
        Job("RUN", {"L1": 30}, due=20, family="A", locked=True, start=0, line="L1"),
        *(Job(f"J{j}", {"L1": 10 + j, "L2": 12}, weight=1 + j % 3, due=25 * j, family="AB"[j % 2])
          for j in range(7)),
    ]  # fmt: skip
    table = {"A": {"B": 15}, "B": {"A": 20}}
    lines = [
        Line("L1", family_changeover=table),
        Line("L2", [Window(30, 50)], family_changeover=table, initial_family="A"),
    ]
    problem = Problem(jobs, lines)
    inst = build_instance(problem)
    assert compiled.problem_arrays(inst) is not None
    start = [[j for j in inst.free if j % 2], [j for j in inst.free if not j % 2]]
    orders, _, _ = compiled.search(
        compiled.problem_arrays(inst), [start], time.perf_counter() + 60, 0, 200
    )
    assert evaluate(inst, orders) == brute_force(problem)
    result = solve(problem, time_limit=5, seed=0, iterations=40)
    assert check_schedule(problem, result) == []


def test_deterministic_for_seed_and_iterations() -> None:
    problem = random_problem(11, 40, lines=3, setups=True, windows=True, releases=True)
    first = solve(problem, time_limit=60, seed=4, iterations=25)
    second = solve(problem, time_limit=60, seed=4, iterations=25)
    assert first.method == "compiled ILS/VND"
    assert first.sequences == second.sequences
    assert first.iterations == second.iterations == 25
