"""Hooks for other apps (workflows): told when an exception opens or changes, in its transaction.

Like ``coordination.events``: ``case_observers.register(fn)`` in your ``AppConfig.ready()``;
observers run inside the change's transaction (write your rows there, enqueue with on_commit)
and must tolerate seeing a change again (an event retried after a rollback).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import models

from kernel.observers import Registry


class Change(models.TextChoices):
    OPENED = "opened"
    JOINED = "joined"
    SEVERITY_CHANGED = "severity_changed"
    CLEARED = "cleared"
    REACTIVATED = "reactivated"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class CaseChange:
    case_id: int
    change: Change
    kind: str
    key: str
    severity: int
    previous_severity: int | None = None
    actor_id: int | None = None


class CaseObservers(Registry[CaseChange]):
    """With an optional batch function per observer: ``notify_batch(changes)`` hands it the
    changes one plant signal made, in order, at once (the set-based apply path); an
    observer without one is called per change."""

    def __init__(self, name: str):
        super().__init__(name)
        self._batch: dict[Callable, Callable[[Sequence[CaseChange]], None]] = {}

    def register(self, fn, *, batch: Callable[[Sequence[CaseChange]], None] | None = None):
        if batch is not None:
            self._batch[fn] = batch
        return super().register(fn)

    def notify_batch(self, changes: Sequence[CaseChange]) -> None:
        for observer in list(self._observers):
            batch = self._batch.get(observer)
            if batch is not None:
                batch(changes)
            else:
                for change in changes:
                    observer(change)


case_observers = CaseObservers("exception changes")
