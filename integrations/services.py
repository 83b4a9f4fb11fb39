"""Ingestion: keys, accepting events into the inbox, and processing them into the domain."""

import json
import logging
import secrets
from dataclasses import replace
from datetime import timedelta
from functools import partial
from itertools import groupby

import psycopg
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DataError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from coordination.apply import EventApplyError, event_apply
from coordination.apply_set import FAILED, SET_TYPES, events_apply_set
from coordination.events import batch_cache, event_batch, event_observers
from coordination.models import Site, StateChange
from kernel.errors import DomainError, NotFoundError, PermissionDeniedError

from .cloudevents import EVENT_TYPES, printable, validate
from .models import InboxEvent, Integration, IntegrationKey, key_digest

log = logging.getLogger(__name__)


class NotFailedError(DomainError):
    """Only failed (parked) events are reprocessed."""

    code = "not_failed"


KEY_PREFIX = "pck_"  # "plant coordination key": recognisable in logs and secret scanners
PROCESS_CHUNK = 50  # events per processing task (one transaction): workers share big batches


# --- keys -----------------------------------------------------------------------------------


def integration_key_create(
    *, name: str, types: list[str] | None = None, site_code: str | None = None
) -> tuple[Integration, str]:
    """Create (or reuse) the integration ``name`` and give it a new key; returns the clear key,
    which is never stored and cannot be shown again."""
    unknown = [t for t in types or [] if t not in EVENT_TYPES]
    if unknown:
        raise DomainError(
            f"unknown event type(s): {', '.join(unknown)}; one of {', '.join(EVENT_TYPES)}",
            field="types",
        )
    site = None
    if site_code:
        site = Site.objects.filter(code=site_code).first()
        if site is None:
            raise NotFoundError(f"unknown site {site_code!r}", field="site")
    elif Site.objects.count() == 1:
        site = Site.objects.get()  # one-site plants need not say it
    with transaction.atomic():
        integration, created = Integration.objects.get_or_create(
            name=name, defaults={"site": site, "allowed_types": types or []}
        )
        if not created and types is not None:
            integration.allowed_types = types
            integration.save(update_fields=["allowed_types"])
        if not created and site_code:
            integration.site = site
            integration.save(update_fields=["site"])
        raw = integration_key_issue(integration)
    return integration, raw


def integration_key_issue(integration: Integration) -> str:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    IntegrationKey.objects.create(
        integration=integration, prefix=raw[: len(KEY_PREFIX) + 6], digest=key_digest(raw)
    )
    return raw


def integration_key_revoke(*, key_id: int) -> IntegrationKey:
    """Revoked keys stop working at once (every request looks the key up); idempotent."""
    with transaction.atomic():
        key = IntegrationKey.objects.select_for_update().get(pk=key_id)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
    return key


def integration_keys_rotate(*, integration_id: int) -> str:
    """Issue a new key and revoke every older one of the integration, in one transaction;
    returns the new clear key (shown once)."""
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration_id)
        raw = integration_key_issue(integration)
        newest = integration.keys.order_by("-pk").first()
        for key_id in (
            integration.keys.filter(revoked_at__isnull=True)
            .exclude(pk=newest.pk)
            .values_list("pk", flat=True)
        ):
            integration_key_revoke(key_id=key_id)
    return raw


def integration_authenticate(raw_key: str) -> Integration | None:
    """The active integration owning an unrevoked key, or None. One indexed query; the
    key's last use is written at most once a minute, so most calls write nothing."""
    key = (
        IntegrationKey.objects.select_related("integration__site")
        .filter(digest=key_digest(raw_key), revoked_at__isnull=True, integration__active=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - timedelta(minutes=1):
        IntegrationKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.integration


# --- accepting ------------------------------------------------------------------------------

_COLUMNS = (
    "integration_id",
    "source",
    "event_id",
    "type",
    "time",
    "received_at",
    "site",
    "data",
    "attributes",
    "status",
    "attempts",
    "error",
    "error_field",
)


# PostgreSQL array type of each column, for the one-statement bulk insert below.
_PG_ARRAYS = (
    "bigint[]",
    "text[]",
    "text[]",
    "text[]",
    "timestamptz[]",
    "timestamptz[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "int[]",
    "text[]",
    "text[]",
)


def _insert_new(rows: list[tuple]) -> list[tuple[int, str, str]]:
    """One ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the database decides which events
    are new, racing copies included; returns (id, source, event_id) of those stored.

    On PostgreSQL the rows travel as 13 arrays (``unnest``) instead of 13 x n parameters:
    the driver would otherwise spend more time splitting a 1,300-placeholder statement
    than the server spends inserting.
    """
    table = InboxEvent._meta.db_table
    conflict = "ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id"
    if connection.vendor == "postgresql":
        columns = [list(column) for column in zip(*rows, strict=True)]
        selects = ", ".join(f"%s::{kind}" for kind in _PG_ARRAYS)
        casts = ", ".join(
            f"c{k}::jsonb" if name in ("data", "attributes") else f"c{k}"
            for k, name in enumerate(_COLUMNS)
        )
        names = ", ".join(f"c{k}" for k in range(len(_COLUMNS)))
        sql = (
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) SELECT {casts} FROM "
            f"unnest({selects}) AS t({names}) {conflict}"
        )
        connection.ensure_connection()
        # A server-side-binding cursor: the arrays go as parameters, not quoted into the text.
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, columns, binary=True)
            return cursor.fetchall()
    else:
        one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        values = ", ".join([one] * len(rows))
        sql = f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {values} {conflict}"
        params = [value for row in rows for value in row]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def events_accept(*, integration: Integration, raw_events: list) -> list[dict]:
    """Validate, store new events and enqueue their processing after commit.

    Returns one result per input event, in order: accepted, duplicate or rejected (with
    ``errors``, and ``forbidden`` when the key may not send that type). A bad event never
    sinks the good ones.
    """
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value  # raw SQL: store times as Django would
    default_site = integration.site.code if integration.site_id else None
    past, ahead = settings.EVENT_TIME_PAST_DAYS, settings.EVENT_TIME_FUTURE_SECONDS
    window = (now - timedelta(days=past), now + timedelta(seconds=ahead))
    window_text = f"at most {past} days before and {ahead} seconds after its arrival"
    results, rows, positions = [], [], []
    for raw in raw_events:
        event, problems = validate(
            raw, default_site=default_site, window=window, window_text=window_text
        )
        ident = {"source": _echo(raw, "source"), "id": _echo(raw, "id")}
        if event is None:
            results.append({**ident, "status": "rejected", "errors": problems})
            continue
        if not integration.allows(event.type):
            results.append(
                {
                    **ident,
                    "status": "rejected",
                    "forbidden": True,
                    "errors": [
                        {"field": "type", "message": f"this key may not send {event.type} events"}
                    ],
                }
            )
            continue
        positions.append(len(results))
        results.append({**ident, "status": "accepted"})
        rows.append(
            (
                integration.pk,
                event.source,
                event.id,
                event.type,
                adapt(event.time or now),
                adapt(now),
                event.site,
                json.dumps(event.data),
                json.dumps(event.attributes),
                InboxEvent.Status.RECEIVED,
                0,
                "",
                "",
            )
        )
    if not rows:
        return results
    with transaction.atomic():
        stored = {(source, event_id): pk for pk, source, event_id in _insert_new(rows)}
        ids = []
        for position in positions:
            result = results[position]
            pk = stored.pop((result["source"], result["id"]), None)
            if pk is None:  # seen before, or earlier in this very batch
                result["status"] = "duplicate"
            else:
                ids.append(pk)
        for start in range(0, len(ids), PROCESS_CHUNK):
            _enqueue(ids[start : start + PROCESS_CHUNK])
    return results


def _echo(raw, attr: str):
    """An event's ``source`` or ``id`` as the answer repeats it: printable text, a plain
    scalar, or None (never a value the JSON answer cannot carry)."""
    value = raw.get(attr) if isinstance(raw, dict) else None
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, bool | int) or (isinstance(value, float) and value == value):
        return value if abs(value) != float("inf") else None
    return None


# Publishing gives up at once when the broker is away (one immediate reconnect, for a
# connection a Redis restart left stale): kombu's default policy waits ~0.6 s per message.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}


def _enqueue(ids: list[int]) -> None:
    """Queue processing once the rows are committed. The inbox, not the broker, is the
    durable record: if the broker cannot take the message the event stays ``received`` and
    the sweep (``inbox_requeue_stuck``) queues it again; accepting never fails for it."""
    transaction.on_commit(partial(_publish, ids))


def _publish(ids: list[int]) -> None:
    from .tasks import inbox_process_task

    try:
        inbox_process_task.apply_async((ids,), retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # any broker failure; the sweep covers it
        log.warning(
            "inbox events %s… (%d) not queued, the sweep will queue them: %r", ids[0], len(ids), exc
        )


# --- processing -----------------------------------------------------------------------------


def inbox_process(inbox_id: int) -> str | None:
    """Apply one stored event; returns its new status (None: nothing to do)."""
    return inbox_process_batch([inbox_id]).get(inbox_id)


def inbox_process_batch(
    inbox_ids: list[int], *, set_based: bool | None = None, fill: int = 0
) -> dict[int, str]:
    """Apply stored events exactly once, one transaction for the lot; returns new statuses.

    The claim, the changes to the picture, the observers (exceptions) and the statuses all
    commit together: a worker killed half-way leaves every event ``received`` and unchanged,
    and a second copy of the task finds them locked (SKIP LOCKED) or already done.
    Events are applied type by type, each type's in (thing, time) order, so concurrent
    batches take row locks in the same order and do not deadlock.

    ``set_based`` (default: the ``INBOX_APPLY`` setting, "set"): each type's events are
    applied as sets (``coordination.apply_set``) and its observers get them grouped by
    thing; otherwise, and for the types that have no set form, one at a time, each event
    in its own savepoint so that a refused one changes nothing and sinks no other. The
    one-at-a-time path is the reference the set-based one is tested against.

    ``fill`` (the worker's task passes ``INBOX_CHUNK_MAX``): when fewer of ``inbox_ids``
    are waiting, also claim other waiting events, oldest first, up to that many. A worker
    facing a backlog then applies big chunks (the set-based cost is per statement, not per
    event), and the tasks of the events it took find them done. Locked rows are skipped,
    so workers never wait for each other's claims.
    """
    if set_based is None:
        set_based = settings.INBOX_APPLY == "set"
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Safe to lose on a crash: the rows would simply still be ``received`` and be
            # processed again; only acceptance must be durable before we answer.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        # Claim ids only (integers always load), then the rows: one that cannot be loaded
        # is parked on its own instead of sinking its chunk.
        claimed = list(
            InboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=inbox_ids, status=InboxEvent.Status.RECEIVED)
            .values_list("pk", flat=True)
        )
        if fill > len(claimed):
            claimed += (
                InboxEvent.objects.select_for_update(skip_locked=True)
                .filter(status=InboxEvent.Status.RECEIVED)  # the partial index on received_at
                .exclude(pk__in=claimed)
                .order_by("received_at")
                .values_list("pk", flat=True)[: fill - len(claimed)]
            )
        rows, parked = _rows_load(claimed)
        rows.sort(key=lambda row: (row.type, _changed_thing(row), row.time, row.pk))
        with event_batch():
            for event_type, typed in groupby(rows, key=lambda row: row.type):
                typed = list(typed)
                if not (set_based and event_type in SET_TYPES and _process_set(typed)):
                    for row in typed:
                        _process_row(row)
        _statuses_save(rows)
    return {**{row.pk: row.status for row in rows}, **dict.fromkeys(parked, "failed")}


_UNLOADABLE = (ValueError, OverflowError, TypeError, DataError)


def _rows_load(pks: list[int]) -> tuple[list[InboxEvent], list[int]]:
    """The claimed rows, and the ids of those that could not be loaded (parked ``failed``).

    A row an earlier version accepted may hold a value Python cannot represent (a ``time``
    after 9999-12-31 in UTC): loading the chunk raises, so each row is then tried alone.
    """
    if not pks:
        return [], []
    try:
        with transaction.atomic():
            return list(InboxEvent.objects.filter(pk__in=pks)), []
    except _UNLOADABLE:
        pass
    rows, parked = [], []
    for pk in pks:
        try:
            with transaction.atomic():
                rows.append(InboxEvent.objects.get(pk=pk))
        except _UNLOADABLE as exc:
            _row_park_unloadable(pk, exc)
            parked.append(pk)
    return rows, parked


def _row_park_unloadable(pk: int, exc: Exception) -> None:
    """Park a row that cannot be loaded, naming the column at fault; a date-time out of range
    is replaced (``time`` by the arrival) so that lists and the admin can show the row, and
    the original value is kept in the reason."""
    fault, original = "", ""
    for name in ("time", "received_at", "processed_at", "data", "attributes"):
        try:
            with transaction.atomic():
                InboxEvent.objects.filter(pk=pk).values_list(name, flat=True).get()
        except _UNLOADABLE:
            fault = name
            original = (
                InboxEvent.objects.filter(pk=pk)
                .annotate(text=Cast(name, TextField()))
                .values_list("text", flat=True)
                .get()
            )
            break
    log.error("inbox event %s cannot be loaded (%s): parked", pk, fault or exc)
    now = timezone.now()
    changes = {"error_field": fault, "processed_at": now}
    if fault:
        changes["error"] = f"cannot be loaded: {fault} {original} is out of range ({exc})"
        if fault in ("time", "received_at"):
            changes[fault] = F("received_at") if fault == "time" else now
            changes["error"] += (
                f"; {fault} replaced by the {'arrival' if fault == 'time' else 'park'} time"
            )
    else:
        changes["error"] = f"internal error: cannot be loaded: {exc!r}"
    InboxEvent.objects.filter(pk=pk).update(
        status=InboxEvent.Status.FAILED, attempts=F("attempts") + 1, **changes
    )


def _changed_thing(row: InboxEvent) -> str:
    """The thing an event is about (line, job, lot, order, item): a chunk applies each thing's
    signals together, in plant-time order."""
    data = row.data
    return str(
        data.get("line")
        or data.get("job")
        or data.get("lot")
        or data.get("order")
        or data.get("item")
        or ""
    )


def _statuses_save(rows: list[InboxEvent]) -> None:
    """One UPDATE per outcome (applied, stale) and one per failure: ``bulk_update``'s CASE
    expressions cost more than the events themselves."""
    now, by_status = timezone.now(), {}
    for row in rows:
        row.attempts += 1
        row.processed_at = now
        if row.status == InboxEvent.Status.FAILED:
            InboxEvent.objects.filter(pk=row.pk).update(
                status=row.status,
                error=row.error,
                error_field=row.error_field,
                attempts=F("attempts") + 1,
                processed_at=now,
            )
        else:
            by_status.setdefault(row.status, []).append(row.pk)
    for status, pks in by_status.items():
        InboxEvent.objects.filter(pk__in=pks).update(
            status=status, error="", error_field="", attempts=F("attempts") + 1, processed_at=now
        )


def _process_row(row: InboxEvent) -> None:
    try:
        with transaction.atomic():  # a savepoint: a refused event changes nothing
            event = row.as_plant_event()
            applied = event_apply(event)
            event_observers.notify(replace(event, stale=not applied))
    except EventApplyError as exc:
        row.status, row.error, row.error_field = InboxEvent.Status.FAILED, exc.message, exc.field
    except DomainError as exc:
        row.status, row.error = InboxEvent.Status.FAILED, exc.detail
        row.error_field = exc.extra.get("field", "")
    except Exception as exc:  # a bug must park the event, not loop or vanish
        if _transient(exc):
            raise
        log.exception("inbox event %s could not be processed", row.pk)
        row.status, row.error = InboxEvent.Status.FAILED, f"internal error: {exc!r}"
    else:
        row.status = InboxEvent.Status.APPLIED if applied else InboxEvent.Status.STALE


def _process_set(rows: list[InboxEvent]) -> bool:
    """Apply one type's rows of a chunk as sets and tell the observers; False (nothing
    changed) when something unexpected happened, for the caller to apply them one at a time,
    where each event's own savepoint sorts the faulty one from the rest."""
    try:
        with transaction.atomic():  # one savepoint for the type's rows
            events = [row.as_plant_event() for row in rows]
            outcomes = events_apply_set(rows[0].type, events)
            groups: dict[str, list] = {}  # per thing, in the chunk's (plant-time) order
            for row, event in zip(rows, events, strict=True):
                outcome = outcomes[row.pk]
                if outcome.status != FAILED:
                    stale = outcome.status != InboxEvent.Status.APPLIED
                    groups.setdefault(_changed_thing(row), []).append(replace(event, stale=stale))
            event_observers.notify_batch(list(groups.values()))
    except Exception as exc:
        if _transient(exc):
            raise
        log.warning(
            "inbox events %s… (%d %s): set-based apply failed, applying one at a time: %r",
            rows[0].pk,
            len(rows),
            rows[0].type,
            exc,
        )
        # What the batch cache learnt inside the rolled-back savepoint may no longer hold.
        batch_cache().clear()
        return False
    for row in rows:
        outcome = outcomes[row.pk]
        row.status, row.error, row.error_field = outcome.status, outcome.error, outcome.field
    return True


def _transient(exc: Exception) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


class StillUnmappedError(DomainError):
    """An MQTT message mapped again still does not map (its reason is today's)."""

    code = "still_unmapped"


def inbox_reprocess(*, ids: list[int], actor=None, via: str = "web") -> int:
    """Put parked (failed) events back in the queue once their cause is fixed; audited.

    A message that never mapped (MQTT, ``attributes.unmapped``) has no event to apply again:
    it is mapped again from its kept payload instead, by today's mappings (its row is then
    replaced by the event it makes, or parked again with today's reason)."""
    unmapped = set(
        InboxEvent.objects.filter(
            pk__in=ids, status=InboxEvent.Status.FAILED, attributes__unmapped=True
        ).values_list("pk", flat=True)
    )
    mapped = 0
    if unmapped:
        from .mqtt.ingest import failed_map_again  # the adapter that made them

        mapped, _ = failed_map_again(ids=sorted(unmapped))
        ids = [pk for pk in ids if pk not in unmapped]
    with transaction.atomic():
        rows = list(
            InboxEvent.objects.select_for_update()
            .filter(pk__in=ids, status=InboxEvent.Status.FAILED)
            .only("pk", "error")
        )
        pks = [row.pk for row in rows]
        InboxEvent.objects.filter(pk__in=pks).update(
            status=InboxEvent.Status.RECEIVED, error="", error_field=""
        )
        content_type = ContentType.objects.get_for_model(InboxEvent)
        StateChange.objects.bulk_create(
            StateChange(
                content_type=content_type,
                object_id=row.pk,
                transition="reprocess",
                from_state=InboxEvent.Status.FAILED,
                to_state=InboxEvent.Status.RECEIVED,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                via=via,
                reason=f"was: {row.error}"[:1000],
            )
            for row in rows
        )
        for start in range(0, len(pks), PROCESS_CHUNK):
            _enqueue(pks[start : start + PROCESS_CHUNK])
    return len(pks) + mapped


def inbox_event_reprocess(*, event_id: int, actor, via: str) -> InboxEvent:
    """One parked event queued again by a person: only admins, only failed events."""
    if not actor.has_perm("integrations.change_inboxevent"):
        raise PermissionDeniedError("only admins reprocess events")
    event = InboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFoundError(f"event {event_id} does not exist")
    done = inbox_reprocess(ids=[event.pk], actor=actor, via=via)
    # An unmapped MQTT message mapped again is a new row with the same (source, event_id).
    event = InboxEvent.objects.filter(source=event.source, event_id=event.event_id).first() or event
    if not done and event.attributes.get("unmapped") and event.status == InboxEvent.Status.FAILED:
        raise StillUnmappedError(f"it still does not map: {event.error}")
    if not done:
        raise NotFailedError(f"event is {event.status}, not failed")
    return event


def inbox_requeue_stuck(*, older_than: timedelta | None = None, limit: int = 5000) -> int:
    """Re-enqueue events still ``received`` a while after arrival (``INBOX_REQUEUE_AFTER_SECONDS``:
    the broker was away when they arrived, their worker died, or the broker lost the message).
    Harmless if the original task is merely slow: processing claims under a lock and skips
    what is done."""
    if older_than is None:
        older_than = timedelta(seconds=settings.INBOX_REQUEUE_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    ids = list(
        InboxEvent.objects.filter(status=InboxEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(ids), PROCESS_CHUNK):
        _enqueue(ids[start : start + PROCESS_CHUNK])
    return len(ids)
