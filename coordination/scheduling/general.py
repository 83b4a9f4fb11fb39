"""General path: several lines, eligibility, releases, windows and locked jobs.

Searches per-line orders of the free jobs with the exact decoder as evaluator. A move only
changes one or two lines, so only those lines are re-decoded (per-line values are cached).
Planner-sized problems (tens of jobs, a few lines) need no vectorisation here; the
benchmark-sized single-line cases go through ``single.py``.
"""

from __future__ import annotations

import random
import time

from .instance import Instance, LineValues, combine, line_values

Orders = list[list[int]]


class Search:
    """Incremental evaluation of per-line orders."""

    def __init__(self, inst: Instance, orders: Orders) -> None:
        self.inst = inst
        self.orders = [list(o) for o in orders]
        self.values = [line_values(inst, k, o) for k, o in enumerate(self.orders)]
        self.by_makespan = "makespan" in inst.problem.objective.criteria
        self.cost = self.key(self.values)

    def key(self, values: list[LineValues]) -> tuple:
        """Objective vector, then a tie-break that guides the search across plateaus.

        Makespan is flat under most moves; comparing the line ends from the largest down
        rewards relieving the critical line. Otherwise shorter lines leave more room later.
        """
        ends = [v[3] for v in values]
        guide = tuple(sorted(ends, reverse=True)) if self.by_makespan else (sum(ends),)
        return (combine(self.inst, values), guide)

    def trial(self, changes: dict[int, list[int]]) -> tuple[tuple, dict[int, LineValues]]:
        """Search key if the given lines took the given orders."""
        new = {k: line_values(self.inst, k, o) for k, o in changes.items()}
        return self.key([new.get(k, v) for k, v in enumerate(self.values)]), new

    def commit(self, changes: dict[int, list[int]], new: dict[int, LineValues], cost) -> None:
        for k, order in changes.items():
            self.orders[k], self.values[k] = order, new[k]
        self.cost = cost

    def locate(self, job: int) -> tuple[int, int]:
        for line, order in enumerate(self.orders):
            if job in order:
                return line, order.index(job)
        raise KeyError(job)

    def best_reinsertion(self, job: int) -> bool:
        """Move ``job`` to its best position on any eligible line; True if that improved."""
        line, pos = self.locate(job)
        source = self.orders[line][:pos] + self.orders[line][pos + 1 :]
        best = None
        for target in self.inst.eligible[job]:
            base = source if target == line else self.orders[target]
            for k in range(len(base) + 1):
                if target == line and k == pos:
                    continue
                changes = {target: [*base[:k], job, *base[k:]]}
                if target != line:
                    changes[line] = source
                cost, new = self.trial(changes)
                if cost < self.cost and (best is None or cost < best[0]):
                    best = (cost, changes, new)
        if best is None:
            return False
        self.commit(best[1], best[2], best[0])
        return True

    def best_swap(self, job: int) -> bool:
        """Swap ``job`` with the best other job whose lines both accept; True if improved."""
        line, pos = self.locate(job)
        where = {j: (k, i) for k, order in enumerate(self.orders) for i, j in enumerate(order)}
        best = None
        for other in self.inst.free:
            if other == job:
                continue
            oline, opos = where[other]
            if line not in self.inst.eligible[other] or oline not in self.inst.eligible[job]:
                continue
            changes = {line: list(self.orders[line])}
            changes.setdefault(oline, list(self.orders[oline]))
            changes[line][pos], changes[oline][opos] = other, job
            cost, new = self.trial(changes)
            if cost < self.cost and (best is None or cost < best[0]):
                best = (cost, changes, new)
        if best is None:
            return False
        self.commit(best[1], best[2], best[0])
        return True

    def descend(self, rng: random.Random, deadline: float) -> None:
        """Reinsertion and swap moves until none improves (or the deadline passes)."""
        improved = True
        while improved and time.perf_counter() < deadline:
            improved = False
            jobs = list(self.inst.free)
            rng.shuffle(jobs)
            for job in jobs:
                if time.perf_counter() >= deadline:
                    return
                if self.best_reinsertion(job) or self.best_swap(job):
                    improved = True


def greedy_orders(inst: Instance, key) -> Orders:
    """List scheduling: jobs by ``key``, each appended to the line where it ends first."""
    orders: Orders = [[] for _ in range(inst.m)]
    for job in sorted(inst.free, key=key):
        best = None
        for line in inst.eligible[job]:
            trial = [*orders[line], job]
            end = line_values(inst, line, trial)[3]
            if best is None or end < best[0]:
                best = (end, line)
        orders[best[1]].append(job)
    return orders


def constructive(inst: Instance) -> Orders:
    """Best of earliest-due-date and weighted-shortest-processing list schedules."""
    return min(constructive_candidates(inst), key=lambda o: Search(inst, o).cost)


def constructive_candidates(inst: Instance) -> list[Orders]:
    """List schedules by earliest due date, weighted shortest processing, earliest release."""
    mean_p = [
        sum(inst.proc[k][j] for k in inst.eligible[j]) / len(inst.eligible[j])
        for j in range(inst.n)
    ]
    rules = [
        lambda j: (inst.due[j], inst.release[j], j),
        lambda j: (-inst.weight[j] / mean_p[j], j),
        lambda j: (inst.release[j], inst.due[j], j),
    ]
    return [greedy_orders(inst, rule) for rule in rules]


def _kick(search: Search, rng: random.Random, strength: int) -> Orders:
    orders = [list(o) for o in search.orders]
    for _ in range(strength):
        job = rng.choice(search.inst.free)
        line = next(k for k, o in enumerate(orders) if job in o)
        orders[line].remove(job)
        target = rng.choice(search.inst.eligible[job])
        orders[target].insert(rng.randint(0, len(orders[target])), job)
    return orders


def iterated_local_search(
    inst: Instance, start: Orders, deadline: float, seed: int, iterations: int | None
) -> tuple[Orders, tuple, int]:
    """Kick, descend, accept if not worse; restart from the best after stale kicks."""
    rng = random.Random(seed)
    current = Search(inst, start)
    current.descend(rng, deadline)
    best_orders, best_cost = [list(o) for o in current.orders], current.cost
    done = stale = 0
    if not inst.free:
        return best_orders, best_cost, done
    while iterations is None or done < iterations:
        if time.perf_counter() >= deadline or not any(best_cost[0]):
            break
        done += 1
        candidate = Search(inst, _kick(current, rng, 1 + rng.randrange(3)))
        candidate.descend(rng, deadline)
        stale += 1
        if candidate.cost < best_cost:
            best_orders, best_cost, stale = [list(o) for o in candidate.orders], candidate.cost, 0
        if candidate.cost <= current.cost:
            current = candidate
        elif stale > 20:
            current, stale = Search(inst, best_orders), 0
    return best_orders, best_cost, done
