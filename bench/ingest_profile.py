"""Where applying time goes: set-based against one-at-a-time, in one process, same backlog.

    .venv/bin/python bench/ingest_profile.py [--events 6000] [--chunk 50] [--rounds 3]
        [--db plantcoord_bench_profile] [--redis-db 3]

Accepts ``--events`` of ``bench/ingest.py``'s mix (line status, job progress, stock levels)
into a fresh database (in process, no HTTP), then drains the backlog in chunks as a worker
does, alternating the two paths round by round so that both see the same load: events/s,
queries per event and the share of time waiting on PostgreSQL for each, then the profile of
the set-based path by phase (claim and load, apply, observers, statuses) and its
costliest functions. No Celery, no gunicorn: what is left is the apply itself.
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import time

from harness import PY, ROOT, bench_env, django_setup, fresh_database, psql

PHASES = {  # function name in the profile -> phase
    "_rows_load": "claim and load the rows",
    "events_apply_set": "apply (references, watermarks, picture)",
    "notify_batch": "observers (exceptions, workflows)",
    "_statuses_save": "inbox statuses",
    "inbox_process_batch": "the whole chunk (the rest: claim, sort, commit)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--chunk", type=int, default=50, help="events per processing chunk")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each path")
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "plantcoord_bench_profile"))
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("BENCH_REDIS_DB", "3")))
    args = parser.parse_args()
    env = bench_env(args.db, redis_db=args.redis_db)
    fresh_database(args.db, env)
    subprocess.run(
        [PY, "manage.py", "seed_demo", "--no-users"], cwd=ROOT, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        run(args, env)
    finally:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
        subprocess.run(["redis-cli", "-n", str(args.redis_db), "FLUSHDB"], capture_output=True)


def run(args, env) -> None:
    django_setup(env)
    from django.db import connection
    from ingest import events

    from coordination.models import Job
    from integrations.models import InboxEvent
    from integrations.services import events_accept, inbox_process_batch, integration_key_create

    integration, _ = integration_key_create(name="bench")
    jobs = list(
        Job.objects.exclude(status="completed").order_by("number").values_list("number", flat=True)
    )[:40]
    for start in range(0, args.events, 100):
        events_accept(
            integration=integration,
            raw_events=events(min(100, args.events - start), f"p{start}", progress_jobs=jobs),
        )
    ids = list(
        InboxEvent.objects.filter(status="received").order_by("pk").values_list("pk", flat=True)
    )
    share = len(ids) // (2 * args.rounds)
    print(
        f"{len(ids)} events accepted; {args.rounds} rounds of {share} per path, "
        f"chunks of {args.chunk}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    totals = {mode: {"events": 0, "seconds": 0.0, "queries": 0, "sql": 0.0} for mode in PATHS}
    profile = cProfile.Profile()
    for _ in range(args.rounds):
        for mode in PATHS:
            batch, ids = ids[:share], ids[share:]
            sql = [0, 0.0]

            def timed(execute, query, params, many, context, sql=sql):
                started = time.perf_counter()
                try:
                    return execute(query, params, many, context)
                finally:
                    sql[0] += 1
                    sql[1] += time.perf_counter() - started

            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                if mode == "set":
                    profile.enable()
                for k in range(0, len(batch), args.chunk):
                    inbox_process_batch(batch[k : k + args.chunk], set_based=mode == "set")
                if mode == "set":
                    profile.disable()
            total = totals[mode]
            total["events"] += len(batch)
            total["seconds"] += time.perf_counter() - started
            total["queries"] += sql[0]
            total["sql"] += sql[1]
    for mode, label in PATHS.items():
        t = totals[mode]
        print(
            f"{label}: {t['events'] / t['seconds']:,.0f} events/s "
            f"({1000 * t['seconds'] / t['events']:.2f} ms an event), "
            f"{t['queries'] / t['events']:.2f} queries an event, "
            f"{100 * t['sql'] / t['seconds']:.0f} % of the time in PostgreSQL"
        )
    ratio = (totals["set"]["events"] / totals["set"]["seconds"]) / (
        totals["event"]["events"] / totals["event"]["seconds"]
    )
    print(f"speed-up, set-based over one at a time: x{ratio:.1f}")
    stats = pstats.Stats(profile)
    whole = totals["set"]["seconds"]
    print("set-based, by phase (cumulative, of the drain's wall time):")
    for (filename, _, name), row in stats.stats.items():
        if name in PHASES and ("integrations" in filename or "coordination" in filename):
            print(f"  {PHASES[name]:45s} {100 * row[3] / whole:5.1f} %")
    print("set-based, costliest functions (own time):")
    stats.sort_stats("tottime").print_stats(12)
    print(f"statuses: {dict(_counts())}")


PATHS = {"event": "one at a time", "set": "set-based"}


def _counts():
    from django.db.models import Count

    from integrations.models import InboxEvent

    return InboxEvent.objects.values_list("status").annotate(n=Count("pk")).order_by("status")


if __name__ == "__main__":
    main()
