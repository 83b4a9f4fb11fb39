"""Outbox delivery benchmark: deliveries per second to the reference ERP over real HTTP, with
one and two Celery workers, and how long 10,000 queued messages take to drain once the ERP
comes back from an outage.

    .venv/bin/python bench/outbox.py [--messages 5000] [--backlog 10000] [--per-lot 5] [--keep]
        [--redis-db 7]

Creates its own database (plantcoord_bench_outbox; dropped at the end unless --keep) and
uses Redis db 7 (``--redis-db``), starts the reference plant (in memory) on a free port of
18500-18599 and one ERP target pointing at it; the workers consume the relay's ``webhooks``
queue. Throughput: with the workers stopped, ``--messages`` messages (on
``messages / per-lot`` lots) are written with ``outbox_add``; the workers start and the rate
is counted from the first recorded delivery to the last. Drain: the workers run, the ERP
fails (503) while ``--backlog`` messages are written and every lot's first message has been
tried; then the ERP is told ``ok`` and the clock runs until the last is delivered (the wait
includes the backoff still pending then: OUTBOX_BACKOFF_MAX is 5 s here). Then one relay runs in
this process with its steps timed, and the peer alone is measured (where the time goes).
Prints the figures and the machine's load (``uptime``): the machine is shared.
"""

import argparse
import os
import subprocess
import sys
import time

from harness import ROOT, bench_env, celery_workers, django_setup, fresh_database, psql, stop

DB = "plantcoord_bench_outbox"
ENV = {
    **bench_env(DB, redis_db=7),
    "OUTBOX_BACKOFF_BASE": "0.5",
    "OUTBOX_BACKOFF_MAX": "5",
    "OUTBOX_MAX_ATTEMPTS": "1000",
    "OUTBOX_SWEEP_SECONDS": "1",
}


def write(n: int, per_lot: int, tag: str) -> None:
    """``n`` messages, ``per_lot`` per lot (held/released alternating), 500 per transaction."""
    from django.db import transaction

    from coordination.outbox import outbox_add

    lots = max(1, n // per_lot)
    done = 0
    while done < n:
        with transaction.atomic():
            for k in range(done, min(n, done + 500)):
                lot = f"LOT-{tag}-{k % lots:05d}"
                if (k // lots) % 2 == 0:
                    topic, data = (
                        "lot.held",
                        {
                            "lot": lot,
                            "item": "MAT-CAP-28",
                            "quantity": "10.000",
                            "reason": "bench",
                            "defect_code": "",
                            "held_at": "2026-12-01T08:00:00Z",
                        },
                    )
                else:
                    topic, data = "lot.released", {
                        "lot": lot, "item": "MAT-CAP-28", "quantity": "10.000",
                        "disposition": "release", "deviation": "", "rationale": "bench",
                        "decided_at": "2026-12-01T09:00:00Z"}  # fmt: skip
                outbox_add(topic=topic, aggregate=f"lot:{lot}", data=data)
        done = min(n, done + 500)


def delivered() -> int:
    from integrations.models import OutboxDelivery

    return OutboxDelivery.objects.filter(status="delivered").count()


def wait_until(total: int, limit: float) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if delivered() >= total:
            return time.perf_counter()
        time.sleep(0.1)
    raise SystemExit(f"not delivered within {limit:.0f} s: {delivered()} of {total}")


def throughput(n_workers: int, n: int, per_lot: int, peer) -> float:
    from django.db.models import Max, Min

    from coordination.models import StateChange

    before = delivered()
    write(n, per_lot, f"T{n_workers}")
    workers = celery_workers(ENV, n_workers, queue="webhooks")  # the relay's queue
    try:
        wait_until(before + n, 600)
    finally:
        stop(workers)
    span = (
        StateChange.objects.filter(transition="deliver")
        .order_by("-id")[:n]
        .aggregate(first=Min("at"), last=Max("at"))
    )
    seconds = (span["last"] - span["first"]).total_seconds()
    assert peer.messages("erp")["count"] == before + n
    return n / seconds if seconds else float("inf")


def drain(backlog: int, per_lot: int, peer) -> tuple[float, float]:
    from integrations.models import OutboxDelivery

    peer.control(system="erp", mode="fail", status=503)
    before = delivered()
    workers = celery_workers(ENV, 1, queue="webhooks")
    try:
        t_write = time.perf_counter()
        write(backlog, per_lot, "D")
        writing = time.perf_counter() - t_write
        heads = backlog // per_lot
        deadline = time.monotonic() + 300
        while OutboxDelivery.objects.filter(status="pending", attempts__gte=1).count() < heads:
            if time.monotonic() > deadline:
                raise SystemExit("the relay never tried every lot's first message")
            time.sleep(0.2)
        peer.control(system="erp", mode="ok")
        t0 = time.perf_counter()
        t1 = wait_until(before + backlog, 900)
    finally:
        stop(workers)
    return t1 - t0, writing


def breakdown(n: int, per_lot: int, peer) -> dict[str, float]:
    """Where one relay's time goes: the relay run in this process over ``n`` messages, its
    three steps timed (claim, send outside any transaction, record), and the peer alone (the
    same signed POSTs from 8 threads, no database)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from integrations import delivery

    write(n, per_lot, "P")
    spent = {"claim": 0.0, "send": 0.0, "record": 0.0}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t

        return wrapper

    claim, record, pool = delivery.deliveries_claim, delivery.deliveries_record, delivery._pool
    delivery.deliveries_claim = timed("claim", claim)
    delivery.deliveries_record = timed("record", record)

    class TimedPool:
        def map(self, fn, items):
            return timed("send", lambda: list(pool().map(fn, items)))()

    delivery._pool = TimedPool
    t0 = time.perf_counter()
    try:
        while delivery.outbox_relay(budget=30)["delivered"]:
            pass
    finally:
        delivery.deliveries_claim, delivery.deliveries_record, delivery._pool = claim, record, pool
    wall = time.perf_counter() - t0
    body = delivery.message_body(
        key="x", topic="lot.held", created_at=datetime_now(), payload={"lot": "L"}
    )
    local = __import__("threading").local()

    def post(k):
        session = getattr(local, "s", None) or requests.Session()
        local.s = session
        key = f"peer-only-{k}"
        headers = delivery.signed_headers(secret=peer.secrets["mes"], key=key, body=body)
        session.post(f"{peer.url}/mes/messages", data=body.encode(), headers=headers, timeout=10)

    t1 = time.perf_counter()
    with ThreadPoolExecutor(8) as executor:
        list(executor.map(post, range(n)))
    peer_rate = n / (time.perf_counter() - t1)
    return {"rate": n / wall, **{k: v / n * 1000 for k, v in spent.items()}, "peer": peer_rate}


def datetime_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--per-lot", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--redis-db", type=int, default=7, help="the broker's Redis database (shared machine: "
        "take one nobody else's workers consume)"
    )  # fmt: skip
    args = parser.parse_args()
    ENV.update(bench_env(DB, redis_db=args.redis_db))

    fresh_database(DB, ENV)
    django_setup(ENV)
    sys.path.insert(0, str(ROOT))
    from integrations.delivery import target_ensure
    from tests.integrations.reference_peer import Peer

    os.environ.update(ENV)
    peer = Peer()  # in memory, on a port of 18500-18599
    try:
        target_ensure(name="ERP", url=f"{peer.url}/erp/messages", secret=peer.secrets["erp"])
        load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        rates = {k: throughput(k, args.messages, args.per_lot, peer) for k in (1, 2)}
        drain_s, writing = drain(args.backlog, args.per_lot, peer)
        parts = breakdown(args.messages, args.per_lot, peer)
        erp = peer.messages("erp")
        load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    finally:
        peer.stop()
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    print(f"throughput, 1 worker : {rates[1]:7.0f} deliveries/s ({args.messages} messages)")
    print(f"throughput, 2 workers: {rates[2]:7.0f} deliveries/s")
    print(f"drain after outage   : {drain_s:7.1f} s for {args.backlog} messages "
          f"({args.backlog / drain_s:.0f}/s; writing them took {writing:.1f} s)")  # fmt: skip
    print(f"peer: {erp['count']} messages, {erp['duplicates']} duplicates")
    print(f"one relay in-process: {parts['rate']:.0f}/s; per delivery: claim "
          f"{parts['claim']:.2f} ms, send (8 threads, wall) {parts['send']:.2f} ms, record "
          f"{parts['record']:.2f} ms; the peer alone (8 threads): "
          f"{parts['peer']:.0f}/s")  # fmt: skip
    print(f"load before: {load_before}\nload after : {load_after}")


if __name__ == "__main__":
    main()
