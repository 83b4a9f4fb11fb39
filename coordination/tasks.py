from celery import shared_task
from django.utils import timezone

from .models import Heartbeat


@shared_task(name="coordination.heartbeat")
def heartbeat_task(token: str = "") -> None:
    """Beat sends this every 30 s: the overview shows when the worker last answered."""
    Heartbeat.objects.update_or_create(
        name="worker", defaults={"token": token, "seen_at": timezone.now()}
    )


# Celery discovers ``<app>.tasks``; the proposals' tasks live in their package.
from .proposals.tasks import (  # noqa: E402, F401
    proposal_build_task,
    proposal_maintenance_sweep_task,
    proposal_outcomes_task,
)
