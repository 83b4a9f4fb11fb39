"""Benchmark parsers (check figures from FORMAT.md) and the bench_sequencing command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from coordination.scheduling import ScheduledJob, check_schedule, recompute_metrics
from coordination.scheduling.bench import orlib_cases, upmsp_case, wtsds_case
from coordination.scheduling.model import Result

from .conftest import REPO


def _one_line_result(problem, order: list[int]) -> Result:
    """Timed schedule of a plain order (setups from the problem), built without the solver."""
    line = problem.lines[0]
    pairs = line.job_changeover or {}
    t, prev, jobs = 0, None, []
    for j in order:
        t += pairs.get((prev, str(j)), 0)
        p = problem.jobs[j].processing["M"]
        jobs.append(ScheduledJob(str(j), "M", t, t + p))
        t, prev = t + p, str(j)
    return Result({"M": [str(j) for j in order]}, jobs, [], 0, (0,), {})


def _edd(problem) -> list[int]:
    return sorted(range(len(problem.jobs)), key=lambda j: (problem.jobs[j].due, j))


def test_wt40_check_figures(data_dir: Path) -> None:
    case = next(orlib_cases(data_dir / "orlib_wt/wt40.txt", 40, "1"))
    jobs = case.problem.jobs
    assert sum(j.processing["M"] for j in jobs) == 2065
    assert [j.processing["M"] for j in jobs[:5]] == [26, 24, 79, 46, 32]
    assert [j.weight for j in jobs[:5]] == [1, 10, 9, 10, 10]
    assert [j.due for j in jobs[:5]] == [1588, 1620, 1731, 1773, 1694]
    edd = _one_line_result(case.problem, _edd(case.problem))
    assert recompute_metrics(case.problem, edd)["weighted_tardiness"] == 1588


def test_wtsds_check_figures(data_dir: Path) -> None:
    case = wtsds_case(data_dir / "wtsds/wt_sds_1.instance")
    problem, pairs = case.problem, case.problem.lines[0].job_changeover
    assert [j.processing["M"] for j in problem.jobs[:3]] == [81, 71, 97]
    assert [j.weight for j in problem.jobs[:3]] == [4, 8, 9]
    assert [j.due for j in problem.jobs[:3]] == [4925, 4570, 4518]
    assert (pairs[(None, "0")], pairs[("0", "1")], pairs[("1", "0")]) == (43, 41, 34)
    ordered = _one_line_result(problem, list(range(60)))
    assert recompute_metrics(problem, ordered)["weighted_tardiness"] == 159430
    edd = _one_line_result(problem, _edd(problem))
    assert recompute_metrics(problem, edd)["weighted_tardiness"] == 104827


def test_upmsp_known_schedule(data_dir: Path) -> None:
    """FORMAT.md's makespan-75 schedule of I_12_5_S_1-99_3 passes the checker."""
    case = upmsp_case(data_dir / "upmsp/small/I_12_5_S_1-99_3.txt")
    problem = case.problem
    lines = {"M0": [10, 1, 0, 6], "M1": [7, 8, 5], "M2": [3], "M3": [4, 2], "M4": [11, 9]}
    jobs, changeovers = [], []
    from coordination.scheduling import Changeover

    for line, order in lines.items():
        t, prev = 0, None
        for j in order:
            s = problem.lines[int(line[1])].job_changeover.get((prev, str(j)), 0)
            if s:
                changeovers.append(Changeover(line, prev, str(j), t, t + s))
            t += s
            p = problem.jobs[j].processing[line]
            jobs.append(ScheduledJob(str(j), line, t, t + p))
            t, prev = t + p, str(j)
    sequences = {k: [str(j) for j in v] for k, v in lines.items()}
    result = Result(sequences, jobs, changeovers, 75, (75,), {})
    assert check_schedule(problem, result) == []
    assert max(e.end for e in jobs) == 75


def _command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "bench_sequencing", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_command_small_run_matches_optimum(data_dir: Path) -> None:
    wt = data_dir / "orlib_wt"
    run = _command(
        "--format", "orlib-wt", "--n", "40", "--file", str(wt / "wt40.txt"),
        "--optimal", str(wt / "wtopt40.txt"), "--instances", "1-3", "--time-limit", "0.2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert [r["objective"] for r in lines[:3]] == [913, 1225, 537]
    assert sorted(lines[0]["sequence"]) == list(range(40))
    assert lines[-1]["matched"] == 3


def test_command_bad_input(data_dir: Path, tmp_path: Path) -> None:
    wt40 = str(data_dir / "orlib_wt/wt40.txt")
    run = _command("--format", "orlib-wt", "--n", "41", "--file", wt40)
    assert run.returncode == 2
    assert "not a multiple of 3 x n = 123" in run.stderr
    garbage = tmp_path / "bad.txt"
    garbage.write_text("1 2 x\n")
    run = _command("--format", "orlib-wt", "--n", "1", "--file", str(garbage))
    assert run.returncode == 2
    assert "not a whitespace-separated list of integers" in run.stderr
    run = _command("--format", "wtsds", "--file", str(garbage))
    assert run.returncode == 2
    assert "not a wt_sds instance file" in run.stderr
