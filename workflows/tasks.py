"""Celery tasks: thin, ids in, services do the work."""

from celery import shared_task

from .notify import TransientError, notifications_email, webhook_deliver
from .sla import escalation_sweep


@shared_task(name="workflows.escalation_sweep", acks_late=True, ignore_result=True)
def escalation_sweep_task() -> dict:
    """Beat sends this every 15 s. Overlapping runs share the work (SKIP LOCKED)."""
    report = escalation_sweep()
    return {"tasks": report.tasks, "escalations": report.escalations}


@shared_task(name="workflows.notifications_email", acks_late=True, ignore_result=True)
def notifications_email_task(ids: list[int]) -> None:
    notifications_email(ids)


@shared_task(
    name="workflows.webhook_deliver",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def webhook_deliver_task(delivery_id: int) -> None:
    webhook_deliver(delivery_id)
