"""Hooks for other apps (workflows): told when an exception opens or changes, in its transaction.

Like ``coordination.events``: register with ``@case_observer`` in your ``AppConfig.ready()``;
observers run inside the change's transaction (write your rows there, enqueue with on_commit)
and must tolerate seeing a change again (an event retried after a rollback).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CaseChange:
    case_id: int
    # opened | joined | severity_changed | cleared | reactivated | acknowledged | assigned
    # | resolved | dismissed
    change: str
    kind: str
    key: str
    severity: int
    previous_severity: int | None = None
    actor_id: int | None = None


CaseObserver = Callable[[CaseChange], None]
_observers: list[CaseObserver] = []


def case_observer(fn: CaseObserver) -> CaseObserver:
    """Register ``fn`` to be called with every exception change (decorator; idempotent)."""
    if fn not in _observers:
        _observers.append(fn)
    return fn


def case_notify(change: CaseChange) -> None:
    for observer in list(_observers):
        observer(change)
