"""Quality holds and dispositions on lots: the quality engineer's actions.

Pages and API call them through the action table (``coordination.actions``). Each one locks
the lot once (``row_locked``), checks the role and the state, runs an audited lot transition
(``transition_apply``), writes its outbox messages (``lot.held`` … ``lot.split``) in the same
transaction, and tells whoever cares:

- a hold is a plant quality signal like one from ERP or MES: it goes to
  ``coordination.events.event_observers`` as a ``quality.hold`` event, so the exceptions app
  raises (or joins) the ``quality_hold`` exception by the same admin rules, with the same
  impact and routing, as for a hold that came in over the API;
- a disposition goes to ``lot_observers``: the workflows app completes the hold's open
  disposition tasks with a decision record, the exceptions app resolves the exception once
  nothing is left on hold. The domain names neither: they register in their ``ready()``.

A partial quantity splits the lot first: the part dispositioned gets a new code, the rest
stays on hold under the old one (the exception's key), and the two always sum to what the
lot held. Messages about split-off parts carry the first lot's aggregate, so a target gets
the split before anything about the new lot.
"""

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from kernel.errors import InvalidInputError, PermissionDeniedError, TransitionError
from kernel.observers import Registry

from .events import PlantEvent, event_observers
from .models import Job, Line, Lot, StateChange, Stock
from .outbox import outbox_add
from .services import row_locked, transition_apply

WEB = StateChange.Via.WEB
ON_HOLD = Lot.Status.ON_HOLD
HOLD_PERMISSION = "coordination.hold_lot"
DISPOSITION_PERMISSION = "coordination.disposition_lot"


class Disposition:
    RELEASE = "release"
    REWORK = "rework"
    SCRAP = "scrap"
    USE_AS_IS = "use_as_is"
    CHOICES = [
        (RELEASE, "Release"),
        (REWORK, "Rework"),
        (SCRAP, "Scrap"),
        (USE_AS_IS, "Use as is (deviation)"),
    ]
    VALUES = [value for value, _ in CHOICES]


@dataclass(frozen=True)
class LotChange:
    """A person's disposition of (part of) a held lot, told to ``lot_observers``."""

    lot: str  # the lot dispositioned: the held lot, or the part split off it
    hold_key: str  # the held lot's code: the key of its quality_hold exception
    disposition: str
    rationale: str
    quantity: Decimal
    still_on_hold: Decimal  # what is left on hold under ``hold_key`` (0: nothing)
    actor: Any
    via: str
    deviation: str = ""
    detail: str = ""  # what else happened: the split, the rework job

    @property
    def summary(self) -> str:
        """e.g. "scrap 30.5 of LOT-1 (30.5 of LOT-1 split off as LOT-1-1; …)"."""
        what = f"{self.disposition.replace('_', ' ')} {quantity_label(self.quantity)}"
        what += f" of {self.hold_key}" + (f" ({self.detail})" if self.detail else "")
        if self.still_on_hold:
            what += f"; {quantity_label(self.still_on_hold)} still on hold"
        return what


def quantity_label(quantity: Decimal) -> str:
    """100.000 -> "100", 30.500 -> "30.5" (never "1E+2")."""
    return format(Decimal(quantity).normalize(), "f")


# Told of every disposition inside its transaction (workflows, exceptions register).
lot_observers: Registry[LotChange] = Registry("lot dispositions")


def lot_aggregate(lot: Lot) -> str:
    """The outbox aggregate of a lot: the first lot of its split family, so a target gets
    every message of the family (the split before the new part's disposition) in order."""
    root, seen = lot, 0
    while root.split_from_id and seen < 50:
        root = Lot.objects.only("code", "split_from_id").get(pk=root.split_from_id)
        seen += 1
    return f"lot:{root.code}"


def _require_perm(actor, permission: str, what: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(permission):
        raise PermissionDeniedError(f"your role may not {what}")


def _text(value, field: str, message: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInputError(message, field=field)
    if len(value) > limit:
        raise InvalidInputError(f"at most {limit} characters", field=field)
    return value


def _at(when) -> str:
    return when.isoformat()


# --- holds ----------------------------------------------------------------------------------


def lot_hold_write(
    lot: Lot, *, actor, reason: str, defect_code: str, via: str, audit: str = ""
) -> Lot:
    """Hold a locked lot: the audited transition and its ``lot.held`` message.

    Shared by a person's hold and an applied ``quality.hold`` event (``apply.py``, whose
    ``audit`` names the event); the caller holds the row and tells the observers.
    """
    shown = f"{reason} ({defect_code})" if defect_code else reason  # as pages show a hold
    transition_apply(
        lot.hold,
        actor=actor,
        reason=audit or shown,
        via=via,
        hold_reason=shown[:200],
        defect_code=defect_code[:40],
    )
    outbox_add(
        topic="lot.held",
        aggregate=lot_aggregate(lot),
        data={
            "lot": lot.code,
            "item": lot.item.code,
            "quantity": str(lot.quantity),
            "reason": reason,
            "defect_code": lot.defect_code,
            "held_at": _at(lot.held_at),
        },
    )
    return lot


def lot_hold_place(
    *,
    lot_id,
    actor,
    reason: str,
    defect_code: str = "",
    via: str = WEB,
    expected_state: str | None = None,
) -> Lot:
    """A person holds one lot (supervisor, quality): reason required, defect code optional."""
    _require_perm(actor, HOLD_PERMISSION, "put lots on hold")
    reason = _text(reason, "reason", "say why the lot is held", 200)
    defect_code = (defect_code or "").strip()
    if len(defect_code) > 40:
        raise InvalidInputError("at most 40 characters", field="defect_code")
    with row_locked(Lot, lot_id, expected_state=expected_state or None) as lot:
        lot_hold_locked(lot, actor=actor, reason=reason, defect_code=defect_code, via=via)
    return lot


def lots_hold(*, codes, actor, reason: str, defect_code: str = "", via: str = WEB) -> list[Lot]:
    """Hold several lots at once: all of them or none (one transaction, locked in code order,
    so two people holding overlapping sets cannot deadlock)."""
    _require_perm(actor, HOLD_PERMISSION, "put lots on hold")
    codes = sorted({str(c).strip() for c in codes or [] if str(c).strip()})
    if not codes:
        raise InvalidInputError("choose at least one lot", field="lots")
    reason = _text(reason, "reason", "say why the lots are held", 200)
    defect_code = (defect_code or "").strip()
    if len(defect_code) > 40:
        raise InvalidInputError("at most 40 characters", field="defect_code")
    with transaction.atomic():
        lots = list(
            Lot.objects.select_for_update().select_related("item", "location__site")
            .filter(code__in=codes).order_by("code")
        )  # fmt: skip
        missing = sorted(set(codes) - {lot.code for lot in lots})
        if missing:
            raise InvalidInputError(f"no lot {', '.join(missing)}", field="lots")
        for lot in lots:
            lot_hold_locked(lot, actor=actor, reason=reason, defect_code=defect_code, via=via)
    return lots


def lot_hold_locked(lot: Lot, *, actor, reason, defect_code, via) -> None:
    """Hold a lot the caller has locked (a person's hold, several at once, an ERP's NotValid)."""
    if lot.status == ON_HOLD:
        raise TransitionError(
            f"lot {lot.code} is already on hold; nothing was held", current_state=lot.status
        )
    if lot.status == Lot.Status.SCRAPPED:
        raise TransitionError(
            f"lot {lot.code} is scrapped; it cannot be held", current_state=lot.status
        )
    lot_hold_write(lot, actor=actor, reason=reason, defect_code=defect_code, via=via)
    now = timezone.now()
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else via
    # The same signal a hold from ERP or MES is: the exceptions app raises the quality_hold
    # exception by its admin rules. No inbox row: observers treat it as seen once.
    event_observers.notify(
        PlantEvent(
            inbox_id=None,
            type="quality.hold",
            source=f"plantcoord/{via}/{who}",
            event_id=f"hold-{lot.pk}-{now.timestamp()}",
            time=now,
            received_at=now,
            site=lot.location.site.code,
            data={"lot": lot.code, "reason": reason, "defect_code": defect_code},
        )
    )


# --- dispositions ---------------------------------------------------------------------------


def _quantity(value, lot: Lot) -> Decimal:
    if value in (None, ""):
        return lot.quantity
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInputError("a number", field="quantity") from None
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidInputError("more than 0", field="quantity")
    if quantity.as_tuple().exponent < -3:
        raise InvalidInputError("at most 3 decimal places", field="quantity")
    if quantity > lot.quantity:
        raise InvalidInputError(
            f"at most the {lot.quantity} {lot.item.uom} on hold in lot {lot.code}",
            field="quantity",
        )
    return quantity


def _approver(username, actor):
    username = (username or "").strip()
    if not username:
        raise InvalidInputError("use as is needs an approver", field="approver")
    if username == actor.get_username():
        raise InvalidInputError(
            "the approver must be someone other than you (the requester)", field="approver"
        )
    approver = get_user_model().objects.filter(username=username, is_active=True).first()
    if approver is None:
        raise InvalidInputError(f"no active user {username}", field="approver")
    if not approver.has_perm(DISPOSITION_PERMISSION):
        raise InvalidInputError(
            f"{username} may not approve dispositions (quality role)", field="approver"
        )
    return approver


def _rework_line(code, lot: Lot) -> Line:
    code = (code or "").strip()
    if not code:
        raise InvalidInputError("choose the line that reworks it", field="rework_line")
    line = Line.objects.filter(code=code, site_id=lot.location.site_id).first()
    if line is None:
        raise InvalidInputError(
            f"no line {code} at site {lot.location.site.code}", field="rework_line"
        )
    if line.families and lot.item.family and lot.item.family not in line.families:
        raise InvalidInputError(
            f"line {code} does not run family {lot.item.family}", field="rework_line"
        )
    if lot.job_id is None:
        raise InvalidInputError(
            f"lot {lot.code} was not made by a job here: a rework job needs the order it was "
            "made for (scrap or release it, or rework it in ERP)",
            field="disposition",
        )
    return line


def lot_disposition(
    *,
    lot_id,
    actor,
    disposition: str,
    rationale: str,
    quantity=None,
    deviation: str = "",
    approver: str = "",
    rework_line: str = "",
    via: str = WEB,
    expected_state: str | None = None,
) -> Lot:
    """Quality decides on a held lot (or part of it): release, rework, scrap or use as is.

    Returns the lot dispositioned (the split-off part for a partial quantity). Bad input is an
    ``InvalidInputError`` naming the field; a lot not on hold a ``TransitionError`` (409).
    """
    _require_perm(actor, DISPOSITION_PERMISSION, "disposition lots (quality role)")
    if disposition not in Disposition.VALUES:
        raise InvalidInputError(
            "choose one of: " + ", ".join(Disposition.VALUES), field="disposition"
        )
    rationale = _text(rationale, "rationale", "give the rationale for the disposition", 2000)
    deviation = (deviation or "").strip()
    approved_by = None
    if disposition == Disposition.USE_AS_IS:
        if not deviation:
            raise InvalidInputError("use as is needs a deviation number", field="deviation")
        if len(deviation) > 40:
            raise InvalidInputError("at most 40 characters", field="deviation")
        approved_by = _approver(approver, actor)
    with row_locked(Lot, lot_id, expected_state=expected_state or None) as lot:
        if lot.status != ON_HOLD:
            raise TransitionError(
                f"lot {lot.code} is {lot.get_status_display()}, not on hold; "
                "nothing to disposition",
                current_state=lot.status,
            )
        amount = _quantity(quantity, lot)
        line = _rework_line(rework_line, lot) if disposition == Disposition.REWORK else None
        now = timezone.now()
        target, detail = lot, ""
        if amount < lot.quantity:
            target = _split(lot, amount, actor=actor, via=via, now=now)
            detail = f"{quantity_label(amount)} split off as {target.code}"
        outcome = _perform(
            target,
            disposition,
            actor=actor,
            via=via,
            now=now,
            rationale=rationale,
            deviation=deviation,
            approver=approved_by,
            line=line,
        )
        lot_observers.notify(
            LotChange(
                lot=target.code,
                hold_key=lot.code,
                disposition=disposition,
                rationale=rationale,
                quantity=amount,
                still_on_hold=lot.quantity if target is not lot else Decimal(0),
                actor=actor,
                via=via,
                deviation=deviation,
                detail="; ".join(x for x in (detail, outcome) if x),
            )
        )
    return target


def _split(lot: Lot, amount: Decimal, *, actor, via, now) -> Lot:
    """Split ``amount`` off a held lot under a new code; both stay on hold, same reason."""
    n = lot.splits.count() + 1
    while True:
        code = f"{lot.code[:34]}-{n}"
        if not Lot.objects.filter(code=code).exists():
            break
        n += 1
    part = Lot.objects.create(
        code=code,
        item=lot.item,
        quantity=amount,
        location=lot.location,
        job=lot.job,
        produced_at=lot.produced_at,
        status=ON_HOLD,
        hold_reason=lot.hold_reason,
        defect_code=lot.defect_code,
        held_at=lot.held_at,
        split_from=lot,
    )
    Lot.objects.filter(pk=lot.pk).update(quantity=F("quantity") - amount)
    lot.quantity -= amount
    who = actor if getattr(actor, "is_authenticated", False) else None
    lot_type = ContentType.objects.get_for_model(Lot)
    StateChange.objects.bulk_create(
        StateChange(
            content_type=lot_type,
            object_id=obj.pk,
            transition="split",
            from_state=ON_HOLD,
            to_state=ON_HOLD,
            actor=who,
            via=via,
            reason=why,
            at=now,
        )
        for obj, why in (
            (lot, f"{amount} split off as {code}; {lot.quantity} left"),
            (part, f"split off {lot.code} ({amount})"),
        )
    )
    outbox_add(
        topic="lot.split",
        aggregate=lot_aggregate(lot),
        data={
            "lot": lot.code,
            "new_lot": code,
            "item": lot.item.code,
            "quantity": str(lot.quantity),
            "new_quantity": str(amount),
            "split_at": _at(now),
        },
    )
    return part


def disposition_message(
    lot: Lot, disposition: str, *, rationale: str, at, deviation: str = "", job=None
) -> None:
    """The outbox message of a disposition (``lot.released`` for release and use as is).

    Shared with an applied ``quality.disposition`` event (``apply.py``): ERP and MES hear of
    every disposition, whoever made it, or the hold they were told of would never end.
    """
    data = {"lot": lot.code, "item": lot.item.code, "quantity": str(lot.quantity)}
    tail = {"rationale": rationale, "decided_at": _at(at)}
    if disposition in (Disposition.RELEASE, Disposition.USE_AS_IS):
        topic = "lot.released"
        data |= {"disposition": disposition, "deviation": deviation}
    elif disposition == Disposition.SCRAP:
        topic = "lot.scrapped"
    else:
        topic = "lot.reworked"
        data |= {
            "rework_job": job.number if job else "",
            "line": job.line.code if job else "",
        }
    outbox_add(topic=topic, aggregate=lot_aggregate(lot), data=data | tail)


def _perform(lot, disposition, *, actor, via, now, rationale, deviation, approver, line) -> str:
    """The transition, its side effect and its message; returns what else happened."""
    message = {"rationale": rationale, "at": now, "deviation": deviation}
    if disposition == Disposition.RELEASE:
        transition_apply(lot.release, actor=actor, via=via, reason=f"release: {rationale}")
        disposition_message(lot, disposition, **message)
        return ""
    if disposition == Disposition.USE_AS_IS:
        who = approver.get_username()
        transition_apply(
            lot.use_as_is,
            actor=actor,
            via=via,
            reason=f"use as is under deviation {deviation}, approved by {who}: {rationale}",
        )
        disposition_message(lot, disposition, **message)
        return f"deviation {deviation} approved by {who}"
    if disposition == Disposition.SCRAP:
        transition_apply(lot.scrap, actor=actor, via=via, reason=f"scrap: {rationale}")
        # The scrapped quantity leaves the on-hand position where the lot sits.
        Stock.objects.filter(item_id=lot.item_id, location_id=lot.location_id).update(
            quantity=Greatest(F("quantity") - lot.quantity, Value(Decimal(0))), updated_at=now
        )
        disposition_message(lot, disposition, **message)
        return f"{quantity_label(lot.quantity)} {lot.item.uom} out of stock at {lot.location.code}"
    job = _rework_job(lot, line, now)
    transition_apply(
        lot.rework,
        actor=actor,
        via=via,
        reason=f"rework on {line.code} ({job.number}): {rationale}",
        job=job,
    )
    disposition_message(lot, disposition, **message, job=job)
    return f"rework job {job.number} on {line.code}"


def _rework_job(lot: Lot, line: Line, now) -> Job:
    """A planned job at the end of the line's sequence, for the order the lot was made for."""
    n = 1
    while Job.objects.filter(number=f"RW-{lot.pk}-{n}").exists():
        n += 1
    last = Job.objects.filter(line=line).aggregate(last=Max("sequence"))["last"] or 0
    quantity = max(1, math.ceil(lot.quantity))
    hours = quantity / lot.item.rate_per_hour if lot.item.rate_per_hour else 1
    return Job.objects.create(
        number=f"RW-{lot.pk}-{n}",
        order=lot.job.order,
        line=line,
        item=lot.item,
        quantity=quantity,
        sequence=last + 10,
        planned_start=now,
        planned_end=now + timedelta(hours=hours),
    )
