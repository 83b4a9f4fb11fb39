"""Celery tasks: thin, ids in, services do the work."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from coordination.models import Heartbeat

from .notify import (
    EMAIL_TASK,
    WEBHOOK_TASK,
    TransientError,
    notifications_email,
    webhook_deliver,
)
from .sla import escalation_sweep


@shared_task(name="workflows.escalation_sweep", acks_late=True, ignore_result=True)
def escalation_sweep_task() -> dict:
    """Beat sends this every 15 s. Overlapping runs share the work (SKIP LOCKED). Its last
    duration is kept for operations (``/metrics``: ``plant_sweep_duration_seconds``)."""
    report = escalation_sweep()
    Heartbeat.objects.update_or_create(
        name="escalation-sweep",
        defaults={"seen_at": timezone.now(), "duration_seconds": report.seconds},
    )
    return {"tasks": report.tasks, "escalations": report.escalations}


@shared_task(name=EMAIL_TASK, acks_late=True, ignore_result=True)
def notifications_email_task(ids: list[int]) -> None:
    notifications_email(ids)


@shared_task(
    name=WEBHOOK_TASK,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(TransientError,),
    # WEBHOOK_RETRY_DELAY, then doubling up to an hour; no jitter, which could bring a retry
    # in before the timed-out copy is done at the receiver.
    retry_backoff=settings.WEBHOOK_RETRY_DELAY,
    retry_backoff_max=3600,
    retry_jitter=False,
    max_retries=10,
)
def webhook_deliver_task(delivery_id: int) -> None:
    """Routed to the ``webhooks`` queue (``CELERY_TASK_ROUTES``)."""
    webhook_deliver(delivery_id, timeout=settings.WEBHOOK_TIMEOUT)
