"""Hooks for other apps (workflows): told when an exception opens or changes, in its transaction.

Like ``coordination.events``: ``case_observers.register(fn)`` in your ``AppConfig.ready()``;
observers run inside the change's transaction (write your rows there, enqueue with on_commit)
and must tolerate seeing a change again (an event retried after a rollback).
"""

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


case_observers: Registry[CaseChange] = Registry("exception changes")
