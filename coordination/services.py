"""Writes on the operational picture. Every state change goes through ``transition_apply``."""

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django_fsm import ConcurrentTransition, can_proceed

from .errors import ConflictError, NotFoundError, TransitionError
from .models import Lot, StateChange


def transition_apply(
    obj_or_model: models.Model | type[models.Model],
    *,
    pk=None,
    transition: str,
    actor=None,
    reason: str = "",
    via: str = StateChange.Via.WEB,
    expected_state: str | None = None,
    **kwargs,
) -> models.Model:
    """Run one FSM transition under a row lock and audit it in the same transaction.

    Two callers racing on one row: the second waits on the lock, then finds the state moved
    and gets ``ConflictError`` (or ``TransitionError``), never a silent overwrite. On SQLite
    the lock is a no-op; ``ConcurrentTransitionMixin``'s state-filtered UPDATE still refuses
    the loser. ``expected_state`` is the state the user saw: acting on a stale page conflicts.
    """
    model = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    pk = pk if pk is not None else obj_or_model.pk
    with transaction.atomic():
        try:
            obj = model.objects.select_for_update().get(pk=pk)
        except model.DoesNotExist:
            raise NotFoundError(f"{model._meta.verbose_name} {pk} does not exist") from None
        before = obj.status
        label = f"{model._meta.verbose_name} {obj}"
        if expected_state is not None and before != expected_state:
            raise ConflictError(
                f"{label} is now {before} (you saw {expected_state}); reload and try again",
                current_state=before,
            )
        method = getattr(obj, transition, None)
        if method is None or not hasattr(method, "_django_fsm"):
            raise TransitionError(f"{label} has no action {transition!r}")
        if not can_proceed(method):
            raise TransitionError(
                f"cannot {transition.replace('_', ' ')} {label}: it is {before}",
                current_state=before,
            )
        method(**kwargs)
        try:
            obj.save()
        except ConcurrentTransition:
            raise ConflictError(
                f"{label} was changed by someone else; reload and try again"
            ) from None
        StateChange.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=obj.pk,
            transition=transition,
            from_state=before,
            to_state=obj.status,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            via=via,
            reason=reason,
        )
    return obj


def state_history(obj: models.Model):
    """The audit trail of one object, oldest first."""
    return StateChange.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
    ).select_related("actor")


def lot_hold(*, code: str, actor=None, reason: str, via: str = StateChange.Via.WEB) -> Lot:
    """Put a lot on hold (quality); the reason is required and kept on the lot."""
    if not reason.strip():
        raise TransitionError("a hold needs a reason", field="reason")
    lot = _by_code(Lot, code=code)
    return transition_apply(
        lot, transition="hold", actor=actor, reason=reason, via=via, hold_reason=reason
    )


def _by_code(model: type[models.Model], **lookup) -> models.Model:
    try:
        return model.objects.get(**lookup)
    except model.DoesNotExist:
        value = next(iter(lookup.values()))
        raise NotFoundError(f"{model._meta.verbose_name} {value} does not exist") from None
