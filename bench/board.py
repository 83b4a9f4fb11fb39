"""Board benchmark: the live exception board on PostgreSQL behind gunicorn, on this machine.

    .venv/bin/python bench/board.py [--open 5000] [--resolved 50000] [--requests 300]

Creates its own database (plantcoord_bench_board; dropped at the end unless --keep), seeds the
demo plant plus ``--open`` open and ``--resolved`` resolved exceptions, starts gunicorn on a
free loopback port, signs in as a supervisor and measures, sequentially with keep-alive:
  1. the board page (full HTML, top N rows and a count of the rest);
  2. its refresh partial after a change (htmx, ``?since=<old version>``);
  3. a refresh when nothing changed (``?since=<current version>`` → 204);
and counts SQL queries per render in-process with few and with all rows (must be equal).
Prints the figures and writes them with the reproduce command to bench/BOARD.md.
"""

import argparse
import http.client
import random
import re
import statistics
import subprocess
import time
from urllib.parse import urlencode

from harness import PY, ROOT, bench_env, django_setup, gunicorn, psql, stop

DB = "plantcoord_bench_board"
ENV = bench_env(DB, redis_db=2)
PASSWORD = "bench-pw-123"


def seed(n_open: int, n_resolved: int) -> None:
    """Demo plant + bulk exceptions. Keys are unique per open one (one open per key)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from coordination.demo import demo_seed
    from coordination.models import Line, Site
    from exceptions.models import ExceptionCase, Kind, RootCause
    from exceptions.services import board_bump

    demo_seed(users=False)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-supervisor")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="supervisor"))
    if ExceptionCase.objects.count() >= n_open + n_resolved:
        return
    rng = random.Random(7)
    now = timezone.now()
    site = Site.objects.first()
    lines = list(Line.objects.all())
    causes = list(RootCause.objects.all())
    kinds = Kind.values
    groups = list(Group.objects.exclude(name="admin"))
    rows = []
    for k in range(n_open + n_resolved):
        resolved = k >= n_open
        kind = kinds[k % len(kinds)]
        line = lines[k % len(lines)]
        opened = now - timedelta(minutes=rng.randrange(1, 60 * 24 * (60 if resolved else 2)))
        severity = rng.choice([1, 2, 2, 3, 3, 4])
        rows.append(
            ExceptionCase(
                kind=kind,
                key=f"BENCH-{k}",
                site=site,
                line=line,
                title=f"Bench {kind} {k} on {line.code}",
                status="resolved" if resolved else rng.choice(["open", "open", "acknowledged"]),
                base_severity=severity,
                severity=severity,
                severity_reasons=["base from the rule"],
                facts={"line": line.code},
                impact={"lines": [line.code], "orders": [], "jobs": []},
                impact_summary=f"{line.code}: bench",
                affected_label=f"{line.code} · SO-{10101 + k % 80}",
                event_count=rng.randrange(1, 30),
                first_seen_at=opened,
                last_seen_at=opened,
                opened_at=opened,
                updated_at=opened,
                owner_group=rng.choice(groups) if k % 3 == 0 else None,
                root_cause=rng.choice(causes) if resolved else None,
                resolution_note="bench" if resolved else "",
                resolved_at=opened + timedelta(hours=1) if resolved else None,
                condition_active=not resolved,
            )
        )
    ExceptionCase.objects.bulk_create(rows, batch_size=5000)
    board_bump()
    psql("VACUUM ANALYZE", db=DB)  # a fresh table: set the visibility map, as autovacuum would


def queries_per_render() -> dict[str, int]:
    """SQL queries for one render of each view, with a filter giving 1 row and with all rows."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from exceptions.selectors import board_version

    client = Client(HTTP_HOST="127.0.0.1")
    assert client.login(username="bench-supervisor", password=PASSWORD)
    counts = {}
    for label, query in (("all rows", ""), ("1 row", "line=L1&kind=downtime&owner=none")):
        client.get(f"/board/?{query}")  # warm the session and permission caches
        with CaptureQueriesContext(connection) as page:
            assert client.get(f"/board/?{query}").status_code == 200
        with CaptureQueriesContext(connection) as partial:
            r = client.get(f"/board/?{query}&since=0", HTTP_HX_REQUEST="true")
            assert r.status_code == 200
        with CaptureQueriesContext(connection) as unchanged:
            r = client.get(f"/board/?{query}&since={board_version()}", HTTP_HX_REQUEST="true")
            assert r.status_code == 204
        counts[f"page ({label})"] = len(page)
        counts[f"partial ({label})"] = len(partial)
        counts[f"unchanged ({label})"] = len(unchanged)
    return counts


class Session:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self) -> None:
        status, body = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        form = urlencode(
            {"username": "bench-supervisor", "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://127.0.0.1/"},
        )
        assert status == 302, f"login failed: {status}"


def timed(session: Session, path: str, n: int, headers=None, expect=200) -> list[float]:
    for _ in range(10):  # warm-up (connection, caches)
        session.request("GET", path, headers=headers)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        status, _ = session.request("GET", path, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert status == expect, f"{path}: {status}"
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=5000)
    ap.add_argument("--resolved", type=int, default=50000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()

    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'") != "1":
        psql(f"CREATE DATABASE {DB}")
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=ENV, check=True
    )
    django_setup(ENV)
    t0 = time.perf_counter()
    seed(args.open, args.resolved)
    print(f"seeded in {time.perf_counter() - t0:.1f} s")
    queries = queries_per_render()

    from exceptions.selectors import board_version

    web, port = gunicorn(ENV, workers=2, threads=4)
    try:
        session = Session(port)
        session.login()
        htmx = {"HX-Request": "true"}
        version = board_version()
        results = {
            "board page": timed(session, "/board/", args.requests),
            "refresh partial (changed)": timed(
                session, f"/board/?since={version - 1}", args.requests, htmx
            ),
            "refresh, nothing changed (204)": timed(
                session, f"/board/?since={version}", args.requests, htmx, expect=204
            ),
        }
        _, body = session.request("GET", "/board/")
        rows = body.count(b'<tr id="case-')
        more = re.search(rb"and <strong>(\d+)</strong> more", body)
    finally:
        stop([web])
        if not args.keep:
            from django.db import connections

            connections.close_all()
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")

    targets = {
        "board page": 100,
        "refresh partial (changed)": 50,
        "refresh, nothing changed (204)": 5,
    }
    lines = [
        f"{args.open:,} open and {args.resolved:,} resolved exceptions, PostgreSQL, gunicorn "
        f"(2 workers x 4 threads), {args.requests} sequential requests each, keep-alive.",
        f"The page shows {rows} rows and counts the rest ({more.group(1).decode() if more else 0}"
        " more).",
        "",
        "| request | p50 ms | p95 ms | target p95 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, values in results.items():
        lines.append(
            f"| {name} | {statistics.median(values):.1f} | {pct(values, 95):.1f} | "
            f"≤ {targets[name]} ms |"
        )
    lines += ["", "| SQL queries per render | count |", "| --- | ---: |"]
    lines += [f"| {name} | {n} |" for name, n in queries.items()]
    report = "\n".join(lines)
    print(report)
    (ROOT / "bench" / "BOARD.md").write_text(
        "# Board benchmark\n\n"
        f"Reproduce: `.venv/bin/python bench/board.py --open {args.open} "
        f"--resolved {args.resolved} --requests {args.requests}` (needs PostgreSQL on "
        "127.0.0.1:5432; creates and drops `plantcoord_bench_board`).\n\n"
        + report
        + "\n\nThe unchanged refresh reads one counter row (`BoardVersion`, primary key) "
        "besides the session and user; the page and the partial run the count and the top-N "
        "query on the `exception_board` partial index, so their query count does not grow "
        "with rows.\n"
    )


if __name__ == "__main__":
    main()
