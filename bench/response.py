"""Constraint-to-response time: from a ``down`` event on a demo line with 30 open jobs to a
ready resequencing proposal, over the whole production path.

    .venv/bin/python bench/response.py [--runs 20] [--jobs 30] [--solve-seconds 0.8] [--keep]

Creates its own database (plantcoord_bench_response; dropped at the end unless --keep),
seeds the demo plant and tops line L1 up to ``--jobs`` open jobs, then starts gunicorn (2
workers) and one Celery worker (concurrency 1) on PostgreSQL and Redis db 7. Each run
posts one ``equipment.status`` down event for L1 (its own expected end, so each run is a new
picture) to ``/api/v1/events`` with an integration key and waits for the proposal to be
ready; between runs the exception is dismissed, so every run starts from a first signal.
The first run (the worker compiling the solver) is reported apart and not counted.

Prints p50/p95 of the wall-clock time (POST sent → proposal ready, polled every 20 ms), the
proposal's own ``ready_seconds`` (event time → ready), and where the time goes: ingest
(POST answered), processing (event stored → applied, exception raised), queue (→ build
started), snapshot, solve, rest of the build (baseline, KPIs, explanations), save. Prints the
machine's load (``uptime``): the machine is shared, figures taken under load are pessimistic.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

from harness import (
    ROOT,
    bench_env,
    celery_workers,
    django_setup,
    fresh_database,
    gunicorn,
    psql,
    stop,
)

DB = "plantcoord_bench_response"
LINE = "L1"


def top_up(jobs: int) -> int:
    """Give L1 ``jobs`` open jobs (the demo has about 20 per line): more orders, same items."""
    import random

    from django.utils import timezone

    from coordination import models as m

    rng = random.Random(17)
    line = m.Line.objects.get(code=LINE)
    open_jobs = list(
        m.Job.objects.filter(line=line, status__in=["planned", "released", "running"]).order_by(
            "sequence"
        )
    )
    last = open_jobs[-1]
    items = list(m.Item.objects.filter(family__in=line.families))
    customers = list(m.Customer.objects.all())
    clock, sequence = last.planned_end, last.sequence
    number = 90001
    now = timezone.now()
    for _ in range(jobs - len(open_jobs)):
        item = rng.choice(items)
        quantity = rng.randrange(6, 49) * 1000
        order = m.Order.objects.create(
            number=f"SO-B{number}", site=line.site, customer=rng.choice(customers), item=item,
            quantity=quantity, due_at=now + timedelta(hours=rng.randrange(8, 240)),
            priority=rng.choice([1, 2, 3, 3, 3, 4, 5]),
        )  # fmt: skip
        hours = quantity / item.rate_per_hour
        sequence += 10
        m.Job.objects.create(
            number=f"WO-B{number}", order=order, line=line, item=item, quantity=quantity,
            sequence=sequence, planned_start=clock, planned_end=clock + timedelta(hours=hours),
        )  # fmt: skip
        clock += timedelta(hours=hours)
        number += 1
    return m.Job.objects.filter(line=line, status__in=["planned", "released", "running"]).count()


def post_down(port: int, key: str, k: int) -> float:
    from django.utils import timezone

    now = timezone.now()
    event = {
        "specversion": "1.0",
        "id": f"bench-down-{k}",
        "source": "mes/riverside",
        "type": "equipment.status",
        "time": now.isoformat(),
        "data": {"site": "RIV", "line": LINE, "status": "down", "reason": "filler jam",
                 "expected_up_at": (now + timedelta(minutes=60 + 7 * k)).isoformat()},
    }  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"},
    )
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status
    return time.perf_counter() - began


def one_run(port: int, key: str, k: int, admin) -> dict:
    from coordination.proposals.models import Proposal
    from exceptions.models import OPEN_STATES, ExceptionCase
    from exceptions.services import case_dismiss
    from integrations.models import InboxEvent

    last = Proposal.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    began = time.perf_counter()
    ingest = post_down(port, key, k)
    deadline = time.monotonic() + 120
    while True:
        proposal = (
            Proposal.objects.filter(pk__gt=last, line__code=LINE, ready_at__isnull=False)
            .order_by("pk")
            .first()
        )
        if proposal is not None:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"run {k}: no proposal within 120 s")
        time.sleep(0.02)
    wall = time.perf_counter() - began
    event = InboxEvent.objects.get(event_id=f"bench-down-{k}")
    processing = (event.processed_at - event.received_at).total_seconds()
    t = proposal.timings
    for case in ExceptionCase.objects.filter(kind="downtime", key=LINE, status__in=OPEN_STATES):
        case_dismiss(case_id=case.pk, actor=admin, reason="benchmark run over")
    return {
        "wall": wall,
        "ready_seconds": proposal.ready_seconds,
        "ingest": ingest,
        "processing": processing,
        "queue": max(t.get("before_build", 0) - processing, 0),
        "snapshot": t.get("snapshot", 0),
        "solve": t.get("solve", 0),
        "build_rest": max(t.get("alternatives", 0) - t.get("solve", 0), 0),
        "save": t.get("save", 0),
        "alternatives": len(proposal.alternatives),
        "jobs": len(proposal.snapshot.get("jobs", {})),
    }


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--solve-seconds", type=float, default=0.8)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args()
    env = {**bench_env(DB, redis_db=7), "PROPOSAL_SOLVE_SECONDS": str(options.solve_seconds)}
    fresh_database(DB, env)
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    django_setup(env)
    from django.contrib.auth import get_user_model

    from integrations.services import integration_key_create

    jobs = top_up(options.jobs)
    _, key = integration_key_create(name="bench-mes")
    admin = get_user_model().objects.get(username="admin")
    processes = []
    try:
        web, port = gunicorn(env, workers=2, threads=2)
        processes.append(web)
        processes += celery_workers(env, 1)
        first = one_run(port, key, 0, admin)
        runs = [one_run(port, key, k, admin) for k in range(1, options.runs + 1)]
    finally:
        stop(processes)
        if not options.keep:
            from django.db import connections

            connections.close_all()
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    walls = [r["wall"] for r in runs]
    print(f"line {LINE}: {jobs} open jobs, {runs[0]['alternatives']} alternatives, "
          f"{options.solve_seconds} s solver budget per alternative; {len(runs)} runs")  # fmt: skip
    print(f"first run (worker compiles the solver, not counted): {first['wall']:.2f} s")
    print(f"down event POSTed -> proposal ready: p50 {pct(walls, 50):.2f} s, "
          f"p95 {pct(walls, 95):.2f} s, max {max(walls):.2f} s")  # fmt: skip
    ready = [r["ready_seconds"] for r in runs]
    print(f"ready_seconds (event time -> ready): p50 {pct(ready, 50):.2f} s, "
          f"p95 {pct(ready, 95):.2f} s")  # fmt: skip
    print("where the time goes (mean seconds):")
    for part in ("ingest", "processing", "queue", "snapshot", "solve", "build_rest", "save"):
        print(f"  {part:<11} {statistics.mean(r[part] for r in runs):7.3f}")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
