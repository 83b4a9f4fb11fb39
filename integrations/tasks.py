from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .delivery import outbox_relay
from .services import inbox_process_batch, inbox_requeue_stuck


@shared_task(
    name="integrations.inbox_process",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,  # the database may be away for an hour; the events must still apply
)
def inbox_process_task(inbox_ids: list[int]) -> None:
    """Apply stored events, and others waiting up to a chunk of ``INBOX_CHUNK_MAX``; a
    retry skips the ones already done."""
    inbox_process_batch(inbox_ids, fill=settings.INBOX_CHUNK_MAX)


@shared_task(name="integrations.inbox_requeue_stuck")
def inbox_requeue_stuck_task() -> int:
    return inbox_requeue_stuck()


@shared_task(name="integrations.outbox_relay", acks_late=True, ignore_result=True)
def outbox_relay_task(nudged_at: float | None = None) -> dict:
    """Deliver due outbox messages: nudged after each commit that wrote some, and swept by
    beat (no argument) for retries that came due and leases that ran out."""
    return outbox_relay(nudged_at=nudged_at)


@shared_task(name="integrations.reconcile", ignore_result=True)
def reconcile_task() -> dict:
    """Beat, every ``RECONCILE_SECONDS``: compare ERP/MES with our picture."""
    from .reconcile import reconcile_run

    reports = reconcile_run()
    return {
        r.system: r.unreachable or f"{len(r.divergences)} divergent of {r.compared}"
        for r in reports
    }
