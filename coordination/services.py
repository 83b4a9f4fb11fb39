"""Writes on the operational picture. Every state change goes through ``transition_apply``
on a row held by ``row_locked`` (or claimed by the caller)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django_fsm import ConcurrentTransition, can_proceed

from kernel.errors import ConflictError, NotFoundError, TransitionError

from .models import Lot, StateChange

M = TypeVar("M", bound=models.Model)


@contextmanager
def row_locked(
    model: type[M],
    pk,
    *,
    authorize: Callable[[M], None] | None = None,
    expected_state: str | None = None,
) -> Iterator[M]:
    """Hold one row's lock for the length of a transaction: the one lock of an action.

    Inside, everything an action checks (who may act, the state the user saw, its own rules)
    and changes happens on the locked row. Two callers racing on one row: the second waits
    on the lock, then finds the state moved and gets ``ConflictError`` (or
    ``TransitionError``), never a silent overwrite. On SQLite the lock is a no-op;
    ``ConcurrentTransitionMixin``'s state-filtered UPDATE still refuses the loser.
    ``expected_state`` is the state the user saw: acting on a stale page conflicts.
    """
    with transaction.atomic():
        try:
            obj = model.objects.select_for_update().get(pk=pk)
        except (model.DoesNotExist, ValueError, TypeError):
            raise NotFoundError(f"{model._meta.verbose_name} {pk} does not exist") from None
        if authorize is not None:
            authorize(obj)
        if expected_state is not None and obj.status != expected_state:
            raise ConflictError(
                f"{_label(obj)} is now {obj.status} (you saw {expected_state}); "
                "reload and try again",
                current_state=obj.status,
            )
        yield obj


def transition_apply(
    transition: Callable,
    *,
    actor=None,
    reason: str = "",
    via: str = StateChange.Via.WEB,
    **kwargs,
) -> models.Model:
    """Run one FSM transition (a bound method: ``lot.hold``) and audit it, in one transaction.

    The caller holds the row: inside ``row_locked``, or rows it claimed with
    ``select_for_update``. A copy that is not current still cannot overwrite: the save is
    filtered by the state it was read in.
    """
    obj = getattr(transition, "__self__", None)
    name = getattr(transition, "__name__", "?")
    if obj is None or not hasattr(transition, "_django_fsm"):
        raise TransitionError(f"{_label(obj) if obj else 'this'} has no action {name!r}")
    before = obj.status
    if not can_proceed(transition):
        raise TransitionError(
            f"{_label(obj)} is already {before}: cannot {name.replace('_', ' ')} it; "
            "nothing was changed",
            current_state=before,
        )
    with transaction.atomic():
        fields = [f for f in obj._meta.concrete_fields if not f.primary_key]
        seen = {f.attname: getattr(obj, f.attname) for f in fields}
        transition(**kwargs)
        # Only what the transition changed: the caller may have written other columns of
        # this row with an UPDATE (counts, timestamps) that a full save would overwrite.
        changed = [f.attname for f in fields if getattr(obj, f.attname) != seen[f.attname]]
        try:
            obj.save(update_fields=changed)
        except ConcurrentTransition:
            raise ConflictError(
                f"{_label(obj)} was changed by someone else; reload and try again"
            ) from None
        StateChange.objects.create(
            content_type=ContentType.objects.get_for_model(type(obj)),
            object_id=obj.pk,
            transition=name,
            from_state=before,
            to_state=obj.status,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            via=via,
            reason=reason,
        )
    return obj


def _label(obj: models.Model) -> str:
    """How messages name the object: its own ``action_label`` or "<kind> <str>"."""
    return getattr(obj, "action_label", None) or f"{obj._meta.verbose_name} {obj}"


def state_history(obj: models.Model):
    """The audit trail of one object, oldest first."""
    return StateChange.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
    ).select_related("actor")


def lot_hold(*, code: str, actor=None, reason: str, via: str = StateChange.Via.WEB) -> Lot:
    """Put a lot on hold (system callers, no role check; a person's hold is
    ``quality.lot_hold_place``); the reason is required and kept on the lot, with ``lot.held``
    in the outbox."""
    if not reason.strip():
        raise TransitionError("a hold needs a reason", field="reason")
    from .quality import lot_hold_write  # quality builds on this module

    lot = _by_code(Lot, code=code)
    with row_locked(Lot, lot.pk) as lot:
        return lot_hold_write(lot, actor=actor, reason=reason, defect_code="", via=via)


def _by_code(model: type[models.Model], **lookup) -> models.Model:
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        value = next(iter(lookup.values()))
        raise NotFoundError(f"{model._meta.verbose_name} {value} does not exist") from None
