"""The plant-shaped benchmark: seeded, shaped like the demo plant, runnable by the command."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from coordination.scheduling.instance import build_instance
from coordination.scheduling.plant import LINES, plant_problem

from .test_bench import _command


def test_plant_instances_are_seeded_and_demo_shaped() -> None:
    assert plant_problem(3) == plant_problem(3)
    assert plant_problem(3) != plant_problem(4)
    problem = plant_problem(3)
    build_instance(problem)  # valid: the running jobs fit at the start, one window
    per_line = Counter(next(iter(j.processing)) for j in problem.jobs if not j.locked)
    assert set(per_line) == set(LINES)
    assert all(30 <= count <= 40 for count in per_line.values())
    assert sum(1 for j in problem.jobs if j.locked) == len(LINES)
    assert [len(line.windows) for line in problem.lines].count(1) == 1
    assert {j.family for j in problem.jobs if "L2" in j.processing} <= set(LINES["L2"])
    assert {j.weight for j in problem.jobs if not j.locked} <= {
        tier * (6 - priority) for tier in (1, 2, 3) for priority in range(1, 6)
    }


def test_command_plant_against_an_earlier_run(tmp_path: Path) -> None:
    first = _command("--format", "plant", "--instances", "2", "--time-limit", "0.3")
    assert first.returncode == 0, first.stderr
    reference = tmp_path / "plant.jsonl"
    reference.write_text(first.stdout)
    record = json.loads(first.stdout.splitlines()[0])
    assert record["objective"] == record["weighted_tardiness"] + record["changeover"]
    again = _command(
        "--format", "plant", "--instances", "2", "--time-limit", "0.3",
        "--optimal", str(reference),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["with_reference"] == 1


def test_command_needs_a_file_except_for_plant() -> None:
    run = _command("--format", "wtsds")
    assert run.returncode == 2
    assert "--format wtsds needs --file" in run.stderr
