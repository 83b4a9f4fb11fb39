"""The contract between ingestion and the domain: an applied plant event, and its observers.

Ingestion (``integrations``) validates and stores a signal, applies it to the operational
picture, then hands the same ``PlantEvent`` to every observer in the same transaction. The
exceptions app registers one to raise, correlate and clear exceptions. Observers must be
idempotent per ``inbox_id`` (a retried event may reach them again after a rollback).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from kernel.observers import Registry


@dataclass(frozen=True)
class PlantEvent:
    """A validated signal as the domain sees it, with no transport details."""

    inbox_id: int  # the stored inbox row, for links and timelines
    type: str  # canonical type, e.g. "equipment.status"
    source: str
    event_id: str
    time: datetime  # when it happened at the plant (may be late or out of order)
    received_at: datetime
    site: str  # site code
    data: dict = field(default_factory=dict)
    stale: bool = False  # older than state already applied: kept, picture not changed


# Ingestion notifies every observer inside the event's transaction, after the picture is
# updated; the exceptions app registers one (``exceptions.apps``).
event_observers: Registry[PlantEvent] = Registry("plant events")


_batch: ContextVar[dict | None] = ContextVar("event_batch", default=None)


@contextmanager
def event_batch() -> Iterator[dict]:
    """Ingestion wraps one processing batch in this; see ``batch_cache``."""
    token = _batch.set({})
    try:
        yield _batch.get()
    finally:
        _batch.reset(token)


def batch_cache() -> dict:
    """A dict that lives for the current processing batch (a fresh one outside a batch).

    For reference data that cannot change under one batch's feet (admin rules, sites):
    observers look it up once per batch instead of once per event.
    """
    cache = _batch.get()
    return {} if cache is None else cache
