"""Operations metrics for Prometheus at ``/metrics``, read from the database at scrape time.

A custom collector rather than counters kept in the web processes: gunicorn runs several
processes (and several machines behind a proxy), each of which would count only what it saw;
the database already knows the inbox depth, the open exceptions and the workers' last signs of
life, so every scrape, through any process, sees the same plant. Each scrape costs a handful of
indexed queries. The text format comes from ``prometheus_client``, not hand-written.

Access: the ``METRICS_TOKEN`` setting, sent as ``Authorization: Bearer <token>``. With no token
configured the endpoint does not exist (404): operations metrics are never public by default.
A missing or wrong token gets 401.
"""

import hmac

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from exceptions.models import OPEN_STATES, BoardVersion, ExceptionCase, Severity
from workflows.models import ACTIVE_TASK_STATES, Task

from .models import Heartbeat


def _adapter_model(name: str):
    """The inbox and the outbox deliveries belong to ``integrations`` (an adapter); the domain
    never imports it, so they are looked up by label — and their metrics are left out where
    that app is not installed."""
    try:
        return apps.get_model("integrations", name)
    except LookupError:
        return None


def _counts_by_status(queryset) -> dict[str, int]:
    """{status: rows} in one grouped query."""
    rows = queryset.order_by().values_list("status").annotate(n=Count("id"))
    return dict(rows.values_list("status", "n"))


def _oldest_age(queryset, field: str, now) -> float:
    """Seconds since the oldest row's ``field`` (0 when there is none)."""
    oldest = queryset.aggregate(at=Min(field))["at"]
    return (now - oldest).total_seconds() if oldest else 0.0


class PlantCollector:
    """Collects at scrape time; ``describe`` is empty so registering it runs no query."""

    def describe(self):
        return []

    def collect(self):
        now = timezone.now()
        yield from self._inbox(now)
        yield from self._outbox(now)
        yield from self._exceptions()
        yield from self._tasks(now)
        yield from self._heartbeats(now)

    def _inbox(self, now):
        InboxEvent = _adapter_model("InboxEvent")
        if InboxEvent is None:
            return
        by_status = _counts_by_status(InboxEvent.objects.all())
        depth = GaugeMetricFamily(
            "plant_inbox_depth",
            "Inbox events waiting: received (not yet applied) or failed (parked with a reason).",
            labels=["status"],
        )
        for status in (InboxEvent.Status.RECEIVED, InboxEvent.Status.FAILED):
            depth.add_metric([status], by_status.get(status, 0))
        yield depth
        processed = CounterMetricFamily(
            "plant_inbox_events_processed",
            "Inbox events processed, by outcome (rate() of applied is events applied per second).",
            labels=["status"],
        )
        for status in (InboxEvent.Status.APPLIED, InboxEvent.Status.STALE):
            processed.add_metric([status], by_status.get(status, 0))
        yield processed
        # The partial index inbox_received_idx serves this: only the waiting rows.
        waiting = InboxEvent.objects.filter(status=InboxEvent.Status.RECEIVED)
        yield GaugeMetricFamily(
            "plant_inbox_oldest_received_age_seconds",
            "How long the oldest event still waiting has waited (0: none waiting).",
            value=_oldest_age(waiting, "received_at", now),
        )

    def _outbox(self, now):
        Delivery = _adapter_model("OutboxDelivery")
        if Delivery is None:
            return
        # Only what is not delivered: the delivered rows grow for ever, the backlog does not.
        undelivered = (Delivery.Status.PENDING, Delivery.Status.DEAD)
        by_status = _counts_by_status(Delivery.objects.filter(status__in=undelivered))
        backlog = GaugeMetricFamily(
            "plant_outbox_backlog",
            "Outbox deliveries not delivered: pending (queued or retrying) or dead (parked).",
            labels=["status"],
        )
        for status in undelivered:
            backlog.add_metric([status], by_status.get(status, 0))
        yield backlog
        pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
        yield GaugeMetricFamily(
            "plant_outbox_lag_seconds",
            "How long the oldest undelivered message has waited for its target (0: none).",
            value=_oldest_age(pending, "created_at", now),
        )

    def _exceptions(self):
        counts = {
            (kind, severity): n
            for kind, severity, n in ExceptionCase.objects.filter(status__in=OPEN_STATES)
            .order_by()
            .values_list("kind", "severity")
            .annotate(n=Count("id"))
            .values_list("kind", "severity", "n")
        }
        family = GaugeMetricFamily(
            "plant_exceptions_open",
            "Open (or acknowledged) exceptions by kind and severity.",
            labels=["kind", "severity"],
        )
        for (kind, severity), n in sorted(counts.items()):
            family.add_metric([kind, Severity(severity).label], n)
        yield family
        version = BoardVersion.objects.filter(pk=1).values_list("n", flat=True).first()
        yield CounterMetricFamily(
            "plant_board_version",
            "The live board's version: bumped once per committed exception change.",
            value=version or 0,
        )

    def _tasks(self, now):
        active = Task.objects.filter(status__in=ACTIVE_TASK_STATES)
        family = GaugeMetricFamily(
            "plant_tasks_active",
            "Open or claimed tasks; overdue: past due and not paused.",
            labels=["state"],
        )
        family.add_metric(["all"], active.count())
        family.add_metric(["overdue"], active.filter(due_at__lt=now, paused_at=None).count())
        yield family

    def _heartbeats(self, now):
        seen = GaugeMetricFamily(
            "plant_worker_heartbeat_timestamp_seconds",
            "When a background process last checked in (Unix time).",
            labels=["name"],
        )
        age = GaugeMetricFamily(
            "plant_worker_heartbeat_age_seconds",
            "Seconds since a background process last checked in (beat sends one every 30 s).",
            labels=["name"],
        )
        duration = GaugeMetricFamily(
            "plant_sweep_duration_seconds",
            "How long a periodic sweep's last run took (the escalation sweep).",
            labels=["name"],
        )
        rows = Heartbeat.objects.order_by("name").values_list("name", "seen_at", "duration_seconds")
        for name, at, seconds in rows:
            seen.add_metric([name], at.timestamp())
            age.add_metric([name], max(0.0, (now - at).total_seconds()))
            if seconds is not None:
                duration.add_metric([name], seconds)
        yield seen
        yield age
        yield duration


def _authorized(request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@require_GET
def prometheus_metrics(request):
    """``GET /metrics`` for Prometheus (``authorization: {credentials: <METRICS_TOKEN>}``)."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        raise Http404("operations metrics are off: set METRICS_TOKEN")
    if not _authorized(request, token):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlantCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
