from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from .models import InboxEvent, Integration


@dataclass
class IntegrationHealth:
    integration: Integration
    last_event_at: object
    last_hour: int
    last_day: int
    failed: int
    active_keys: int

    @property
    def per_minute(self) -> float:
        return round(self.last_hour / 60, 1)


def integration_health_list() -> list[IntegrationHealth]:
    """Each integration with its last event, its rates and its parked events: one query."""
    now = timezone.now()
    rows = Integration.objects.select_related("site").annotate(
        last_event_at=Max("events__received_at"),
        last_hour=Count("events", filter=Q(events__received_at__gte=now - timedelta(hours=1))),
        last_day=Count("events", filter=Q(events__received_at__gte=now - timedelta(days=1))),
        failed=Count("events", filter=Q(events__status=InboxEvent.Status.FAILED)),
        active_keys=Count("keys", filter=Q(keys__revoked_at__isnull=True), distinct=True),
    )
    return [
        IntegrationHealth(r, r.last_event_at, r.last_hour, r.last_day, r.failed, r.active_keys)
        for r in rows
    ]


def failed_event_list(*, limit: int = 100):
    return (
        InboxEvent.objects.filter(status=InboxEvent.Status.FAILED)
        .select_related("integration")
        .order_by("-received_at")[:limit]
    )
