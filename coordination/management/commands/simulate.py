"""``manage.py simulate``: the demo plant running by itself, talking to the app as an MES/ERP would.

A SimPy model of the demo plant's four lines through shifts: breakdowns and repairs (MTBF and
MTTR per line, exponential), production counts every 15 minutes with scrap (and the odd scrap
burst), material shortages with late receipts, labour absences at shift change, quality holds
and customer order changes. Every signal is a CloudEvent POSTed to ``/api/v1/events`` with an
integration key (``--url``, ``--key``) — the public API only: this command never opens the
database (it runs no system checks and reads the plant's jobs, lots and orders through the API,
signed in as a demo user).

``--dry-run`` prints the CloudEvents as JSON lines instead, on simulated time from ``--start``
(default 2026-01-05 06:00 UTC), with ids from the seed: the same seed gives byte-identical
output. Live, events carry the wall-clock time they are sent, as a real MES stamps them, so
``--speed 60`` (an hour of plant per minute) compresses every duration by 60 in the metrics.
``--respond`` plays the people too: through the same API, as the demo users, it acknowledges
exceptions, decides tasks and resolves exceptions with a root cause after realistic delays.
"""

import contextlib
import json
import math
import os
import random
import sys
import time as wallclock
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from coordination.demo import DEMO_PASSWORD, HOLD_REASONS, LINES, MATERIALS, SHIFTS, SITE_CODE

HOUR = 3600.0
MINUTE = 60.0
PROGRESS_EVERY = 15 * MINUTE


@dataclass(frozen=True)
class LineParams:
    """A line's reliability: mean time between failures and to repair (both exponential)."""

    mtbf_h: float
    mttr_min: float
    crew: int


# Per line of the demo plant: the glass line breaks most, the can line least.
LINE_PARAMS = {
    "L1": LineParams(mtbf_h=6.0, mttr_min=35.0, crew=4),
    "L2": LineParams(mtbf_h=9.0, mttr_min=25.0, crew=4),
    "L3": LineParams(mtbf_h=4.5, mttr_min=45.0, crew=3),
    "L4": LineParams(mtbf_h=7.0, mttr_min=30.0, crew=3),
}
SCRAP_RATE = 0.004  # normal scrap share of a 15-minute count
SCRAP_BURST_P = 0.03  # chance a 15-minute count carries a burst
SCRAP_BURST = (0.06, 0.15)  # scrap share in a burst (uniform)
SHORTAGE_EVERY_H = 6.0  # plant-wide, exponential
RECEIPT_DELAY_MIN = (30.0, 150.0)  # the late receipt that ends a shortage (uniform)
ABSENCE_P = 0.06  # each crew member, at each shift change (binomial)
HOLD_EVERY_H = 8.0
ORDER_CHANGE_EVERY_H = 5.0
FAILURE_REASONS = ["filler jam", "conveyor motor trip", "label feed fault", "air pressure low",
                   "sensor fault", "capper torque alarm"]  # fmt: skip
DEFECT_CODES = ["SEAL", "FILL", "PART", "CERT"]


@dataclass
class Layout:
    """What the plant has: lines with assets and a rate, jobs per line, lots, open orders."""

    lines: dict[str, dict]
    jobs: dict[str, list[str]]
    lots: list[str]
    orders: list[str]
    materials: list[tuple[str, str]] = field(
        default_factory=lambda: [(c, u) for c, _, u in MATERIALS]
    )


def demo_layout() -> Layout:
    """The demo plant's shape from its definition (no database): for ``--dry-run``."""
    lines = {
        code: {"assets": [f"{code}-{a.upper().replace(' ', '-')}" for a in assets],
               "rate": min(rate for rate, _ in families.values())}
        for code, _, assets, families in LINES
    }  # fmt: skip
    jobs = {code: [f"WO-{60001 + 10 * k + j}" for j in range(8)] for k, code in enumerate(lines)}
    lots = [f"LOT-SIM-{k:04d}" for k in range(1, 41)]
    orders = [f"SO-{10001 + k}" for k in range(40)]
    return Layout(lines, jobs, lots, orders)


class Plant:
    """The SimPy model. ``emit(event)`` receives each CloudEvent as it happens."""

    def __init__(self, env, rng: random.Random, layout: Layout, *, seed: int, start, emit, stamp):
        self.env, self.rng, self.layout = env, rng, layout
        self.seed, self.start, self.emit, self.stamp = seed, start, emit, stamp
        self.n = 0
        self.up = {code: True for code in layout.lines}
        self.counts: dict[str, list[int]] = {}
        self.job_index = {code: 0 for code in layout.lines}

    def event(self, type_: str, source: str, data: dict) -> None:
        self.n += 1
        self.emit(
            {
                "specversion": "1.0",
                "id": f"sim-{self.seed}-{self.n:06d}",
                "source": f"sim/{SITE_CODE.lower()}/{source}",
                "type": type_,
                "time": self.stamp(self.env.now),
                "datacontenttype": "application/json",
                "data": {"site": SITE_CODE, **data},
            }
        )

    def run(self) -> None:
        for code in self.layout.lines:
            self.env.process(self.line_failures(code))
            self.env.process(self.line_counts(code))
        self.env.process(self.shifts())
        self.env.process(self.shortages())
        self.env.process(self.holds())
        self.env.process(self.order_changes())

    def job(self, line: str) -> str | None:
        jobs = self.layout.jobs.get(line) or []
        return jobs[self.job_index[line] % len(jobs)] if jobs else None

    def line_failures(self, line: str):
        params = LINE_PARAMS.get(line, LineParams(8.0, 30.0, 3))
        assets = self.layout.lines[line]["assets"] or [None]
        while True:
            yield self.env.timeout(self.rng.expovariate(1 / (params.mtbf_h * HOUR)))
            repair = max(5 * MINUTE, self.rng.expovariate(1 / (params.mttr_min * MINUTE)))
            asset = self.rng.choice(assets)
            data = {"line": line, "status": "down", "reason": self.rng.choice(FAILURE_REASONS)}
            if asset:
                data["asset"] = asset
            self.up[line] = False
            self.event("equipment.status", line, data)
            yield self.env.timeout(repair)
            self.up[line] = True
            self.event("equipment.status", line, {"line": line, "status": "running"})

    def line_counts(self, line: str):
        rate = self.layout.lines[line]["rate"]
        while True:
            yield self.env.timeout(PROGRESS_EVERY)
            job = self.job(line)
            if not self.up[line] or job is None:
                continue
            made = int(rate / 4 * self.rng.uniform(0.85, 1.0))
            share = SCRAP_RATE
            if self.rng.random() < SCRAP_BURST_P:
                share = self.rng.uniform(*SCRAP_BURST)
            scrap = int(made * share)
            good, bad = self.counts.setdefault(job, [0, 0])
            self.counts[job] = [good + made - scrap, bad + scrap]
            self.event(
                "production.progress",
                line,
                {
                    "job": job,
                    "line": line,
                    "good": self.counts[job][0],
                    "scrap": self.counts[job][1],
                },
            )

    def shifts(self):
        """At each shift change (and at the start): staffing per line, and the next job."""
        starts = sorted((s.hour, code) for code, _, s, _, _ in SHIFTS)
        now = self.start
        current = next((c for h, c in reversed(starts) if h <= now.hour), starts[-1][1])
        self.staff(current)
        while True:
            now = self.start + timedelta(seconds=self.env.now)
            hour, code = next(((h, c) for h, c in starts if h > now.hour), starts[0])
            nxt = now.replace(hour=hour, minute=0, second=0, microsecond=0)
            if nxt <= now:
                nxt += timedelta(days=1)
            yield self.env.timeout((nxt - now).total_seconds())
            for line in self.layout.lines:
                self.job_index[line] += 1
            self.staff(code)

    def staff(self, shift: str) -> None:
        for line in self.layout.lines:
            crew = LINE_PARAMS.get(line, LineParams(8.0, 30.0, 3)).crew
            absent = sum(self.rng.random() < ABSENCE_P for _ in range(crew))
            self.event(
                "labor.availability",
                line,
                {"line": line, "shift": shift, "available": crew - absent, "required": crew},
            )

    def shortages(self):
        while True:
            yield self.env.timeout(self.rng.expovariate(1 / (SHORTAGE_EVERY_H * HOUR)))
            item, uom = self.rng.choice(self.layout.materials)
            line = self.rng.choice(list(self.layout.lines))
            short = self.rng.randrange(5, 50) * 100
            self.event(
                "material.shortage",
                "erp",
                {"item": item, "quantity_short": short, "uom": uom, "line": line},
            )
            self.env.process(self.receipt(item, uom, short))

    def receipt(self, item: str, uom: str, short: int):
        yield self.env.timeout(self.rng.uniform(*RECEIPT_DELAY_MIN) * MINUTE)
        self.event(
            "inventory.level",
            "erp",
            {"item": item, "location": "WH-RAW-01", "quantity": short * 3, "uom": uom},
        )

    def holds(self):
        lots = list(self.layout.lots)
        while lots:
            yield self.env.timeout(self.rng.expovariate(1 / (HOLD_EVERY_H * HOUR)))
            lot = lots.pop(self.rng.randrange(len(lots)))
            self.event(
                "quality.hold",
                "qms",
                {"lot": lot, "reason": self.rng.choice(HOLD_REASONS),
                 "defect_code": self.rng.choice(DEFECT_CODES)},
            )  # fmt: skip

    def order_changes(self):
        while self.layout.orders:
            yield self.env.timeout(self.rng.expovariate(1 / (ORDER_CHANGE_EVERY_H * HOUR)))
            order = self.rng.choice(self.layout.orders)
            when = self.start + timedelta(seconds=self.env.now)
            if self.rng.random() < 0.5:
                data = {"change": "quantity", "quantity": self.rng.randrange(6, 60) * 1000}
            else:
                due = when + timedelta(hours=self.rng.randrange(6, 72))
                data = {"change": "due_date", "due_at": due.isoformat().replace("+00:00", "Z")}
            self.event("order.changed", "erp", {"order": order, **data})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the app, through its public API ----------------------------------------------------------


class Api:
    """The running app over HTTP: events with the integration key, people through sessions."""

    def __init__(self, url: str, key: str, *, timeout: float = 10.0, stop_with: int = 0):
        import requests

        self.requests = requests
        self.url, self.key, self.timeout = url.rstrip("/"), key, timeout
        self.stop_with = stop_with  # a pid: when it ends, so do we (make run)
        self.events = requests.Session()
        self.events.headers.update(
            {"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"}
        )
        self.people: dict[str, object] = {}
        self.sent = self.accepted = self.duplicate = self.rejected = self.failed = 0
        self.failing = 0  # failed sends in a row

    def send(self, event: dict) -> None:
        """POST one event; retried on connection errors and 5xx (an MES buffers and resends)."""
        self.sent += 1
        for attempt in range(5):
            try:
                response = self.events.post(
                    f"{self.url}/api/v1/events", data=json.dumps(event), timeout=self.timeout
                )
            except self.requests.RequestException:
                if _gone(self.stop_with):
                    raise Stopped from None
                wallclock.sleep(0.5 * 2**attempt)
                continue
            if response.status_code >= 500:
                wallclock.sleep(0.5 * 2**attempt)
                continue
            if response.status_code == 202:
                self.accepted += 1
            elif response.status_code == 200:
                self.duplicate += 1
            else:
                self.rejected += 1
                print(f"rejected {event['id']}: {response.status_code} {response.text[:300]}",
                      file=sys.stderr)  # fmt: skip
            self.failing = 0
            return
        self.failed += 1
        self.failing += 1
        if self.failing >= 3:  # the app went away (make run stopped): stop with it
            raise CommandError(f"{self.url} stopped answering; {self.sent} events sent")

    def wait_up(self, timeout: float = 90.0) -> None:
        """Until the app answers ``/healthz`` (it may still be starting, as under make run)."""
        deadline = wallclock.monotonic() + timeout
        while wallclock.monotonic() < deadline:
            try:
                if self.events.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except self.requests.RequestException:
                pass
            wallclock.sleep(1)
        raise CommandError(f"no app answers at {self.url}/healthz")

    def person(self, username: str, password: str):
        """A signed-in session through the login form, as a person in a browser."""
        if username in self.people:
            return self.people[username]
        session = self.requests.Session()
        login = f"{self.url}/accounts/login/"
        session.get(login, timeout=self.timeout)
        response = session.post(
            login,
            data={"username": username, "password": password,
                  "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
            headers={"Referer": login},
            timeout=self.timeout,
            allow_redirects=False,
        )  # fmt: skip
        if response.status_code != 302:
            raise CommandError(f"cannot sign in as {username} at {login}")
        session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
        session.headers["Referer"] = self.url + "/"
        self.people[username] = session
        return session

    def get(self, who, path: str, **params) -> list[dict]:
        response = who.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        if response.status_code != 200:
            return []
        body = response.json()
        return body.get("results", body) if isinstance(body, dict) else body

    def post(self, who, path: str, data: dict) -> int:
        response = who.post(f"{self.url}{path}", json=data, timeout=self.timeout)
        return response.status_code

    def layout(self, username: str, password: str) -> Layout:
        """The real plant's lines, jobs, lots and orders, read through the API."""
        who = self.person(username, password)
        lines = {}
        for line in self.get(who, "/api/v1/lines/"):
            lines[line["code"]] = {"assets": [], "rate": 3000}
        if not lines:
            raise CommandError("the app has no lines: run manage.py seed_demo there first")
        defaults = demo_layout().lines
        for code in lines:
            if code in defaults:
                lines[code] = defaults[code]
        jobs = {
            code: [j["number"] for j in self.get(who, "/api/v1/jobs/", line=code)
                   if j.get("status") in ("planned", "released", "running")][:8]
            for code in lines
        }  # fmt: skip
        lots = [lot["code"] for lot in self.get(who, "/api/v1/lots/", status="available")]
        orders = [o["number"] for o in self.get(who, "/api/v1/orders/", status="open")]
        return Layout(lines, jobs, lots, orders)


class Responder:
    """The people, played through the API: acknowledge, decide tasks, resolve with a cause.

    Each exception or task gets its own delay (lognormal, so most are quick and a few slow),
    drawn the first time the responder sees it; it acts once that much time has passed.
    """

    ACK_MEDIAN_MIN = 4.0
    DECIDE_MEDIAN_MIN = 12.0
    RESOLVE_MEDIAN_MIN = 25.0
    ROLES = ("supervisor", "maintenance", "procurement", "quality", "planner", "sales")

    def __init__(self, env, api: Api, rng: random.Random, password: str):
        self.env, self.api, self.rng, self.password = env, api, rng, password
        self.seen: dict[tuple, float] = {}
        self.causes: list[int] = []
        self.acted = {"acknowledged": 0, "decided": 0, "resolved": 0}

    def _due(self, key: tuple, median_min: float) -> bool:
        """Has this item's own delay passed, in plant time (so ``--speed`` compresses it too)?"""
        now = self.env.now
        if key not in self.seen:
            self.seen[key] = now + median_min * MINUTE * math.exp(self.rng.gauss(0, 0.6))
        return now >= self.seen[key]

    def tick(self) -> None:
        api, supervisor = self.api, self.api.person("supervisor", self.password)
        if not self.causes:
            self.causes = [c["id"] for c in api.get(supervisor, "/api/v1/root-causes/")]
        for case in api.get(supervisor, "/api/v1/exceptions/", status="open"):
            if not self._due(("ack", case["id"]), self.ACK_MEDIAN_MIN):
                continue
            if api.post(supervisor, f"/api/v1/exceptions/{case['id']}/acknowledge", {}) < 300:
                self.acted["acknowledged"] += 1
        for role in self.ROLES:
            who = api.person(role, self.password)
            for task in api.get(who, "/api/v1/tasks/"):
                if task["status"] not in ("open", "claimed") or task.get("paused_at"):
                    continue
                if not self._due(("task", task["id"]), self.DECIDE_MEDIAN_MIN):
                    continue
                option = next((o for o in task["options"] if not o.get("needs_value")), None)
                if option is None:
                    continue
                body = {
                    "option": option["value"],
                    "rationale": "simulated shift: decided on the floor",
                }
                if api.post(who, f"/api/v1/tasks/{task['id']}/complete", body) < 300:
                    self.acted["decided"] += 1
        for case in api.get(supervisor, "/api/v1/exceptions/", status="acknowledged"):
            if case["condition_active"] or not self.causes:
                continue
            if self._due(("resolve", case["id"]), self.RESOLVE_MEDIAN_MIN):
                body = {"root_cause": self.rng.choice(self.causes), "note": "simulated shift"}
                if api.post(supervisor, f"/api/v1/exceptions/{case['id']}/resolve", body) < 300:
                    self.acted["resolved"] += 1


class Command(BaseCommand):
    help = "Run the demo plant through shifts and send its signals to a running app (SimPy)."
    requires_system_checks: list = []  # never touches the database: the API is its only door

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running app")
        parser.add_argument(
            "--key", default=os.environ.get("SIMULATOR_KEY", ""),
            help="integration key (Bearer pck_…); default $SIMULATOR_KEY, kept out of ps",
        )  # fmt: skip
        parser.add_argument("--hours", type=float, default=8.0, help="plant hours to run")
        parser.add_argument(
            "--speed", type=float, default=60.0,
            help="plant seconds per wall second (60: an hour a minute; 0: as fast as possible)",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--dry-run", action="store_true", help="print the events, send none")
        parser.add_argument("--start", default="2026-01-05T06:00:00Z", help="--dry-run's clock")
        parser.add_argument("--respond", action="store_true", help="play the people too")
        parser.add_argument("--user", default="supervisor", help="who reads the plant's layout")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="the demo users' password")
        parser.add_argument(
            "--stop-with", type=int, default=0, metavar="PID",
            help="stop when this process ends (make run passes the web server's pid)",
        )  # fmt: skip
        parser.add_argument(
            "--respond-every", type=float, default=2.0,
            help="wall seconds between the people's rounds (with --speed 0: every 2 plant min)",
        )  # fmt: skip

    def handle(self, *args, **opts):
        import simpy

        if opts["hours"] <= 0 or opts["hours"] > 24 * 31:
            raise CommandError("--hours must be between 0 and 744")
        if opts["speed"] < 0:
            raise CommandError("--speed must be 0 (as fast as possible) or more")
        rng = random.Random(opts["seed"])
        if opts["dry_run"]:
            try:
                start = datetime.fromisoformat(opts["start"].replace("Z", "+00:00"))
            except ValueError as error:
                raise CommandError("--start must be an ISO 8601 date-time") from error
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            out = self.stdout

            def emit(event):
                out.write(json.dumps(event, sort_keys=True, separators=(",", ":")))

            env = simpy.Environment()
            plant = Plant(env, rng, demo_layout(), seed=opts["seed"], start=start, emit=emit,
                          stamp=lambda t: _iso(start + timedelta(seconds=t)))  # fmt: skip
            plant.run()
            env.run(until=opts["hours"] * HOUR)
            return
        if not opts["key"]:
            raise CommandError("--key is required (manage.py create_integration_key NAME)")
        api = Api(opts["url"], opts["key"], stop_with=opts["stop_with"])
        api.wait_up()
        layout = api.layout(opts["user"], opts["password"])
        start = datetime.now(UTC)
        speed = opts["speed"]
        env = (
            simpy.rt.RealtimeEnvironment(factor=1 / speed, strict=False)
            if speed
            else simpy.Environment()
        )
        plant = Plant(env, rng, layout, seed=opts["seed"], start=start, emit=api.send,
                      stamp=lambda t: _iso(datetime.now(UTC)))  # fmt: skip
        plant.run()
        responder = None
        if opts["respond"]:
            responder = Responder(env, api, random.Random(opts["seed"] + 1), opts["password"])
            every = opts["respond_every"] * speed if speed else 2 * MINUTE
            env.process(_respond(env, responder, every))
        if opts["stop_with"]:
            env.process(_watch(env, opts["stop_with"], every=speed or MINUTE))
        began = wallclock.monotonic()
        with contextlib.suppress(Stopped):
            env.run(until=opts["hours"] * HOUR)
        summary = {
            "events": plant.n,
            "sent": api.sent,
            "accepted": api.accepted,
            "duplicate": api.duplicate,
            "rejected": api.rejected,
            "failed": api.failed,
            "wall_s": round(wallclock.monotonic() - began, 1),
        }
        if responder:
            summary |= responder.acted
        self.stdout.write(json.dumps(summary, sort_keys=True))


class Stopped(Exception):
    """The process named by --stop-with has ended."""


def _gone(pid: int) -> bool:
    """Has process ``pid`` ended? (signal 0 only asks, it sends nothing)"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user
    return False


def _watch(env, pid: int, every: float):
    """Once a wall second: stop when ``pid`` has ended."""
    while True:
        yield env.timeout(every)
        if _gone(pid):
            raise Stopped


def _respond(env, responder: Responder, every: float):
    api = responder.api
    while True:
        yield env.timeout(every)
        try:
            responder.tick()
        except api.requests.RequestException as error:
            if _gone(api.stop_with):
                raise Stopped from None
            api.failing += 1
            if api.failing >= 3:
                raise CommandError(f"{api.url} stopped answering: {error}") from error
