"""What the benchmark scripts share: their own database, the services on 127.0.0.1, gunicorn."""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def bench_env(db: str, redis_db: int) -> dict[str, str]:
    """The environment of a benchmark: its own PostgreSQL database and Redis db."""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "VAR_DIR": str(ROOT / "var" / "bench"),
        "LOG_LEVEL": "WARNING",
    }


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 30) -> None:
    """Until the web server on ``port`` answers /healthz (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def django_setup(env: dict[str, str]) -> None:
    """Use Django in this process, on the benchmark's database."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plantcoord.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentile_ms(seconds: list[float], q: int) -> float:
    return statistics.quantiles(seconds, n=100, method="inclusive")[q - 1] * 1000


def gunicorn(
    env: dict[str, str], *, workers: int = 2, threads: int = 1
) -> tuple[subprocess.Popen, int]:
    """Start gunicorn as in production on a free port and wait until it answers."""
    port = free_port()
    web = subprocess.Popen(
        [
            *(PY, "-m", "gunicorn", "plantcoord.wsgi", "--bind", f"127.0.0.1:{port}"),
            *("--workers", str(workers), "--threads", str(threads), "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port)
    except BaseException:
        stop([web])
        raise
    return web, port


def celery_workers(
    env: dict[str, str], n: int, *, concurrency: int = 1, queue: str | None = None
) -> list[subprocess.Popen]:
    """``n`` Celery worker processes (no beat) on the benchmark's broker, consuming ``queue``
    (default: the default queue)."""
    return [
        subprocess.Popen(
            [
                *(PY, "-m", "celery", "-A", "plantcoord", "worker", "--loglevel=WARNING"),
                *(f"--concurrency={concurrency}", f"--hostname=bench{k}@%h"),
                *(("-Q", queue) if queue else ()),
                *("--without-mingle", "--without-gossip"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for k in range(n)
    ]


def stop(processes) -> None:
    """Terminate, then kill what has not stopped after 20 s."""
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def fresh_database(db: str, env: dict[str, str]) -> None:
    """Drop and recreate the benchmark's own database, then migrate it."""
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    psql(f"CREATE DATABASE {db}")
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
