"""Shared helpers: random small problems and the benchmark data folder."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from coordination.scheduling import Job, Line, Objective, Problem, Window

REPO = Path(__file__).resolve().parents[2]
# shared/ lies beside the clone (as in CI); SCHEDULING_DATA points elsewhere when it does not.
DATA_CANDIDATES = [
    Path(p)
    for p in (os.environ.get("SCHEDULING_DATA"), REPO.parent / "shared/data/scheduling")
    if p
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    for path in DATA_CANDIDATES:
        if (path / "orlib_wt/wt40.txt").exists():
            return path
    pytest.skip("benchmark data not found beside the clone (../shared); set SCHEDULING_DATA")


def random_problem(
    seed: int,
    n: int,
    lines: int = 1,
    setups: bool = False,
    windows: bool = False,
    releases: bool = False,
    locked: bool = False,
    objective: Objective | None = None,
) -> Problem:
    """A small random problem with the requested features (brute-forceable for n <= 7)."""
    rng = random.Random(seed)
    line_ids = [f"L{k}" for k in range(lines)]
    families = ["A", "B", "C"]
    jobs = []
    for j in range(n):
        eligible = line_ids if lines == 1 else rng.sample(line_ids, rng.randint(1, lines))
        jobs.append(
            Job(
                f"J{j}",
                {lid: rng.randint(3, 20) for lid in eligible},
                weight=rng.randint(0, 5),
                due=rng.randint(0, 12 * n),
                release=rng.randint(0, 4 * n) if releases else 0,
                family=rng.choice(families),
                resumable=windows and rng.random() < 0.4,
            )
        )
    if locked:
        jobs.append(Job("LOCK", {line_ids[0]: 7}, due=9, locked=True, start=5, family="A"))
    table = None
    if setups:
        table = {a: {b: rng.randint(1, 9) for b in families if b != a} for a in families}
    line_objs = [
        Line(
            lid,
            windows=[Window(25, 31), Window(60, 64)] if windows else (),
            family_changeover=table,
            initial_family="A" if setups else None,
        )
        for lid in line_ids
    ]
    return Problem(jobs, line_objs, objective or Objective())
