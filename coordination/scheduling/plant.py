"""Plant-shaped benchmark instances, generated like the demo plant (``coordination/demo.py``).

Four lines with the demo's families and fill rates, 30-40 open jobs per line, family
changeovers drawn like the demo's matrices (15 min within a family, 40-75 min across, +30
min into juice or dairy), quantities of 6 000-48 000 units, due dates 8-240 h ahead, weights
from the customer tier (strategic 3, key 2, standard 1, drawn 3:5:7 as for open orders) times
the urgency (6 - priority, priority 1-5 drawn 1:3:6:3:1). Each line's first job is running
(locked at the start), and one line is down for 2 h. Seeded and reproducible; plain Python,
no Django (the families are mirrored here, not imported from the Django demo).
"""

from __future__ import annotations

import math
import random

from .model import Job, Line, Objective, Problem, Window

#: line -> {family: units per hour}, as in coordination.demo.LINES
LINES = {
    "L1": {"PET-WATER": 6000, "PET-CSD": 5000, "PET-JUICE": 3500},
    "L2": {"CAN-CSD": 9000, "CAN-ENERGY": 7000},
    "L3": {"GLS-JUICE": 2500, "GLS-PREMIUM": 2000},
    "L4": {"CTN-JUICE": 4000, "CTN-DAIRY": 3000},
}
TIER_WEIGHT = {1: 3, 2: 2, 3: 1}
TIER_MIX = {1: 3 * 3, 2: 5 * 5, 3: 7 * 7}  # demo: 3 / 5 / 7 customers per tier, drawn 3 / 5 / 7
DOWNTIME = (240, 360)  # minutes from now: one line down for 2 h


def changeover_matrix(rng: random.Random, families: list[str]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for a in families:
        table[a] = {}
        for b in families:
            if a == b:
                minutes = 15
            else:
                minutes = rng.choice([40, 45, 60, 75])
                if b.endswith(("JUICE", "DAIRY")):
                    minutes += 30
            table[a][b] = minutes
    return table


def plant_problem(seed: int) -> Problem:
    """One plant-shaped instance; the same seed gives the same problem."""
    rng = random.Random(seed)
    jobs: list[Job] = []
    lines: list[Line] = []
    down = rng.choice(list(LINES))
    tiers = list(TIER_MIX)
    for code, rates in LINES.items():
        families = list(rates)
        table = changeover_matrix(rng, families)
        count = rng.randint(30, 40)
        running = rng.choice(families)
        minutes = math.ceil(rng.randrange(6, 49) * 1000 / rates[running] * 60)
        jobs.append(
            Job(f"{code}-RUN", {code: max(1, minutes - 70)}, weight=1, due=None,
                family=running, locked=True, start=0, line=code, resumable=True)
        )  # fmt: skip
        for k in range(count):
            family = rng.choice(families)
            quantity = rng.randrange(6, 49) * 1000
            tier = rng.choices(tiers, weights=[TIER_MIX[t] for t in tiers])[0]
            priority = rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 6, 3, 1])[0]
            jobs.append(
                Job(
                    f"{code}-{k + 1:02d}",
                    {code: math.ceil(quantity / rates[family] * 60)},
                    weight=TIER_WEIGHT[tier] * (6 - priority),
                    due=rng.randrange(8, 240) * 60,
                    family=family,
                )
            )
        windows = [Window(*DOWNTIME, reason="downtime")] if code == down else []
        lines.append(Line(code, windows, family_changeover=table))
    return Problem(jobs, lines, Objective("tardiness"))
