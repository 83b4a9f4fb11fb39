"""Apply a processing chunk's events of one type as sets, not one at a time.

The one-at-a-time path (``apply.event_apply``: a savepoint, a watermark upsert, an update,
per event) is the reference: for the same chunk this module must leave the database
exactly as that path does, which ``tests/integrations/test_set_apply_property.py`` checks
on random streams. For one type it

1. resolves every reference of the chunk with one query per table (sites, lines, assets,
   items, locations, shifts, jobs) and fails, with the reference path's very message, the
   events whose reference does not resolve — they change nothing, so they need no
   savepoint;
2. locks and reads the watermarks of all the things touched with one upsert (sorted by
   key: concurrent chunks lock in the same order and do not deadlock), decides applied or
   stale per event in memory, and moves the marks with one ``UPDATE … FROM unnest(…)``;
3. writes each thing's newest state with one statement per table.

Only the telemetry types that arrive by the hundred per second are here; the rarer ones
that change state through transitions and the outbox (holds, dispositions, order changes,
maintenance) and any type added later keep the one-at-a-time path (``SET_TYPES``).
Anything unexpected raises: the caller rolls the type's savepoint back and applies its
events one at a time, so a surprise costs speed, never a different outcome.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from . import models as plant
from .apply import _why
from .events import PlantEvent, batch_cache
from .services import transition_apply

APPLIED, STALE, FAILED = "applied", "stale", "failed"
SITES = "apply:sites"  # batch cache: site code -> Site


@dataclass(frozen=True)
class Outcome:
    status: str  # APPLIED, STALE or FAILED
    error: str = ""
    field: str = ""


class _Refused(Exception):
    """An event whose reference does not resolve: it fails alone, with this message."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _unknown(model, field: str, value) -> _Refused:
    """The reference path's message for a missing row (``apply._get``)."""
    return _Refused(field, f"unknown {model._meta.verbose_name} {value!r}")


def events_apply_set(event_type: str, events: list[PlantEvent]) -> dict[int, Outcome]:
    """Apply ``events`` (all of ``event_type``, in the chunk's order); an outcome per inbox id.

    Called by ingestion inside a savepoint of the chunk's transaction; raises on anything
    the one-at-a-time path would have to judge (the caller then falls back to it).
    """
    cache = batch_cache()  # sites are master data: once per processing batch
    sites = cache.setdefault(SITES, {})
    missing = {e.site for e in events} - sites.keys()
    if missing:
        sites.update(_by_code(plant.Site, missing))
    outcomes: dict[int, Outcome] = {}
    valid = []
    for event in events:
        if event.site not in sites:
            refused = _unknown(plant.Site, "data.site", event.site)
            outcomes[event.inbox_id] = Outcome(FAILED, refused.message, refused.field)
        else:
            valid.append(event)
    SET_APPLIERS[event_type](valid, sites, outcomes)
    return outcomes


def _by_code(model, codes: Iterable[str], **filters) -> dict:
    return {row.code: row for row in model.objects.filter(code__in=set(codes), **filters)}


def _refuse_each(events, outcomes, check: Callable[[PlantEvent], object]) -> list[tuple]:
    """``check`` each event (it raises ``_Refused`` or returns what the event resolves to);
    returns (event, resolved) of the events that pass, the others are failed."""
    passed = []
    for event in events:
        try:
            passed.append((event, check(event)))
        except _Refused as refused:
            outcomes[event.inbox_id] = Outcome(FAILED, refused.message, refused.field)
    return passed


# --- watermarks -------------------------------------------------------------------------


def _decide(keyed: list[tuple[str, PlantEvent, object]], outcomes) -> list[tuple]:
    """Applied or stale for each (key, event, resolved), as the per-event upserts would
    decide in this order; returns the applied ones and moves the marks.

    One upsert locks every mark (creating a missing one at the earliest time seen here,
    which every event of that key then passes, as with no mark) and returns its time; the
    row locks are held until commit, so another chunk touching the same thing waits here
    and things no other chunk touches never wait.
    """
    if not keyed:
        return []
    earliest: dict[str, datetime] = {}
    for key, event, _ in keyed:
        earliest[key] = min(earliest.get(key, event.time), event.time)
    keys = sorted(earliest)
    table = plant.Watermark._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, time) SELECT * FROM unnest(%s::text[], "
            f"%s::timestamptz[]) ON CONFLICT (key) DO UPDATE SET time = {table}.time "
            "RETURNING key, time",
            [keys, [earliest[k] for k in keys]],
        )
        marks = dict(cursor.fetchall())
    start = dict(marks)
    applied = []
    for key, event, resolved in keyed:
        if event.time >= marks[key]:
            marks[key] = event.time
            applied.append((key, event, resolved))
            outcomes[event.inbox_id] = Outcome(APPLIED)
        else:
            outcomes[event.inbox_id] = Outcome(STALE)
    moved = [k for k in keys if marks[k] != start[k]]
    if moved:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS w SET time = v.time FROM unnest(%s::text[], "
                "%s::timestamptz[]) AS v(key, time) WHERE w.key = v.key",
                [moved, [marks[k] for k in moved]],
            )
    return applied


def _newest(applied: list[tuple]) -> dict[str, tuple]:
    """Per key, the last applied (event, resolved): the state that wins."""
    return {key: (event, resolved) for key, event, resolved in applied}


# --- per type ---------------------------------------------------------------------------


def _lines(events, sites) -> dict[tuple[str, int], plant.Line]:
    lines = plant.Line.objects.filter(
        code__in={e.data["line"] for e in events if e.data.get("line")}
    )
    return {(line.code, line.site_id): line for line in lines}


def _line_of(event, sites, lines) -> plant.Line:
    site = sites[event.site]
    line = lines.get((event.data["line"], site.pk))
    if line is None:
        raise _Refused("data.line", f"unknown line {event.data['line']!r} at site {site.code}")
    return line


def _equipment_status(events, sites, outcomes) -> None:
    lines = _lines(events, sites)
    assets = set(
        plant.Asset.objects.filter(
            code__in={e.data["asset"] for e in events if e.data.get("asset")},
            line__in=[line.pk for line in lines.values()],
        ).values_list("code", "line_id")
    )

    def check(event):
        line = _line_of(event, sites, lines)
        if (asset := event.data.get("asset")) and (asset, line.pk) not in assets:
            raise _unknown(plant.Asset, "data.asset", asset)
        return line

    passed = _refuse_each(events, outcomes, check)
    applied = _decide([(f"line-status:{line.pk}", e, line) for e, line in passed], outcomes)
    # Per line, from its applied signals in order: the last status and reason, and when
    # the status last changed. A change inside the chunk is known here; whether the first
    # signal changes the stored status is for the UPDATE to see (it reads the row it locks).
    state: dict[int, dict] = {}
    for _, event, line in applied:
        status, reason = event.data["status"], event.data.get("reason", "")[:200]
        mine = state.get(line.pk)
        if mine is None:
            state[line.pk] = {"status": status, "reason": reason, "first": status,
                              "first_time": event.time, "changed": None}  # fmt: skip
            continue
        if status != mine["status"]:
            mine["changed"] = event.time
        mine["status"], mine["reason"] = status, reason
    if not state:
        return
    ids = sorted(state)
    columns = ("status", "reason", "first", "first_time", "changed")
    table = plant.Line._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS l SET status = v.status, status_reason = v.reason, "
            "status_since = COALESCE(v.changed, CASE WHEN l.status <> v.first "
            "THEN v.first_time ELSE l.status_since END) "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
            "%s::timestamptz[], %s::timestamptz[]) AS v(id, status, reason, first, "
            "first_time, changed) WHERE l.id = v.id",
            [ids, *([state[i][name] for i in ids] for name in columns)],
        )


def _inventory_level(events, sites, outcomes) -> None:
    items = _by_code(plant.Item, (e.data["item"] for e in events))
    locations = {
        (loc.code, loc.site_id): loc
        for loc in plant.Location.objects.filter(code__in={e.data["location"] for e in events})
    }

    def check(event):
        data, site = event.data, sites[event.site]
        item = items.get(data["item"])
        if item is None:
            raise _unknown(plant.Item, "data.item", data["item"])
        location = locations.get((data["location"], site.pk))
        if location is None:
            raise _unknown(plant.Location, "data.location", data["location"])
        if data.get("uom") and data["uom"] != item.uom:
            raise _Refused("data.uom", f"item {item.code} is counted in {item.uom}")
        return item, location

    passed = _refuse_each(events, outcomes, check)
    keyed = [(f"stock:{item.pk}:{loc.pk}", e, (item, loc)) for e, (item, loc) in passed]
    newest = _newest(_decide(keyed, outcomes))
    if newest:
        plant.Stock.objects.bulk_create(  # one upsert for every position
            [
                plant.Stock(
                    item=item,
                    location=location,
                    quantity=Decimal(str(event.data["quantity"])),
                    updated_at=event.time,
                )
                for _, (event, (item, location)) in sorted(newest.items())
            ],
            update_conflicts=True,
            unique_fields=["item", "location"],
            update_fields=["quantity", "updated_at"],
        )


def _production_progress(events, sites, outcomes) -> None:
    """Counts are cumulative; the first counts start a job that was not running yet."""
    jobs = {
        job.number: job
        for job in plant.Job.objects.select_for_update(of=("self",))
        .select_related("line")
        .filter(number__in={e.data["job"] for e in events})
        .order_by("pk")  # lock in one order across chunks
    }

    def check(event):
        data = event.data
        job = jobs.get(data["job"])
        if job is None or job.line.site_id != sites[event.site].pk:
            raise _Refused("data.job", f"unknown job {data['job']!r}")
        if data.get("line") and data["line"] != job.line.code:
            raise _Refused(
                "data.line", f"job {job.number} runs on {job.line.code}, not {data['line']}"
            )
        if job.status in (plant.Job.Status.COMPLETED, plant.Job.Status.CANCELLED):
            raise _Refused("data.job", f"job {job.number} is {job.status}")
        return job

    passed = _refuse_each(events, outcomes, check)
    applied = _decide([(f"job-progress:{job.pk}", e, job) for e, job in passed], outcomes)
    newest = _newest(applied)
    if not newest:
        return
    counts = sorted((job.pk, e.data["good"], e.data["scrap"]) for e, job in newest.values())
    table = plant.Job._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS j SET good_quantity = v.good, scrap_quantity = v.scrap "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, good, scrap) "
            "WHERE j.id = v.id",
            [list(column) for column in zip(*counts, strict=True)],
        )
    for _, event, job in applied:
        if job.status != plant.Job.Status.RUNNING and event.data["good"] + event.data["scrap"] > 0:
            # The first counts mean the line started the job, whatever the plan said.
            transition_apply(job.start, via=plant.StateChange.Via.EVENT, reason=_why(event))


def _material_shortage(events, sites, outcomes) -> None:
    """Nothing in the picture changes; the references must exist for the exception."""
    items = _by_code(plant.Item, (e.data["item"] for e in events))
    lines = _lines(events, sites)

    def check(event):
        if event.data["item"] not in items:
            raise _unknown(plant.Item, "data.item", event.data["item"])
        if event.data.get("line"):
            _line_of(event, sites, lines)

    for event, _ in _refuse_each(events, outcomes, check):
        outcomes[event.inbox_id] = Outcome(APPLIED)


def _labor_availability(events, sites, outcomes) -> None:
    lines = _lines(events, sites)
    shifts = {
        (shift.code, shift.site_id): shift
        for shift in plant.Shift.objects.filter(code__in={e.data["shift"] for e in events})
    }

    def check(event):
        line = _line_of(event, sites, lines)
        shift = shifts.get((event.data["shift"], sites[event.site].pk))
        if shift is None:
            raise _unknown(plant.Shift, "data.shift", event.data["shift"])
        return line, shift, event.data.get("skill", "")

    keyed = [
        (f"staffing:{line.pk}:{shift.pk}:{skill}", e, (line, shift, skill))
        for e, (line, shift, skill) in _refuse_each(events, outcomes, check)
    ]
    newest = _newest(_decide(keyed, outcomes))
    if newest:
        plant.Staffing.objects.bulk_create(
            [
                plant.Staffing(
                    line=line,
                    shift=shift,
                    skill=skill,
                    available=event.data["available"],
                    required=event.data["required"],
                    updated_at=event.time,
                )
                for _, (event, (line, shift, skill)) in sorted(newest.items())
            ],
            update_conflicts=True,
            unique_fields=["line", "shift", "skill"],
            update_fields=["available", "required", "updated_at"],
        )


SET_APPLIERS: dict[str, Callable[[list[PlantEvent], dict, dict], None]] = {
    "equipment.status": _equipment_status,
    "inventory.level": _inventory_level,
    "production.progress": _production_progress,
    "material.shortage": _material_shortage,
    "labor.availability": _labor_availability,
}
SET_TYPES = frozenset(SET_APPLIERS)
