"""Ingestion benchmark: PostgreSQL, Redis, gunicorn and Celery workers, all on this machine.

    .venv/bin/python bench/ingest.py [--batches 600] [--clients 4] [--web-workers 3] [--workers 2]
        [--db plantcoord_bench] [--redis-db 3] [--apply set|event] [--chunk-max N]

Prints, for the real stack (gunicorn + PostgreSQL + Redis + the worker):
  1. single POST latency (p50/p95/p99, sequential, keep-alive);
  2. events accepted per second, batches of 100, several client processes, workers stopped
     (accepting alone) — the backlog is left in the inbox;
  3. events applied per second: workers started on that backlog, applied within a window;
  4. end to end: batches sent while the workers run, time from first send to last applied.
It creates and drops its own database (``--db``, env ``BENCH_DB``, default plantcoord_bench)
and flushes its own Redis db (``--redis-db``, env ``BENCH_REDIS_DB``, default 3): people
sharing one machine each take their own. All traffic goes to 127.0.0.1; every loop is
bounded.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import subprocess
import time
import uuid

from harness import PY, ROOT, bench_env, celery_workers, gunicorn, percentile_ms, psql, stop

DB = os.environ.get("BENCH_DB", "plantcoord_bench")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "3"))
ENV = bench_env(DB, redis_db=REDIS_DB)
LINES = ["L1", "L2", "L3", "L4"]
STATUSES = ["running", "running", "running", "idle"]


def _use(db: str, redis_db: int) -> None:
    """Point the whole run (this process, gunicorn, the workers) at ``db`` and ``redis_db``."""
    global DB, REDIS_DB
    DB, REDIS_DB = db, redis_db
    ENV.clear()
    ENV.update(bench_env(db, redis_db=redis_db))


def manage(*args: str) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    )
    return result.stdout


_CLOCK = time.time() - 3600


def _stamp() -> str:
    """Plant times that move forward, as a live MES's would (so few events are stale)."""
    global _CLOCK
    _CLOCK += 0.001
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(_CLOCK))
        + f".{int(_CLOCK * 1e6) % 1000000:06d}Z"
    )


def events(n: int, tag: str, *, progress_jobs: list[str]) -> list[dict]:
    """A realistic mix: line status, job progress and stock levels."""
    out = []
    for k in range(n):
        kind = k % 3
        if kind == 0:
            event_type = "equipment.status"
            data = {"line": LINES[k % 4], "status": STATUSES[(k // 4) % 4]}
        elif kind == 1:
            event_type = "production.progress"
            data = {"job": progress_jobs[k % len(progress_jobs)], "good": k, "scrap": k % 7}
        else:
            event_type = "inventory.level"
            data = {"item": "MAT-CAN-330", "location": "WH-RAW-01", "quantity": k}
        out.append(
            {
                "specversion": "1.0",
                "id": f"{tag}-{k}",
                "source": "bench/mes",
                "type": event_type,
                "time": _stamp(),
                "data": data,
            }
        )
    return out


def _post(conn, key: str, body: bytes, content_type: str) -> int:
    conn.request(
        "POST",
        "/api/v1/events",
        body=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": content_type,
        },
    )
    response = conn.getresponse()
    response.read()
    return response.status


def _client(args) -> tuple[int, float, int]:
    port, key, batches = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    accepted = retried = 0
    started = time.perf_counter()
    for body in batches:
        status = _post(conn, key, body, "application/cloudevents-batch+json")
        for _ in range(3):
            if status != 408:
                break
            # The body deadline (REQUEST_BODY_TIMEOUT) ran out: a starved machine. Sending
            # the batch again is safe (what was stored comes back "duplicate"); counted.
            retried += 1
            conn.close()
            status = _post(conn, key, body, "application/cloudevents-batch+json")
        assert status == 200, status
        accepted += body.count(b'"specversion"')
    return accepted, time.perf_counter() - started, retried


def send_batches(port, key, total_batches, clients, tag, jobs) -> tuple[int, float]:
    per_client = []
    for c in range(clients):
        chunk = [
            json.dumps(events(100, f"{tag}-{c}-{b}", progress_jobs=jobs)).encode()
            for b in range(total_batches // clients)
        ]
        per_client.append((port, key, chunk))
    started = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(_client, per_client)
    elapsed = time.perf_counter() - started
    retried = sum(r for _, _, r in results)
    if retried:
        print(f"  ({retried} batch(es) answered 408 under load and sent again)")
    return sum(a for a, _, _ in results), elapsed


def inbox_counts() -> dict[str, int]:
    rows = psql("SELECT status, count(*) FROM integrations_inboxevent GROUP BY status", DB)
    return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}


def wait_applied(total: int, timeout: float) -> tuple[int, float]:
    """Poll until ``total`` rows are processed or ``timeout``; returns (processed, seconds)."""
    started = time.perf_counter()
    while True:
        counts = inbox_counts()
        done = sum(counts.values()) - counts.get("received", 0)
        elapsed = time.perf_counter() - started
        if done >= total or elapsed > timeout:
            return done, elapsed
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=600, help="batches of 100 to accept")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--singles", type=int, default=1000, help="single POSTs for latency")
    parser.add_argument("--drain-seconds", type=float, default=60, help="drain measuring window")
    parser.add_argument("--e2e-batches", type=int, default=40, help="batches for end to end")
    parser.add_argument("--db", default=DB, help="database to create and drop (env BENCH_DB)")
    parser.add_argument(
        "--redis-db", type=int, default=REDIS_DB, help="Redis db to flush (env BENCH_REDIS_DB)"
    )
    parser.add_argument(
        "--apply",
        choices=["set", "event"],
        default="set",
        help="how workers apply a chunk: set-based, or one event at a time (the former path)",
    )
    parser.add_argument(
        "--chunk-max",
        type=int,
        default=None,
        help="INBOX_CHUNK_MAX for the workers (default: 500 set-based, 0 with --apply event, "
        "as before: a task applies its own events only)",
    )
    args = parser.parse_args()
    _use(args.db, args.redis_db)
    ENV["INBOX_APPLY"] = args.apply
    chunk_max = (
        args.chunk_max if args.chunk_max is not None else (500 if args.apply == "set" else 0)
    )
    ENV["INBOX_CHUNK_MAX"] = str(chunk_max)

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True)
    manage("migrate", "--noinput")
    manage("seed_demo", "--no-users")
    key = manage("create_integration_key", "bench").strip().splitlines()[-1]
    jobs = psql(
        "SELECT number FROM coordination_job WHERE status <> 'completed' ORDER BY number LIMIT 40",
        DB,
    ).splitlines()
    web, port = gunicorn(ENV, workers=args.web_workers)
    try:
        print(
            f"stack: gunicorn x{args.web_workers} · PostgreSQL · Redis · "
            f"{args.workers} Celery worker(s) · {os.cpu_count()} cores · apply: {args.apply}, "
            f"chunks up to {chunk_max or 50} · load {os.getloadavg()[0]:.1f}"
        )

        # 1. single POST latency
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        singles = [
            json.dumps(e).encode()
            for e in events(args.singles, f"single-{uuid.uuid4().hex[:6]}", progress_jobs=jobs)
        ]
        for body in singles[:50]:  # warm-up
            _post(conn, key, body, "application/cloudevents+json")
        latencies = []
        for body in singles[50:]:
            t = time.perf_counter()
            status = _post(conn, key, body, "application/cloudevents+json")
            latencies.append(time.perf_counter() - t)
            assert status == 202, status
        p50, p95, p99 = (percentile_ms(latencies, q) for q in (50, 95, 99))
        print(
            f"single POST: p50 {p50:.2f} ms · p95 {p95:.2f} ms · p99 {p99:.2f} ms  "
            f"(n={len(latencies)})"
        )

        # 2. accepted per second, workers stopped
        accepted, elapsed = send_batches(port, key, args.batches, args.clients, "acc", jobs)
        print(
            f"accepted: {accepted} events in {elapsed:.2f} s = {accepted / elapsed:,.0f} events/s "
            f"(batches of 100, {args.clients} clients)"
        )

        # 3. applied per second, draining that backlog (measured over a bounded window)
        total = sum(inbox_counts().values())
        workers = celery_workers(ENV, args.workers)
        try:
            done, elapsed = wait_applied(total, args.drain_seconds)
            print(
                f"applied (backlog drain): {done} of {total} events in {elapsed:.2f} s = "
                f"{done / elapsed:,.0f} events/s"
            )
            wait_applied(total, 1800)  # finish the backlog before the end-to-end run

            # 4. end to end, workers running while events arrive
            before = sum(inbox_counts().values())
            started = time.perf_counter()
            sent, _ = send_batches(
                port, key, max(args.e2e_batches, args.clients), args.clients, "e2e", jobs
            )
            wait_applied(before + sent, 1800)
            elapsed = time.perf_counter() - started
            print(
                f"end to end: {sent} events sent and applied in {elapsed:.2f} s = "
                f"{sent / elapsed:,.0f} events/s"
            )
            print(f"inbox: {inbox_counts()}")
        finally:
            stop(workers)
    finally:
        stop([web])
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        # Tasks still queued (a run cut short) would otherwise reach the next user of this db.
        subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True)


if __name__ == "__main__":
    main()
