"""Celery tasks: thin, ids in, services do the work."""

from celery import shared_task
from django.utils import timezone

from coordination.models import Heartbeat

from .notify import EMAIL_TASK, notifications_email
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
