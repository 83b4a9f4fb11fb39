"""Benchmark runner on public instance files (OR-Library wt, Cicirello wtsds, Vallada-Ruiz).

``python -m coordination.scheduling.bench ...`` and ``manage.py bench_sequencing ...`` share
this code. Every reported objective is recomputed by the independent checker from the
returned schedule, and the schedule must pass ``check_schedule``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import compiled
from .checker import check_schedule, recompute_metrics
from .model import Job, Line, Objective, Problem
from .plant import plant_problem
from .solver import solve

FORMATS = ("orlib-wt", "wtsds", "upmsp", "plant")
#: Plant-shaped instances (``plant.py``) when --instances is not given: seeds 1-5.
PLANT_SEEDS = 5


class BenchError(Exception):
    """Unreadable benchmark input; reported on stderr with exit code 2."""


@dataclass
class Case:
    name: str | int
    problem: Problem
    n: int


def _ints(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except OSError as exc:
        raise BenchError(f"{path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise BenchError(f"{path}: not a whitespace-separated list of integers ({exc})") from exc


def _selection(spec: str | None, count: int) -> list[int]:
    """1-based instance numbers from "1-125" / "1,4,7-9" (all when None)."""
    if spec is None:
        return list(range(1, count + 1))
    chosen: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            chosen += range(int(lo), int(hi or lo) + 1)
    except ValueError as exc:
        raise BenchError(f"--instances {spec!r}: expected e.g. 1-125 or 1,4,7-9") from exc
    bad = [k for k in chosen if not 1 <= k <= count]
    if bad:
        raise BenchError(f"--instances: instance {bad[0]} outside 1-{count}")
    return chosen


def _one_line_problem(p, w, d, changeover=None) -> Problem:
    jobs = [Job(str(j), {"M": int(p[j])}, weight=int(w[j]), due=int(d[j])) for j in range(len(p))]
    line = Line("M", job_changeover=changeover)
    return Problem(jobs, [line], Objective("tardiness", changeover_weight=0))


def orlib_cases(path: Path, n: int, spec: str | None) -> Iterator[Case]:
    values = _ints(path)
    if n <= 0 or not values or len(values) % (3 * n):
        raise BenchError(f"{path}: {len(values)} integers is not a multiple of 3 x n = {3 * n}")
    count = len(values) // (3 * n)
    for k in _selection(spec, count):
        block = values[(k - 1) * 3 * n : k * 3 * n]
        yield Case(k, _one_line_problem(block[:n], block[n : 2 * n], block[2 * n :]), n)


def _section(lines: list[str], title: str, count: int, path: Path) -> list[str]:
    try:
        at = lines.index(title)
    except ValueError as exc:
        raise BenchError(f"{path}: section {title!r} missing") from exc
    return lines[at + 1 : at + 1 + count]


def wtsds_case(path: Path) -> Case:
    try:
        lines = [x.strip() for x in path.read_text().splitlines()]
    except OSError as exc:
        raise BenchError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        header = dict(x.split(":", 1) for x in lines[:2])
        number, n = int(header["Problem Instance"]), int(header["Problem Size"])
        p = [int(x) for x in _section(lines, "Process Times:", n, path)]
        w = [int(x) for x in _section(lines, "Weights:", n, path)]
        d = [int(x) for x in _section(lines, "Duedates:", n, path)]
        changeover: dict[tuple[str | None, str], int] = {}
        for row in _section(lines, "Setup Times:", n * n, path):
            i, j, s = (int(x) for x in row.split())
            changeover[(None if i == -1 else str(i), str(j))] = s
    except (KeyError, ValueError) as exc:
        raise BenchError(f"{path}: not a wt_sds instance file ({exc})") from exc
    if len(changeover) != n * n or min(len(p), len(w), len(d)) != n:
        raise BenchError(f"{path}: expected {n} jobs and {n * n} setup lines")
    return Case(number, _one_line_problem(p, w, d, changeover), n)


def upmsp_case(path: Path) -> Case:
    try:
        rows = [r.split() for r in path.read_text().splitlines() if r.strip()]
        n, m = int(rows[0][0]), int(rows[0][1])
        proc = [[int(x) for x in rows[2 + j][1::2]] for j in range(n)]
        at = [r[0] for r in rows].index("SSD") + 1
        setups = []
        for k in range(m):
            if rows[at][0] != f"M{k}":
                raise ValueError(f"expected header M{k}")
            setups.append([[int(x) for x in r] for r in rows[at + 1 : at + 1 + n]])
            at += n + 1
    except (OSError, IndexError, ValueError) as exc:
        raise BenchError(f"{path}: not a Vallada-Ruiz instance file ({exc})") from exc
    if any(len(r) != m for r in proc):
        raise BenchError(f"{path}: a job line does not hold {m} machines")
    jobs = [Job(str(j), {f"M{k}": proc[j][k] for k in range(m)}) for j in range(n)]
    lines = [
        Line(
            f"M{k}",
            job_changeover={
                (str(i), str(j)): setups[k][i][j] for i in range(n) for j in range(n) if i != j
            },
        )
        for k in range(m)
    ]
    return Case(path.stem, Problem(jobs, lines, Objective("makespan")), n)


def _files(paths: list[str], pattern: str) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(path.glob(pattern))
        elif path.is_file():
            found.append(path)
        else:
            raise BenchError(f"{path}: no such file or directory")
    if not found:
        raise BenchError(f"no instance file ({pattern}) in {', '.join(paths)}")
    return found


def references(path: str | None, fmt: str) -> dict[str | int, int]:
    """Optimal / best-known values keyed like Case.name."""
    if path is None:
        return {}
    file = Path(path)
    if file.suffix == ".jsonl":
        return _jsonl_references(file)
    if file.suffix != ".csv":
        return dict(enumerate(_ints(file), start=1))
    try:
        text = file.read_text()
        if ";" in text.splitlines()[0]:
            return {r[0]: int(r[1]) for r in csv.reader(text.splitlines(), delimiter=";") if r}
        rows = list(csv.DictReader(text.splitlines()))
        if fmt == "wtsds":
            return {
                int(r["instance"].rsplit("_", 1)[1]): int(r["optimal_total_weighted_tardiness"])
                for r in rows
            }
        return {r["instance"]: int(r["exact_optimum"]) for r in rows}
    except (OSError, KeyError, ValueError, IndexError) as exc:
        raise BenchError(f"{file}: not a reference-value file for {fmt} ({exc})") from exc


def _jsonl_references(file: Path) -> dict[str | int, int]:
    """Objectives of an earlier run of this command (its output), e.g. a 60 s plant run."""
    try:
        records = [json.loads(row) for row in file.read_text().splitlines() if row.strip()]
        return {r["instance"]: int(r["objective"]) for r in records if "summary" not in r}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{file}: not the JSON-lines output of bench_sequencing ({exc})") from exc


def plant_cases(spec: str | None) -> list[Case]:
    """Seeded plant-shaped instances; --instances selects the seeds (default 1-5)."""
    seeds = _selection(spec, 10**6) if spec else list(range(1, PLANT_SEEDS + 1))
    out = []
    for seed in seeds:
        problem = plant_problem(seed)
        out.append(Case(seed, problem, sum(1 for j in problem.jobs if not j.locked)))
    return out


def cases(options: dict) -> list[Case]:
    fmt, files = options["format"], options.get("file") or []
    if fmt == "plant":
        return plant_cases(options.get("instances"))
    if not files:
        raise BenchError(f"--format {fmt} needs --file")
    if fmt == "orlib-wt":
        if options.get("n") is None:
            raise BenchError("--format orlib-wt needs --n")
        if len(files) != 1:
            raise BenchError("--format orlib-wt takes exactly one --file")
        return list(orlib_cases(Path(files[0]), options["n"], options.get("instances")))
    if fmt == "wtsds":
        return sorted(
            (wtsds_case(p) for p in _files(files, "*.instance")), key=lambda c: int(c.name)
        )
    return [upmsp_case(p) for p in _files(files, "I_*.txt")]


def _record(case: Case, fmt: str, time_limit: float, seed: int) -> dict:
    result = solve(case.problem, time_limit=time_limit, seed=seed)
    errors = check_schedule(case.problem, result)
    if errors:
        raise RuntimeError(f"instance {case.name}: infeasible schedule: {errors[:3]}")
    values = recompute_metrics(case.problem, result)
    if fmt == "plant":
        return {
            "instance": case.name,
            "n": case.n,
            "objective": values["tardiness"],
            "weighted_tardiness": values["weighted_tardiness"],
            "changeover": values["changeover"],
            "lower_bound": result.lower_bound,
            "sequences": result.sequences,
            "seconds": round(result.seconds, 3),
        }
    if fmt == "upmsp":
        return {
            "instance": case.name,
            "objective": values["makespan"],
            "assignment": [[int(j) for j in result.sequences[k]] for k in result.sequences],
            "seconds": round(result.seconds, 3),
        }
    return {
        "instance": case.name,
        "n": case.n,
        "objective": values["weighted_tardiness"],
        "sequence": [int(j) for j in result.sequences["M"]],
        "seconds": round(result.seconds, 3),
    }


def summary(records: list[dict], refs: dict) -> dict:
    gaps = [
        100.0 * (r["objective"] - refs[r["instance"]]) / max(refs[r["instance"]], 1)
        for r in records
        if r["instance"] in refs
    ]
    seconds = [r["seconds"] for r in records]
    return {
        "summary": True,
        "instances": len(records),
        "with_reference": len(gaps),
        "matched": sum(1 for g in gaps if g <= 0),
        "better_than_reference": sum(1 for g in gaps if g < 0),
        "mean_gap_pct": round(sum(gaps) / len(gaps), 4) if gaps else None,
        "max_gap_pct": round(max(gaps), 4) if gaps else None,
        "mean_seconds": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "max_seconds": round(max(seconds), 3) if seconds else None,
    }


def run(options: dict, out: TextIO) -> None:
    """Solve every selected instance, print one JSON line each and a summary line."""
    selected = cases(options)
    refs = references(options.get("optimal"), options["format"])
    records = []
    compiled.warm_up()  # compiling is not part of any instance's time
    for case in selected:
        record = _record(case, options["format"], options["time_limit"], options["seed"])
        records.append(record)
        out.write(json.dumps(record) + "\n")
        out.flush()
    out.write(json.dumps(summary(records, refs)) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument(
        "--file", action="append", help="instance file or directory (repeatable; not for plant)"
    )
    parser.add_argument("--n", type=int, help="jobs per instance (orlib-wt)")
    parser.add_argument(
        "--optimal",
        help="reference values: one per line, CSV, or the .jsonl output of an earlier run",
    )
    parser.add_argument("--instances", help="1-based selection, e.g. 1-125 or 1,4,7-9")
    parser.add_argument("--time-limit", type=float, default=1.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        run(options, sys.stdout)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
