"""CP-SAT model: improves an incumbent and proves bounds on small instances.

One optional interval per (job, eligible line), AddNoOverlap per line with the windows as
fixed intervals, and an AddCircuit per line whose arcs carry the changeovers. The model is a
relaxation of the decoder's semantics (the changeover gap is not kept out of windows), so its
bound is valid, except that resumable jobs are modelled as not crossing windows: then no
bound is reported. Solutions are re-decoded, so whatever it returns is exactly feasible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .instance import Instance, decode, metrics

Orders = list[list[int]]


@dataclass
class CpOutcome:
    orders: Orders | None
    bound: int | None
    optimal: bool


def _horizon(inst: Instance) -> int:
    longest = sum(max(inst.proc[k][j] for k in inst.eligible[j]) for j in range(inst.n))
    setups = sum(max(max(row) for row in inst.setup[k]) for k in range(inst.m)) * inst.n
    windows = sum(we - ws for ws_list in inst.windows for ws, we in ws_list)
    latest = max(
        [*inst.available, *inst.release, *(s for line in inst.locked for s, _ in line)],
        default=0,
    )
    last_window = max((we for line in inst.windows for _, we in line), default=0)
    return max(latest, last_window) + longest + setups + windows + 1


class _Model:
    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.model = cp_model.CpModel()
        self.horizon = _horizon(inst)
        self.end = [self.model.NewIntVar(0, self.horizon, f"end{j}") for j in range(inst.n)]
        self.start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.present: dict[tuple[int, int], cp_model.IntVar] = {}
        self.arcs: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.changeover_terms: list[tuple[int, cp_model.IntVar]] = []
        self._jobs()
        for line in range(inst.m):
            self._line(line)

    def _jobs(self) -> None:
        inst, model = self.inst, self.model
        locked = {job: (line, s) for line in range(inst.m) for s, job in inst.locked[line]}
        for j in range(inst.n):
            lits = []
            for k in inst.eligible[j]:
                lo = max(inst.release[j], inst.available[k])
                start = model.NewIntVar(lo, self.horizon, f"s{j}_{k}")
                lit = model.NewBoolVar(f"x{j}_{k}")
                if j in locked:
                    model.Add(lit == int(locked[j][0] == k))
                    if locked[j][0] == k:
                        model.Add(start == locked[j][1])
                model.Add(self.end[j] == start + inst.proc[k][j]).OnlyEnforceIf(lit)
                self.start[j, k], self.present[j, k] = start, lit
                lits.append(lit)
            model.AddExactlyOne(lits)

    def _line(self, line: int) -> None:
        inst, model = self.inst, self.model
        jobs = [j for j in range(inst.n) if (j, line) in self.present]
        intervals = [
            model.NewOptionalFixedSizeIntervalVar(
                self.start[j, line], inst.proc[line][j], self.present[j, line], f"i{j}_{line}"
            )
            for j in jobs
        ]
        for ws, we in inst.windows[line]:
            intervals.append(model.NewFixedSizeIntervalVar(ws, we - ws, f"w{line}_{ws}"))
        model.AddNoOverlap(intervals)
        setup = inst.setup[line]
        if not any(any(row) for row in setup):
            return
        depot = inst.n
        arcs = [(depot, depot, model.NewBoolVar(f"empty{line}"))]
        for a in jobs:
            arcs.append((a, a, self.present[a, line].Not()))
            for b in [depot, *jobs]:
                if a == b:
                    continue
                lit = model.NewBoolVar(f"a{line}_{a}_{b}")
                arcs.append((a, b, lit))
                self.arcs[line, a, b] = lit
                if b == depot:
                    continue
                model.Add(self.start[b, line] >= self.end[a] + setup[a][b]).OnlyEnforceIf(lit)
                self.changeover_terms.append((setup[a][b], lit))
            lit = model.NewBoolVar(f"a{line}_start_{a}")
            arcs.append((depot, a, lit))
            self.arcs[line, depot, a] = lit
            model.Add(self.start[a, line] >= inst.available[line] + setup[depot][a]).OnlyEnforceIf(
                lit
            )
            self.changeover_terms.append((setup[depot][a], lit))
        index = {job: k + 1 for k, job in enumerate(jobs)}
        index[depot] = 0
        model.AddCircuit([(index[a], index[b], lit) for a, b, lit in arcs])

    def criterion(self, name: str) -> cp_model.LinearExpr:
        inst, model = self.inst, self.model
        changeover = sum(c * lit for c, lit in self.changeover_terms if c)
        if name == "makespan":
            makespan = model.NewIntVar(0, self.horizon, "makespan")
            model.AddMaxEquality(makespan, self.end)
            return makespan
        if name == "changeover":
            return changeover
        due = [min(d, self.horizon + 1) for d in inst.due]
        if name == "late_jobs":
            late = [model.NewBoolVar(f"late{j}") for j in range(inst.n)]
            for j in range(inst.n):
                model.Add(self.end[j] <= due[j]).OnlyEnforceIf(late[j].Not())
            return sum(late)
        tardy = []
        for j in range(inst.n):
            if inst.weight[j] and due[j] <= self.horizon:
                t = model.NewIntVar(0, self.horizon, f"t{j}")
                model.Add(t >= self.end[j] - due[j])
                tardy.append(inst.weight[j] * t)
        weight = inst.problem.objective.changeover_weight
        return sum(tardy) + weight * changeover

    def hint(self, orders: Orders) -> None:
        inst = self.inst
        timing = decode(inst, orders)
        for (j, k), lit in self.present.items():
            self.model.AddHint(lit, int(timing.line_of[j] == k))
            if timing.line_of[j] == k:
                self.model.AddHint(self.start[j, k], timing.start[j])
        for j in range(inst.n):
            self.model.AddHint(self.end[j], timing.end[j])
        follows = {}
        for line, seq in enumerate(timing.sequences):
            prev = inst.n
            for job in seq:
                follows[line, prev, job] = 1
                prev = job
            if seq:
                follows[line, prev, inst.n] = 1
        for key, lit in self.arcs.items():
            self.model.AddHint(lit, follows.get(key, 0))


def improve(
    inst: Instance,
    incumbent: Orders,
    deadline: float,
    seed: int,
    deterministic_time: float | None,
) -> CpOutcome:
    """Search from the incumbent until the deadline; earlier criteria may not get worse."""
    seconds = deadline - time.perf_counter()
    if seconds <= 0.01:
        return CpOutcome(None, None, False)
    m = _Model(inst)
    criteria = inst.problem.objective.criteria
    current = metrics(inst, decode(inst, incumbent))
    for name in criteria[:-1]:
        m.model.Add(m.criterion(name) <= current[name])
    m.model.Minimize(m.criterion(criteria[-1]))
    m.hint(incumbent)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1 if deterministic_time is not None else 2
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = deterministic_time
    status = solver.Solve(m.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpOutcome(None, None, False)
    orders = _orders(inst, m, solver)
    exact = len(criteria) == 1 and not _has_resumable_crossing(inst)
    bound = round(solver.BestObjectiveBound()) if exact else None
    return CpOutcome(orders, bound, exact and status == cp_model.OPTIMAL)


def _has_resumable_crossing(inst: Instance) -> bool:
    return any(
        inst.resumable[j] and any(inst.windows[k] for k in inst.eligible[j]) for j in range(inst.n)
    )


def _orders(inst: Instance, m: _Model, solver: cp_model.CpSolver) -> Orders:
    locked = {job for line in inst.locked for _, job in line}
    orders: Orders = []
    for line in range(inst.m):
        jobs = [
            (solver.Value(m.start[j, line]), j)
            for j in range(inst.n)
            if (j, line) in m.present and solver.Value(m.present[j, line]) and j not in locked
        ]
        orders.append([j for _, j in sorted(jobs)])
    return orders
