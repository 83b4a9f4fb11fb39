"""A simulated day of the demo plant against PostgreSQL, Redis, gunicorn and two workers.

    .venv/bin/python bench/plant.py [--hours 24] [--speed 720] [--seed 1] [--port 18710] [--keep]

Creates its own database (plantcoord_bench_plant; dropped at the end unless --keep) and uses
Redis db 9, migrates, seeds the demo plant with its users, issues an integration key, starts
gunicorn (2 workers), two Celery workers and beat, then runs ``manage.py simulate --respond``
for ``--hours`` of plant time at ``--speed`` (plant seconds per wall second): the plant's
signals go in as CloudEvents over HTTP and the demo users answer through the API. When the
inbox has drained it reports: events sent, accepted, applied (or stale), failed and lost
(sent but never stored or never processed — must be zero), exceptions raised, and
constraint-to-response p50/p95 from ``coordination.metrics`` (in wall seconds; times the speed
is plant time, since live events carry the wall-clock time they are sent).

Not yet: the value of the recommendations (weighted tardiness and late orders with approved
proposals vs. lines waiting for repair) needs the proposals issue.
"""

import argparse
import json
import subprocess
import sys
import time

from harness import PY, ROOT, bench_env, django_setup, psql, stop, wait_up

DB = "plantcoord_bench_plant"
REDIS_DB = 9
ENV = bench_env(DB, redis_db=REDIS_DB)


def manage(*args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    ).stdout


def start_services(port: int) -> list[subprocess.Popen]:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT, "env": ENV}
    web = subprocess.Popen(
        [PY, "-m", "gunicorn", "plantcoord.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "2", "--log-level", "warning"], **quiet,
    )  # fmt: skip
    worker = [PY, "-m", "celery", "-A", "plantcoord", "worker", "--loglevel=WARNING",
              "--concurrency=1", "--without-mingle", "--without-gossip"]  # fmt: skip
    workers = [subprocess.Popen([*worker, f"--hostname=plant{k}@%h"], **quiet) for k in range(2)]
    beat = subprocess.Popen(
        [PY, "-m", "celery", "-A", "plantcoord", "beat", "--loglevel=WARNING",
         f"--schedule={ROOT / 'var' / 'bench' / 'plant-beat-schedule'}"], **quiet,
    )  # fmt: skip
    processes = [web, *workers, beat]
    try:
        wait_up(port)
    except BaseException:
        stop(processes)
        raise
    return processes


def drain(timeout: float = 300) -> float:
    """Wait (bounded) until no inbox event is waiting; returns the seconds it took."""
    from integrations.models import InboxEvent

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not InboxEvent.objects.filter(status=InboxEvent.Status.RECEIVED).exists():
            break
        time.sleep(1)
    return time.monotonic() - t0


def report(sim: dict, drained_s: float, started, ended) -> dict:
    from django.db.models import Count

    from coordination.metrics import MetricsQuery, metrics_summary, percentile, response_seconds
    from exceptions.models import ExceptionCase
    from integrations.models import InboxEvent

    inbox = dict(
        InboxEvent.objects.filter(source__startswith="sim/")
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    stored = sum(inbox.values())
    query = MetricsQuery(started, ended)
    summary = metrics_summary(query, now=ended)
    response = response_seconds(query)
    kinds = dict(
        ExceptionCase.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    return {
        "sent": sim["sent"],
        "accepted": sim["accepted"],
        "rejected": sim["rejected"],
        "stored": stored,
        "applied": inbox.get("applied", 0),
        "stale": inbox.get("stale", 0),
        "failed": inbox.get("failed", 0),
        "lost": sim["sent"] - stored + inbox.get("received", 0),
        "drain_after_sim_s": round(drained_s, 1),
        "exceptions": sum(kinds.values()),
        "by_kind": kinds,
        "acknowledged": sim.get("acknowledged"),
        "decided": sim.get("decided"),
        "resolved": sim.get("resolved"),
        "c2r_n": len(response),
        "c2r_p50_s": percentile(response, 0.5),
        "c2r_p95_s": percentile(response, 0.95),
        "mtta_p50_s": summary["mtta"]["p50_s"],
        "mttr_p50_s": summary["mttr"]["p50_s"],
        "sla": {f: (e["on_time"], e["n"], e["escalations"]) for f, e in summary["sla"].items()},
        "wall_s": sim["wall_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--speed", type=float, default=720, help="plant seconds per wall second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=18710)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=False,
                   capture_output=True)  # fmt: skip
    manage("migrate", "--noinput")
    manage("seed_demo")
    key = manage("create_integration_key", "simulator").strip().splitlines()[-1]
    processes = start_services(args.port)
    django_setup(ENV)
    from django.utils import timezone

    try:
        started = timezone.now()
        result = subprocess.run(
            [PY, "manage.py", "simulate", "--url", f"http://127.0.0.1:{args.port}",
             "--key", key, "--hours", str(args.hours), "--speed", str(args.speed),
             "--seed", str(args.seed), "--respond", "--respond-every", "0.5"],
            cwd=ROOT, env={**ENV, "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none"},
            capture_output=True, text=True, timeout=24 * 3600 / max(args.speed, 1) + 600,
        )  # fmt: skip
        if result.returncode != 0:
            sys.exit(result.stderr[-3000:])
        sim = json.loads(result.stdout.strip().splitlines()[-1])
        drained = drain()
        ended = timezone.now()
        figures = report(sim, drained, started, ended)
    finally:
        stop(processes)
    print(json.dumps(figures, indent=2, sort_keys=True, default=str))
    if not args.keep:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
