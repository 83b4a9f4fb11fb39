"""The contract between ingestion and the domain: an applied plant event, and its observers.

Ingestion (``integrations``) validates and stores a signal, applies it to the operational
picture, then hands the same ``PlantEvent`` to every observer in the same transaction. The
exceptions app registers one to raise, correlate and clear exceptions. Observers must be
idempotent per ``inbox_id`` (a retried event may reach them again after a rollback).

Two ways in: ``notify(event)``, one event (the one-at-a-time path, the reference), and
``notify_batch(groups)``, the set-based path: a processing chunk's events of one type,
grouped by the thing they change, each group in plant-time order, after the whole
type's changes are applied. An observer registered with a ``batch=`` function gets the
groups in one call (and may look things up for all of them at once); one without is
called per event, in the same order the one-at-a-time path would call it.
"""

from collections.abc import Callable, Iterator, Sequence
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


EventGroups = Sequence[Sequence[PlantEvent]]  # per thing, each in plant-time order


class EventObservers(Registry[PlantEvent]):
    """The plant-event registry, with an optional batch function per observer."""

    def __init__(self, name: str):
        super().__init__(name)
        self._batch: dict[Callable, Callable[[EventGroups], None]] = {}

    def register(self, fn, *, batch: Callable[[EventGroups], None] | None = None):
        """Add ``fn`` (one event); ``batch`` (optional) takes a chunk's groups at once and
        must leave the database exactly as calling ``fn`` on each event in order would."""
        if batch is not None:
            self._batch[fn] = batch
        return super().register(fn)

    def notify_batch(self, groups: EventGroups) -> None:
        for observer in list(self._observers):
            batch = self._batch.get(observer)
            if batch is not None:
                batch(groups)
            else:
                for group in groups:
                    for event in group:
                        observer(event)


# Ingestion notifies every observer inside the event's transaction, after the picture is
# updated; the exceptions app registers one (``exceptions.apps``).
event_observers = EventObservers("plant events")


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
