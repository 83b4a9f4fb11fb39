"""Delivering the outbox: targets, fan-out, the relay, dead letters.

The domain writes ``OutboxMessage`` rows (``coordination.outbox.outbox_add``) in the change's
transaction: lot and order decisions for ERP and MES, and the workflow notifications
(``task.*``, ``decision.recorded``) for webhook receivers, which are targets like any other.
Here, in that same transaction, ``deliveries_fan_out`` (an ``outbox_written`` observer) writes
one ``OutboxDelivery`` per enabled target that wants the topic, and asks for a relay run after
commit. Nothing can be lost between commit and enqueue: the rows are the
queue; the nudge and the beat sweep only wake the relay.

The relay (``outbox_relay``), per batch: **claim** due deliveries in a short transaction with
``SELECT … FOR UPDATE SKIP LOCKED`` and a lease; **send** them outside any transaction (signed
HTTP POSTs, a few at once); **record** the outcomes in a second short transaction. Order: a
delivery is claimed only when no older message of its aggregate is undelivered at its target,
so at most one message per (target, aggregate) is ever in flight; a dead one holds back the
rest of its aggregate there until someone retries it. A worker killed mid-batch leaves leased
rows that become due again when the lease runs out; the receiver de-duplicates the repeat on
``webhook-id``. The relay task and its nudges run on the ``webhooks`` queue
(``CELERY_TASK_ROUTES``): a slow receiver never holds up the default queue's inbox work.
"""

import json
import logging
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import floor

import requests
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone
from standardwebhooks import Webhook

from coordination.models import OutboxMessage, StateChange
from coordination.outbox import TOPICS
from coordination.services import row_locked, transition_apply
from kernel.errors import DomainError, InvalidInputError, PermissionDeniedError

from .models import OutboxDelivery, OutboxTarget, target_secret_new

log = logging.getLogger(__name__)
Status = OutboxDelivery.Status
TRANSIENT_STATUSES = {408, 425, 429}  # and every 5xx: try again later; other 4xx are final


class NotDeadError(DomainError):
    """Only dead (parked) deliveries are retried."""

    code = "not_dead"


# --- targets ------------------------------------------------------------------------------------


def target_topics_clean(topics) -> list[str]:
    if not isinstance(topics, list | tuple) or not all(isinstance(t, str) for t in topics):
        raise InvalidInputError("must be a list of message types", field="topics")
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise InvalidInputError(
            f"unknown message type(s): {', '.join(unknown)}; one of {', '.join(TOPICS)}",
            field="topics",
        )
    return list(topics)


def target_secret_check(secret: str) -> str:
    try:
        Webhook(secret)
    except Exception:
        raise InvalidInputError(
            "must be a Standard Webhooks secret: whsec_ and base64", field="secret"
        ) from None
    if not secret.startswith("whsec_"):
        raise InvalidInputError("must start with whsec_", field="secret")
    return secret


def target_ensure(
    *, name: str, url: str, topics: list[str] | None = None, secret: str | None = None
) -> tuple[OutboxTarget, bool]:
    """Create the target ``name`` or point it at ``url`` (idempotent: ``make run`` calls it
    on every start). A new one gets ``secret`` or a fresh one; an existing one keeps its own
    unless ``secret`` is given. Returns (target, created)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInputError(f"not an http(s) URL: {url!r}", field="url") from None
    topics = target_topics_clean(topics or [])
    if secret is not None:
        target_secret_check(secret)
    with transaction.atomic():
        target, created = OutboxTarget.objects.select_for_update().get_or_create(
            name=name,
            defaults={"url": url, "topics": topics, "secret": secret or target_secret_new()},
        )
        if not created:
            target.url = url
            target.topics = topics
            if secret is not None:
                target.secret = secret
            target.save(update_fields=["url", "topics", "secret"])
    return target, created


def target_secret_rotate(*, target_id: int) -> str:
    """A new signing secret, effective for the next attempt; returns it (shown once)."""
    secret = target_secret_new()
    OutboxTarget.objects.filter(pk=target_id).update(secret=secret)
    return secret


# --- fan-out (inside the message's transaction) ----------------------------------------------


def deliveries_fan_out(messages: list[OutboxMessage]) -> None:
    """``outbox_written`` observer: one delivery per enabled target that wants the topic, for
    a batch of messages in their transaction (one query for the targets, one INSERT), and a
    relay run once it commits."""
    targets = list(OutboxTarget.objects.filter(enabled=True))
    deliveries = [
        OutboxDelivery(
            message=message,
            target=target,
            aggregate=message.aggregate,
            next_attempt_at=message.created_at,
        )
        for message in messages
        for target in targets
        if target.wants(message.topic)
    ]
    if not deliveries:
        return
    OutboxDelivery.objects.bulk_create(deliveries)
    relay_nudge_on_commit()


def topics_subscribed() -> set[str]:
    """The message types at least one enabled target takes (one query)."""
    taken: set[str] = set()
    for topics in OutboxTarget.objects.filter(enabled=True).values_list("topics", flat=True):
        if not topics:
            return set(TOPICS)
        taken.update(topics)
    return taken


def relay_nudge_on_commit() -> None:
    """Ask for one relay run after this transaction commits (once, however many messages
    it wrote). Losing the nudge (broker down) only delays delivery until the beat sweep."""
    connection = transaction.get_connection()
    if any(fn is _nudge for _sids, fn, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_nudge, robust=True)


def _nudge() -> None:
    from .tasks import outbox_relay_task

    outbox_relay_task.delay(time.time())


# --- the relay ----------------------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    token: str
    attempts: int
    lease_ends: float  # time.monotonic() past which this worker must not send it
    url: str
    secret: str
    timeout: float
    key: str
    topic: str
    created_at: datetime
    payload: dict


@dataclass
class Outcome:
    claimed: Claimed
    ok: bool
    transient: bool = True
    status: int | None = None
    error: str = ""
    retry_after: float | None = None
    sent: bool = True
    timed_out: bool = False


def deliveries_claim(*, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries, each the oldest undelivered message of its
    aggregate at its target (short transaction; rows other relays hold are skipped)."""
    now = timezone.now()
    lease = settings.OUTBOX_LEASE_SECONDS
    token = secrets.token_hex(8)
    earlier = OutboxDelivery.objects.filter(
        target_id=OuterRef("target_id"),
        aggregate=OuterRef("aggregate"),
        message_id__lt=OuterRef("message_id"),
    ).exclude(status=Status.DELIVERED)
    with transaction.atomic():
        ids = list(
            OutboxDelivery.objects.filter(
                status=Status.PENDING, next_attempt_at__lte=now, target__enabled=True
            )
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .exclude(Exists(earlier))
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        started = time.monotonic()
        OutboxDelivery.objects.filter(pk__in=ids).update(
            lease_until=now + timedelta(seconds=lease),
            lease_token=token,
            attempts=F("attempts") + 1,
        )
        rows = list(
            OutboxDelivery.objects.filter(pk__in=ids)
            .select_related("message", "target")
            .order_by("id")
        )
    return [
        Claimed(
            id=row.pk,
            token=token,
            attempts=row.attempts,
            lease_ends=started + lease,
            url=row.target.url,
            secret=row.target.secret,
            timeout=row.target.timeout,
            key=str(row.message.key),
            topic=row.message.topic,
            created_at=row.message.created_at,
            payload=row.message.payload,
        )
        for row in rows
    ]


def message_body(*, key: str, topic: str, created_at: datetime, payload: dict) -> str:
    """The Standard Webhooks body: ``{"type", "id", "timestamp", "data"}``."""
    return json.dumps(
        {
            "type": topic,
            "id": key,
            "timestamp": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": payload,
        },
        separators=(",", ":"),
    )


def signed_headers(*, secret: str, key: str, body: str, at: datetime | None = None) -> dict:
    """``webhook-id`` (the message key, the receiver's idempotency key), ``webhook-timestamp``
    (when this attempt was signed) and ``webhook-signature``, by the standardwebhooks package."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": key,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(key, at, body),
        "content-type": "application/json",
        "user-agent": "plantcoord-outbox/1",
    }


_local = threading.local()


def _session() -> requests.Session:
    # One keep-alive session per sending thread.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def delivery_send(claimed: Claimed) -> Outcome:
    """One signed POST, outside any transaction; classifies what came back."""
    if time.monotonic() >= claimed.lease_ends:
        # Our lease ran out while earlier sends were slow: another relay may own it now.
        return Outcome(claimed, ok=False, error="lease expired before sending", sent=False)
    body = message_body(
        key=claimed.key, topic=claimed.topic, created_at=claimed.created_at, payload=claimed.payload
    )
    headers = signed_headers(secret=claimed.secret, key=claimed.key, body=body)
    try:
        response = _session().post(
            claimed.url,
            data=body.encode(),
            headers=headers,
            timeout=claimed.timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        return Outcome(
            claimed, ok=False, error=f"no answer within {claimed.timeout:g} s", timed_out=True
        )
    except requests.RequestException as exc:
        return Outcome(claimed, ok=False, error=f"connection failed: {exc}"[:1000])
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(claimed, ok=True, status=code)
    transient = code >= 500 or code in TRANSIENT_STATUSES
    retry_after = None
    if code == 429:
        try:
            retry_after = float(response.headers.get("retry-after", ""))
        except ValueError:
            retry_after = None
    return Outcome(
        claimed,
        ok=False,
        transient=transient,
        status=code,
        error=f"HTTP {code}: {response.text[:500]}",
        retry_after=retry_after,
    )


def backoff_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then a random 50-100 % of it
    (equal jitter: spreads a herd of retries without ever retrying at once)."""
    delay = min(settings.OUTBOX_BACKOFF_MAX, settings.OUTBOX_BACKOFF_BASE * 2 ** (attempts - 1))
    return delay * random.uniform(0.5, 1.0)


def deliveries_record(outcomes: list[Outcome]) -> dict[str, int]:
    """The outcomes of one claimed batch, in one short transaction, each only if the row is
    still held under its lease token (a relay whose lease ran out records nothing).

    Delivered rows take the bulk path: one UPDATE for the batch and one ``StateChange`` per
    row (the audit ``transition_apply`` would write, without a lock and save per row at
    hundreds a second). Dead rows go through ``transition_apply`` one by one.
    """
    counts = {"delivered": 0, "retry": 0, "dead": 0, "skipped": 0}
    now = timezone.now()
    held = OutboxDelivery.objects.filter(status=Status.PENDING)
    with transaction.atomic():
        ok = {o.claimed.id: o for o in outcomes if o.ok}
        if ok:
            tokens = {o.claimed.token for o in ok.values()}
            ids = list(
                held.filter(pk__in=list(ok), lease_token__in=tokens)
                .select_for_update()
                .values_list("pk", flat=True)
            )
            OutboxDelivery.objects.filter(pk__in=ids).update(
                status=Status.DELIVERED,
                delivered_at=now,
                lease_until=None,
                last_error="",
                last_status=None,
            )
            content_type = ContentType.objects.get_for_model(OutboxDelivery)
            StateChange.objects.bulk_create(
                StateChange(
                    content_type=content_type,
                    object_id=pk,
                    transition="deliver",
                    from_state=Status.PENDING,
                    to_state=Status.DELIVERED,
                    via=StateChange.Via.SYSTEM,
                    reason=f"HTTP {ok[pk].status} after {ok[pk].claimed.attempts} attempt(s)",
                    at=now,
                )
                for pk in ids
            )
            counts["delivered"] = len(ids)
            counts["skipped"] += len(ok) - len(ids)
        for outcome in (o for o in outcomes if not o.ok):
            counts[_failure_record(outcome, now)] += 1
    return counts


def _failure_record(outcome: Outcome, now) -> str:
    claimed = outcome.claimed
    mine = OutboxDelivery.objects.filter(
        pk=claimed.id, status=Status.PENDING, lease_token=claimed.token
    )
    if not outcome.sent:
        # Never sent: give the attempt back and make it due again at once.
        mine.update(lease_until=None, attempts=F("attempts") - 1)
        return "skipped"
    if outcome.transient and claimed.attempts < settings.OUTBOX_MAX_ATTEMPTS:
        delay = backoff_delay(claimed.attempts)
        if outcome.retry_after:
            delay = max(delay, min(outcome.retry_after, settings.OUTBOX_BACKOFF_MAX))
        if outcome.timed_out:
            # The receiver may still be working on the copy we stopped waiting for: give it
            # that long again before the next copy, so a receiver up to twice the timeout
            # slow never has two copies of one message in hand at once.
            delay = max(delay, claimed.timeout)
        updated = mine.update(
            next_attempt_at=now + timedelta(seconds=delay),
            lease_until=None,
            last_error=outcome.error,
            last_status=outcome.status,
        )
        return "retry" if updated else "skipped"
    row = mine.select_for_update().first()
    if row is None:
        return "skipped"
    row.last_error = outcome.error
    row.last_status = outcome.status
    row.save(update_fields=["last_error", "last_status"])
    why = "refused" if not outcome.transient else f"{claimed.attempts} attempts failed"
    transition_apply(
        row.bury, via=StateChange.Via.SYSTEM, reason=f"{why}; last: {outcome.error}"[:1000]
    )
    return "dead"


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    # Created lazily, in the worker process (after a prefork pool forked), and kept: its
    # threads hold the keep-alive sessions.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.OUTBOX_RELAY_THREADS, thread_name_prefix="outbox-send"
            )
        return _executor


_drained_at = 0.0  # wall clock at which this process's last relay found nothing due


def outbox_relay(*, budget: float | None = None, nudged_at: float | None = None) -> dict:
    """Deliver what is due, batch by batch, for at most ``budget`` seconds (the rest is the
    next run's). A nudge older than this process's last empty claim is skipped: that claim
    already saw its message."""
    global _drained_at
    totals = {"delivered": 0, "retry": 0, "dead": 0, "skipped": 0}
    if nudged_at is not None and nudged_at < _drained_at:
        return totals
    budget = settings.OUTBOX_RELAY_BUDGET if budget is None else budget
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        started = time.time()
        claimed = deliveries_claim(limit=settings.OUTBOX_BATCH)
        if not claimed:
            _drained_at = started
            break
        if len(claimed) == 1:
            outcomes = [delivery_send(claimed[0])]
        else:
            outcomes = list(_pool().map(delivery_send, claimed))
        for key, value in deliveries_record(outcomes).items():
            totals[key] += value
    return totals


# --- dead letters -------------------------------------------------------------------------------


def delivery_retry(*, delivery_id, actor, via: str = StateChange.Via.WEB) -> OutboxDelivery:
    """A person sends a dead delivery again (admins and supervisors); audited, relayed at once."""

    def authorize(delivery):
        if not actor.has_perm("integrations.change_outboxdelivery"):
            raise PermissionDeniedError("only supervisors and admins retry deliveries")

    with row_locked(OutboxDelivery, delivery_id, authorize=authorize) as delivery:
        if delivery.status != Status.DEAD:
            raise NotDeadError(
                f"delivery {delivery.pk} is {delivery.status}, not dead: nothing to retry",
                current_state=delivery.status,
            )
        transition_apply(
            delivery.retry, actor=actor, via=via, reason=f"was: {delivery.last_error}"[:1000]
        )
        relay_nudge_on_commit()
    return delivery


def deliveries_retry(*, ids: list[int], actor, via: str) -> int:
    """The admin action: retry each selected dead delivery; returns how many."""
    count = 0
    for pk in ids:
        try:
            delivery_retry(delivery_id=pk, actor=actor, via=via)
        except NotDeadError:
            continue
        count += 1
    return count


# --- reads (the integrations page, the API) ---------------------------------------------------


def target_health_list() -> list[OutboxTarget]:
    """Each target with its pending, dead and last-hour delivered counts: one query."""
    hour_ago = timezone.now() - timedelta(hours=1)
    return list(
        OutboxTarget.objects.annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Status.PENDING)),
            dead=Count("deliveries", filter=Q(deliveries__status=Status.DEAD)),
            delivered_hour=Count(
                "deliveries",
                filter=Q(
                    deliveries__status=Status.DELIVERED, deliveries__delivered_at__gte=hour_ago
                ),
            ),
            last_delivered_at=Max("deliveries__delivered_at"),
        )
    )


def dead_delivery_list(*, limit: int = 100):
    return (
        OutboxDelivery.objects.filter(status=Status.DEAD)
        .select_related("message", "target")
        .order_by("-id")[:limit]
    )
