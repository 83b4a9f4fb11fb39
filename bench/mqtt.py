"""MQTT ingestion benchmark: Mosquitto → ``manage.py mqtt_ingest`` (one subscriber) → inbox,
and end to end to applied events with Celery workers. PostgreSQL, Redis and Mosquitto all
on this machine.

    .venv/bin/python bench/mqtt.py [--messages 20000] [--e2e 2000] [--workers 2]

Prints:
  1. end to end: messages published while the workers run, from the first publish to the
     last event applied;
  2. messages per second from Mosquitto into the inbox, one subscriber, workers stopped
     (stored and acknowledged; the backlog stays ``received``): time from the first publish
     to the last row stored.
It starts its own Mosquitto (``/usr/sbin/mosquitto``, port 19350-19359, its queue not capped
at 1000 like the default) unless ``--broker host:port``, creates and drops its own database
(plantcoord_bench_mqtt) and uses Redis db 3. Messages are JSON on the demo's default mappings
(``riverside/<line>/status`` and ``…/counts``), QoS 1. Every loop is bounded.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from harness import PY, ROOT, bench_env, celery_workers, fresh_database, psql, stop
from paho.mqtt.enums import CallbackAPIVersion

DB = "plantcoord_bench_mqtt"
ENV = bench_env(DB, redis_db=3)
LINES = ["L1", "L2", "L3", "L4"]
STATUSES = ["running", "running", "running", "idle"]
PORTS = range(19350, 19360)  # this suite's range (the mqtt helper's 19300-19399)


def broker_start() -> tuple[subprocess.Popen, int, str]:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break
    else:
        raise SystemExit("no free port for the benchmark's Mosquitto")
    work = tempfile.mkdtemp(prefix="bench-mosquitto-")
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return broker, port, work
        time.sleep(0.05)
    raise SystemExit("the benchmark's Mosquitto did not start")


_CLOCK = time.time() - 3600


def messages(n: int, jobs: list[tuple[str, str]], tag: str) -> list[tuple[str, bytes]]:
    """Line states and job counts with plant times moving forward (as a live line's)."""
    global _CLOCK
    out = []
    for k in range(n):
        _CLOCK += 0.001
        stamp = int(_CLOCK * 1000)
        line = LINES[k % 4]
        if k % 2:
            job, line = jobs[k % len(jobs)]
            topic = f"riverside/{line}/counts"
            body = {"job": job, "good": k, "scrap": k % 7, "time": stamp}
        else:
            topic = f"riverside/{line}/status"
            body = {"status": STATUSES[(k // 4) % 4], "reason": tag, "time": stamp}
        out.append((topic, json.dumps(body).encode()))
    return out


def publish(port: int, batch: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 with up to 1000 in flight; returns seconds until all were PUBACKed."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in batch]
    for info in infos:
        info.wait_for_publish(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def counts() -> dict[str, int]:
    rows = psql("SELECT status, count(*) FROM integrations_inboxevent GROUP BY status", DB)
    return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}


def wait_rows(total: int, timeout: float, *, processed: bool = False) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        now = counts()
        done = sum(now.values()) - (now.get("received", 0) if processed else 0)
        if done >= total:
            break
        time.sleep(0.1)
    return time.perf_counter() - started


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up (finally) when stopped
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000, help="for the inbox rate")
    parser.add_argument("--e2e", type=int, default=2000, help="for end to end")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--broker", default="", help="host:port of an existing broker")
    args = parser.parse_args()

    fresh_database(DB, ENV)
    subprocess.run(["redis-cli", "-n", "3", "FLUSHDB"], check=True, capture_output=True)
    subprocess.run([PY, "manage.py", "seed_demo", "--no-users"], cwd=ROOT, env=ENV, check=True,
                   capture_output=True)  # fmt: skip
    jobs = [
        tuple(row.split("|"))
        for row in psql(
            "SELECT j.number, l.code FROM coordination_job j JOIN coordination_line l"
            " ON l.id = j.line_id WHERE j.status <> 'completed' ORDER BY j.number LIMIT 40",
            DB,
        ).splitlines()
    ]
    broker, work = None, None
    if args.broker:
        port = int(args.broker.rsplit(":", 1)[1])
    else:
        broker, port, work = broker_start()
    env = {**ENV, "MQTT_URL": f"mqtt://127.0.0.1:{port}", "MQTT_CLIENT_ID": "bench-ingest",
           "MQTT_SESSION_EXPIRY": "60"}  # fmt: skip
    log = open(ROOT / "var" / "bench-mqtt-ingest.log", "w")  # noqa: SIM115
    subscriber = subprocess.Popen(
        [PY, "manage.py", "mqtt_ingest"], cwd=ROOT, env={**env, "LOG_LEVEL": "INFO"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    # Beat, as make run has it: the inbox sweep queues anything whose enqueue failed.
    beat = subprocess.Popen(
        [PY, "-m", "celery", "-A", "plantcoord", "beat", "--loglevel=WARNING",
         f"--schedule={ROOT / 'var' / 'bench-mqtt-beat'}"],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = [beat]
    try:
        print(f"stack: Mosquitto · 1 mqtt_ingest · PostgreSQL · Redis · {os.cpu_count()} cores")
        # Until the subscriber is connected and subscribed (a first session queues nothing
        # from before its subscription): probe, bounded.
        for attempt in range(120):
            publish(port, messages(1, jobs, f"probe-{attempt}"))
            if wait_rows(1, 1) < 1:
                break
        workers += celery_workers(ENV, args.workers)
        before = sum(counts().values())
        publish(port, messages(200, jobs, "warm-up"))
        wait_rows(before + 200, 120, processed=True)

        # 1. end to end: workers running while messages arrive
        before = sum(counts().values())
        started = time.perf_counter()
        publish(port, messages(args.e2e, jobs, "e2e"))
        wait_rows(before + args.e2e, 1800, processed=True)
        elapsed = time.perf_counter() - started
        print(
            f"end to end: {args.e2e} messages published and applied in {elapsed:.2f} s = "
            f"{args.e2e / elapsed:,.0f} msg/s ({args.workers} workers)"
        )

        # 2. Mosquitto → inbox, one subscriber, workers stopped (stored and acknowledged)
        stop(workers[1:])
        before = sum(counts().values())
        batch = messages(args.messages, jobs, "rate")
        started = time.perf_counter()
        done_publishing = {}
        sender = threading.Thread(
            target=lambda: done_publishing.setdefault("s", publish(port, batch))
        )
        sender.start()
        wait_rows(before + args.messages, 600)
        elapsed = time.perf_counter() - started
        sender.join()
        stored = sum(counts().values()) - before
        print(
            f"inbox: {stored} of {args.messages} messages stored in {elapsed:.2f} s = "
            f"{stored / elapsed:,.0f} msg/s (publisher alone: "
            f"{args.messages / done_publishing['s']:,.0f} msg/s)"
        )
        print(f"inbox: {counts()}")
    finally:
        stop([subscriber, *workers])
        if broker is not None:
            stop([broker])
            shutil.rmtree(work, ignore_errors=True)
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
