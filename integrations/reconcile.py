"""Reconciliation: ask ERP and MES what they believe, compare with our picture, and say so.

An adapter (it talks HTTP to the targets); the domain never imports it. For each enabled
outbox target named ``erp`` or ``mes`` (case-insensitive), its read API is the target's URL
without the last path segment (``http://host/erp/messages`` → ``http://host/erp``), the
contract of the reference service (``integrations/reference/``):

- **lots**: ``GET {base}/lots?status=on_hold`` against our lots on hold (and, for a lot only one
  side holds, ``GET {base}/lots/{code}`` for what the other side says); compared: on hold or
  not. Only for a target that receives ``lot.*`` messages.
- **orders**: ``GET {base}/orders`` against our orders' status, for orders both sides know.
  Only for a target that receives ``order.status_changed``.
- **sequences**: ``GET {base}/lines`` (each line's current sequence there) against the last
  approved sequence we delivered to that target for the line (its ``sequence.approved``
  message); compared: the job numbers in order. Only lines we have sent a sequence to, and
  only for a target that receives ``sequence.approved``.

What we compare against is what we have *delivered*: an object with a pending or dead
delivery for that target (its aggregate ``lot:<code>`` / ``order:<number>``) is skipped and
counted, never a divergence: the outbox will still tell them (or the dead letter is on the
integrations page).

A disagreement is handed to the exceptions app as a ``sync.divergence`` plant event
(``coordination.events.event_observers``): its admin-edited ``RaiseRule`` rows raise or join one
``sync_divergence`` exception per key ``<system>:<object>:<ref>``; an object with an open, still
active divergence that agrees again gets a ``sync.agreed`` event, which the "clear" rule
turns into a cleared condition, like any other clear. A target that does not answer (within
its own timeout) is logged and skipped: unreachable is not a divergence.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import requests
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coordination.events import PlantEvent, event_batch, event_observers
from coordination.models import Lot, Order, StateChange
from coordination.outbox import OutboxMessage
from exceptions.models import OPEN_STATES, ExceptionCase, Kind

from .models import OutboxDelivery, OutboxTarget

log = logging.getLogger(__name__)

SYSTEMS = ("erp", "mes")
LOT_TOPICS = ("lot.held", "lot.released", "lot.reworked", "lot.scrapped", "lot.split")
NOT_KNOWN = "not known"


class Unreachable(Exception):
    """The target did not answer its read API (down, timed out, not 200, not JSON)."""


@dataclass(frozen=True)
class Divergence:
    system: str
    object: str  # lot | order | sequence
    ref: str
    ours: str
    theirs: str
    ours_since: str = ""
    theirs_since: str = ""

    @property
    def key(self) -> str:
        return f"{self.system}:{self.object}:{self.ref}"

    def describe(self) -> str:
        def since(at: str) -> str:
            return f" since {at}" if at else ""

        return (
            f"{self.key}: {self.system.upper()} says {self.theirs}{since(self.theirs_since)}, "
            f"we say {self.ours}{since(self.ours_since)}"
        )


@dataclass
class TargetReport:
    system: str
    base_url: str
    unreachable: str = ""  # why, when it did not answer
    compared: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    agreed: list[str] = field(default_factory=list)  # keys whose open divergence cleared
    in_flight: list[str] = field(default_factory=list)  # skipped: messages not yet delivered


def target_read_url(target: OutboxTarget) -> str:
    """``http://host/erp/messages`` → ``http://host/erp`` (the read API beside the inbox)."""
    return target.url.rstrip("/").rsplit("/", 1)[0]


def reconcile_targets(systems=None) -> list[OutboxTarget]:
    wanted = set(systems or SYSTEMS)
    return [t for t in OutboxTarget.objects.filter(enabled=True) if t.name.lower() in wanted]


def reconcile_run(systems=None) -> list[TargetReport]:
    """Compare every ERP/MES target's view with ours; raise, join or clear divergences."""
    reports = []
    for target in reconcile_targets(systems):
        report = TargetReport(system=target.name.lower(), base_url=target_read_url(target))
        try:
            found = _target_compare(target, report)
        except Unreachable as error:
            report.unreachable = str(error)
            log.warning("reconcile: %s unreachable, skipped: %s", target.name, error)
            reports.append(report)
            continue
        _signal(report, found)
        reports.append(report)
    return reports


# --- reading their side -------------------------------------------------------------------


def _get(target: OutboxTarget, path: str, *, missing_ok: bool = False):
    url = target_read_url(target) + path
    timeout = min(float(target.timeout), 30.0)
    try:
        response = requests.get(url, timeout=(timeout, timeout), allow_redirects=False)
    except requests.RequestException as error:
        raise Unreachable(f"GET {url}: {error.__class__.__name__}: {error}") from None
    if missing_ok and response.status_code == 404:
        return None
    if response.status_code != 200:
        raise Unreachable(f"GET {url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise Unreachable(f"GET {url}: the answer is not JSON") from None


def _rows(body, name: str, key: str, url_hint: str) -> dict[str, dict]:
    rows = body.get(name) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise Unreachable(f"{url_hint}: no {name!r} list in the answer")
    return {str(r[key]): r for r in rows if isinstance(r, dict) and r.get(key)}


# --- comparing ----------------------------------------------------------------------------


def _open_refs(system: str, what: str) -> dict[str, bool]:
    """Refs with an open divergence on this system and object → whether still active."""
    prefix = f"{system}:{what}:"
    cases = ExceptionCase.objects.filter(
        kind=Kind.SYNC_DIVERGENCE, key__startswith=prefix, status__in=OPEN_STATES
    ).values_list("key", "condition_active")
    return {key[len(prefix) :]: active for key, active in cases}


def _in_flight(target: OutboxTarget, what: str) -> set[str]:
    """Refs of this object type with a message not yet delivered to the target."""
    rows = OutboxDelivery.objects.filter(
        target=target, aggregate__startswith=f"{what}:", status__in=("pending", "dead")
    ).values_list("aggregate", flat=True)
    return {a.split(":", 1)[1] for a in rows}


def _stamp(value) -> str:
    """A moment as titles show it (``2026-12-01 08:00:00 UTC``); "" when absent or unreadable."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value[:40]
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _last_change(model, ids) -> dict[int, str]:
    content_type = ContentType.objects.get_for_model(model)
    rows = (
        StateChange.objects.filter(content_type=content_type, object_id__in=list(ids))
        .values("object_id")
        .annotate(at=Max("at"))
    )
    return {r["object_id"]: _stamp(r["at"]) for r in rows}


def _target_compare(target: OutboxTarget, report: TargetReport) -> list[tuple[str, str, object]]:
    """Every compared object as (object, ref, Divergence or None when they agree)."""
    found: list[tuple[str, str, object]] = []
    if any(target.wants(t) for t in LOT_TOPICS):
        found += _lots_compare(target, report)
    if target.wants("order.status_changed"):
        found += _orders_compare(target, report)
    if target.wants("sequence.approved"):
        found += _sequences_compare(target, report)
    return found


def _lots_compare(target, report):
    system = report.system
    # Ours and what is still in the outbox first, theirs after: a message delivered in
    # between is then either still seen as in flight or already in their answer.
    skipped = _in_flight(target, "lot")
    fields = ("code", "status", "held_at")
    ours = {lot.code: lot for lot in Lot.objects.filter(status=Lot.Status.ON_HOLD).only(*fields)}
    open_refs = _open_refs(system, "lot")
    theirs = _rows(_get(target, "/lots?status=on_hold"), "lots", "code", "lots?status=on_hold")
    codes = set(theirs) | set(ours) | set(open_refs)
    report.in_flight += sorted(f"{system}:lot:{c}" for c in codes & skipped)
    codes -= skipped
    others = codes - set(ours)
    known = {**{lot.code: lot for lot in Lot.objects.filter(code__in=others).only(*fields)}, **ours}
    changed = _last_change(Lot, [lot.pk for lot in known.values()])
    found = []
    for code in sorted(codes):
        their_row = theirs.get(code)
        if their_row is None:  # not on hold there: what is it, then?
            their_row = _get(target, f"/lots/{quote(code, safe='')}", missing_ok=True) or {}
        their_status = str(their_row.get("status") or NOT_KNOWN)
        lot = known.get(code)
        our_status = lot.status if lot else NOT_KNOWN
        report.compared += 1
        if (our_status == Lot.Status.ON_HOLD) == (their_status == Lot.Status.ON_HOLD):
            found.append(("lot", code, None))
            continue
        if lot and lot.status == Lot.Status.ON_HOLD and lot.held_at:
            our_since = _stamp(lot.held_at)
        else:
            our_since = changed.get(lot.pk, "") if lot else ""
        found.append(
            (
                "lot",
                code,
                Divergence(
                    system, "lot", code, our_status.replace("_", " "),
                    their_status.replace("_", " "), our_since,
                    _stamp(their_row.get("updated_at")),
                ),
            )
        )  # fmt: skip
    return found


def _orders_compare(target, report):
    system = report.system
    skipped = _in_flight(target, "order")  # before their answer, as for lots
    open_refs = _open_refs(system, "order")
    theirs = _rows(_get(target, "/orders"), "orders", "number", "orders")
    theirs = {n: r for n, r in theirs.items() if r.get("status")}  # a status they hold
    numbers = set(theirs) | set(open_refs)
    ours = {o.number: o for o in Order.objects.filter(number__in=numbers).only("number", "status")}
    numbers &= set(ours)  # orders we do not know are ingestion's business, not a divergence
    report.in_flight += sorted(f"{system}:order:{n}" for n in numbers & skipped)
    numbers -= skipped
    changed = _last_change(Order, [ours[n].pk for n in numbers])
    found = []
    for number in sorted(numbers):
        their_row = theirs.get(number)
        if their_row is None:
            their_row = _get(target, f"/orders/{quote(number, safe='')}", missing_ok=True) or {}
        their_status = str(their_row.get("status") or NOT_KNOWN)
        order = ours[number]
        report.compared += 1
        if their_status == order.status:
            found.append(("order", number, None))
            continue
        found.append(
            (
                "order",
                number,
                Divergence(
                    system, "order", number, order.status.replace("_", " "),
                    their_status.replace("_", " "), changed.get(order.pk, ""),
                    _stamp(their_row.get("updated_at")),
                ),
            )
        )  # fmt: skip
    return found


def _job_numbers(jobs) -> list[str]:
    """A sequence's jobs as numbers in order (rows ``{job, …}`` or plain numbers)."""
    if not isinstance(jobs, list):
        return []
    return [str(j.get("job") if isinstance(j, dict) else j) for j in jobs]


def _sequences_compare(target, report):
    system = report.system
    skipped = _in_flight(target, "line")
    delivered = {}  # line → (its last delivered sequence, when we approved it)
    messages = (
        OutboxMessage.objects.filter(
            topic="sequence.approved",
            deliveries__target=target,
            deliveries__status=OutboxDelivery.Status.DELIVERED,
        )
        .order_by("pk")
        .values_list("aggregate", "payload")
    )
    for aggregate, data in messages:
        delivered[aggregate.split(":", 1)[1]] = (
            _job_numbers(data.get("jobs")),
            _stamp(data.get("approved_at")),
        )
    open_refs = _open_refs(system, "sequence")
    theirs = _rows(_get(target, "/lines"), "lines", "line", "lines")
    codes = (set(delivered) | set(open_refs)) - skipped
    report.in_flight += sorted(f"{system}:sequence:{c}" for c in (set(delivered) & skipped))
    found = []
    for code in sorted(codes):
        ours, our_since = delivered.get(code, ([], ""))
        their_row = theirs.get(code) or {}
        their_jobs = _job_numbers(their_row.get("jobs"))
        report.compared += 1
        if their_jobs == ours:
            found.append(("sequence", code, None))
            continue
        found.append(
            (
                "sequence",
                code,
                Divergence(
                    system, "sequence", code, _sequence_text(ours), _sequence_text(their_jobs),
                    our_since, _stamp(their_row.get("updated_at") or their_row.get("received_at")),
                ),
            )
        )  # fmt: skip
    return found


def _sequence_text(jobs: list[str]) -> str:
    if not jobs:
        return NOT_KNOWN
    shown = " → ".join(jobs[:8])
    return shown + (f" (+{len(jobs) - 8} more)" if len(jobs) > 8 else "")


# --- telling the exceptions app -----------------------------------------------------------


def _signal(report: TargetReport, found) -> None:
    """One plant event per divergence, and per open, active divergence that now agrees."""
    active = {what: _open_refs(report.system, what) for what in ("lot", "order", "sequence")}
    now = timezone.now()
    with event_batch():
        for what, ref, divergence in found:
            if divergence is None and not active[what].get(ref):
                continue  # agreed, and nothing open to clear
            if divergence is None:
                type_, data = "sync.agreed", {"system": report.system, "object": what, "ref": ref}
                report.agreed.append(f"{report.system}:{what}:{ref}")
            else:
                type_ = "sync.divergence"
                data = {
                    "system": divergence.system,
                    "object": divergence.object,
                    "ref": divergence.ref,
                    "ours": divergence.ours,
                    "theirs": divergence.theirs,
                    "ours_since": divergence.ours_since,
                    "theirs_since": divergence.theirs_since,
                }
                report.divergences.append(divergence)
            event = PlantEvent(
                inbox_id=None,
                type=type_,
                source=f"reconcile/{report.system}",
                event_id=uuid.uuid4().hex,
                time=now,
                received_at=now,
                site="",
                data=data,
            )
            with transaction.atomic():
                event_observers.notify(event)
