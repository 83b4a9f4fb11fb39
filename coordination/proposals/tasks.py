"""Celery tasks of proposals: thin, they take ids and call a service."""

import threading

from celery import shared_task
from celery.signals import worker_process_init
from django.utils.dateparse import parse_datetime

from . import services


@shared_task(name="coordination.proposal_build", acks_late=True)
def proposal_build_task(
    *,
    proposal_id: int | None = None,
    lines: list[str] | None = None,
    trigger: str = "",
    case_id: int | None = None,
    first_signal_at: str = "",
    detail: str = "",
) -> int | None:
    """Build a requested proposal (``proposal_id``) or a triggered one (``lines``…).

    Delivered twice: a requested one is filled once (its row is claimed by state); a
    triggered one finds the open proposal with the same input version and does nothing.
    """
    _warm()
    if proposal_id is not None:
        proposal = services.proposal_build_for_request(proposal_id)
    else:
        proposal = services.proposal_build(
            lines=lines or [],
            trigger=trigger,
            case_id=case_id,
            first_signal_at=parse_datetime(first_signal_at),
            detail=detail,
        )
    return proposal.pk if proposal is not None else None


@shared_task(name="coordination.proposal_outcomes")
def proposal_outcomes_task() -> int:
    """Beat: record the actual outcome of approved sequences whose jobs are all done."""
    return services.proposal_outcomes_record()


@shared_task(name="coordination.proposal_maintenance_sweep")
def proposal_maintenance_sweep_task() -> int:
    """Beat: planned maintenance windows no proposal has seen yet get one."""
    _warm()
    return services.proposals_maintenance_sweep()


_warmed = False
_warming = threading.Lock()


def _warm() -> None:
    """Compile the core's Numba search once per worker process, before the first solve (its
    time limit would otherwise be spent compiling). A build arriving while the start-up warm
    up runs waits for it."""
    global _warmed
    with _warming:
        if not _warmed:
            from coordination.scheduling.compiled import warm_up

            warm_up()
            _warmed = True


@worker_process_init.connect(weak=False)
def _warm_at_start(**kwargs) -> None:
    """Each worker process compiles in the background as it starts, not on the first down."""
    threading.Thread(target=_warm, name="proposal-warm-up", daemon=True).start()
