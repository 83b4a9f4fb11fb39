"""Writes on exceptions: raising and correlating from events, and the people's actions.

Entry points:
- ``event_observe(event)``: the ``coordination.events`` observer (registered in ``apps.py``),
  called by ingestion inside the event's transaction; ``events_observe(groups)`` its batch
  form, for a set-based chunk.
- ``case_acknowledge / case_assign / case_dismiss / case_resolve``: pages and API.
Each change bumps the board version last in its transaction and tells ``hooks`` observers.
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coordination.events import EventGroups, PlantEvent, batch_cache
from coordination.models import Site, StateChange
from coordination.services import row_locked, transition_apply
from kernel.errors import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    TransitionError,
)
from kernel.plant_time import plant_time
from kernel.roles import ROLES

from .errors import ConditionActiveError
from .hooks import CaseChange, Change, case_observers
from .impact import impact_assess, severity_assess
from .kinds import Subject, subject_for
from .models import (
    OPEN_STATES,
    BoardVersion,
    ExceptionCase,
    ExceptionCaseEvent,
    ExceptionPolicy,
    Kind,
    RaiseRule,
    RootCause,
    Severity,
)
from .rules import event_facts, rules_matching

log = logging.getLogger(__name__)
Entry = ExceptionCaseEvent.Kind


# --- board version ------------------------------------------------------------------------


def board_bump() -> None:
    """Bump the board version; call last in a changing transaction (see ``BoardVersion``)."""
    if not BoardVersion.objects.filter(pk=1).update(n=F("n") + 1):
        BoardVersion.objects.get_or_create(pk=1, defaults={"n": 1})


# --- raising, correlating, clearing -------------------------------------------------------


def event_observe(event: PlantEvent) -> None:
    """Raise, join or clear exceptions for one applied event (idempotent per inbox row)."""
    if _effects_apply(event, _effects(event)):
        board_bump()


def events_observe(groups: EventGroups) -> None:
    """The batch interface (``event_observers.notify_batch``): a chunk's events of one type,
    grouped by thing, each group in plant-time order. Leaves exactly what ``event_observe``
    on each event in turn would (the set-based property test holds it to that), with two
    lookups for the whole batch instead of some per event: which of the exceptions the
    events clear have none open (most "all good" signals), and which events are already on
    a timeline (a chunk retried after a rollback). The board version moves once."""
    planned = [(event, _effects(event)) for group in groups for event in group]
    clears = {
        (kind, subject.key)
        for _, effects in planned
        for (action, kind, _), (_, subject, _) in effects.items()
        if action == RaiseRule.Action.CLEAR
    }
    open_now = set()
    if clears:
        open_now = set(
            ExceptionCase.objects.filter(
                kind__in={kind for kind, _ in clears},
                key__in={key for _, key in clears},
                status__in=OPEN_STATES,
            ).values_list("kind", "key")
        )
        batch_cache().setdefault(NOTHING_OPEN, set()).update(clears - open_now)
    # Only raises, and clears of what is open, ask whether the event was seen already.
    ids = {
        event.inbox_id
        for event, effects in planned
        for (action, kind, key) in effects
        if event.inbox_id and (action == RaiseRule.Action.RAISE or (kind, key) in open_now)
    }
    if ids:
        seen = batch_cache().setdefault(SEEN, {"ids": set(), "entries": set()})
        seen["ids"] |= ids
        seen["entries"] |= set(
            ExceptionCaseEvent.objects.filter(inbox_id__in=ids).values_list(
                "inbox_id", "case__kind", "case__key"
            )
        )
    changed = False
    cache = batch_cache()
    for event, effects in planned:
        cache[TOLD] = []  # the changes this signal makes, for ``case_observers`` at once
        try:
            changed |= _effects_apply(event, effects)
        finally:
            told = cache.pop(TOLD)
        if told:
            case_observers.notify_batch(told)
    if changed:
        board_bump()


TOLD = "exceptions:told"  # batch cache: case changes of the signal being observed


def _tell(change: CaseChange) -> None:
    """Tell ``case_observers`` now, or with the signal's other changes (``events_observe``):
    no observer reads what the rest of one signal's handling writes."""
    told = batch_cache().get(TOLD)
    if told is None:
        case_observers.notify(change)
    else:
        told.append(change)


def _effects(event: PlantEvent) -> dict[tuple, tuple[RaiseRule, Subject, dict]]:
    """What the rules make of an event: one effect per (action, kind, key), the strongest
    raise rule winning when several match."""
    facts = event_facts(event.type, event.data or {})
    effects: dict[tuple, tuple[RaiseRule, Subject, dict]] = {}
    for rule in sorted(rules_matching(event.type, facts), key=lambda r: -r.base_severity):
        subject = subject_for(rule.kind, event.site, facts)
        if subject is None:
            log.warning("rule %s matched event %s but its data names no key", rule, event.inbox_id)
            continue
        effects.setdefault((rule.action, rule.kind, subject.key), (rule, subject, facts))
    return effects


def _effects_apply(event: PlantEvent, effects: dict) -> bool:
    changed = False
    for (action, _, _), (rule, subject, facts) in effects.items():
        if action == RaiseRule.Action.RAISE:
            changed |= _raise(event, rule, subject, facts)
        else:
            changed |= _clear(event, rule, subject, facts)
    return changed


def _open_case(kind: str, key: str) -> ExceptionCase | None:
    return (
        ExceptionCase.objects.select_for_update()
        .filter(kind=kind, key=key, status__in=OPEN_STATES)
        .first()
    )


SEEN = "exceptions:seen"  # batch cache: events looked up at once, and their timeline entries


def _seen(event: PlantEvent, kind: str, key: str) -> bool:
    """The event is already on the timeline of the (kind, key) exception: a retry."""
    if event.inbox_id is None:
        return False
    seen = batch_cache().get(SEEN)
    if seen is not None and event.inbox_id in seen["ids"]:
        return (event.inbox_id, kind, key) in seen["entries"]
    return ExceptionCaseEvent.objects.filter(
        inbox_id=event.inbox_id, case__kind=kind, case__key=key
    ).exists()


def _entry(case, kind, summary, *, event: PlantEvent | None = None, actor=None, via="system"):
    seen = batch_cache().get(SEEN)
    if seen is not None and event is not None and event.inbox_id in seen["ids"]:
        seen["entries"].add((event.inbox_id, case.kind, case.key))
    return ExceptionCaseEvent.objects.create(
        case=case,
        kind=kind,
        summary=summary[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        via=via,
        inbox_id=event.inbox_id if event else None,
        event_type=event.type if event else "",
        event_time=event.time if event else None,
        data=_jsonable(event.data) if event else {},
    )


def _jsonable(data: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in (data or {}).items()}


def _describe(event: PlantEvent) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in (event.data or {}).items() if v not in (None, ""))
    return f"{event.type} from {event.source}: {shown}"


def _raise(event: PlantEvent, rule: RaiseRule, subject: Subject, facts: dict) -> bool:
    with transaction.atomic():
        if _seen(event, rule.kind, subject.key):
            return False
        case = _open_case(rule.kind, subject.key)
        if event.stale:
            return _record_stale(event, case, rule.kind, subject.key)
        if case is None:
            try:
                with transaction.atomic():  # savepoint: a racing opener may win the constraint
                    case = _case_open(event, rule, subject, facts)
                    return True
            except IntegrityError:
                case = _open_case(rule.kind, subject.key)
                if case is None:
                    raise
        _case_join(case, event, rule, subject, facts)
    return True


def _record_stale(event, case, kind, key) -> bool:
    """A late signal is kept on the timeline of the case it belongs to; it changes nothing."""
    target = case or (
        ExceptionCase.objects.filter(kind=kind, key=key).order_by("-opened_at").first()
    )
    if target is None:
        return False
    _entry(target, Entry.STALE, "late, not applied: " + _describe(event), event=event)
    ExceptionCase.objects.filter(pk=target.pk).update(updated_at=timezone.now())
    return True


def _case_open(event, rule, subject, facts) -> ExceptionCase:
    batch_cache().get(NOTHING_OPEN, set()).discard((rule.kind, subject.key))
    now = timezone.now()
    policy = ExceptionPolicy.current()
    case = ExceptionCase(
        kind=rule.kind,
        key=subject.key,
        site=Site.objects.filter(code=event.site).first(),
        title=subject.title[:200],
        rule=rule,
        base_severity=rule.base_severity,
        severity=rule.base_severity,
        facts=_jsonable(facts),
        event_count=1,
        first_seen_at=event.time,
        last_seen_at=event.time,
        opened_at=now,
        updated_at=now,
    )
    predecessor = (
        ExceptionCase.objects.filter(
            kind=rule.kind,
            key=subject.key,
            status=ExceptionCase.Status.RESOLVED,
            resolved_at__gte=now - timedelta(days=policy.repeat_window_days),
        )
        .select_related("root_cause__category")
        .order_by("-resolved_at")
        .first()
    )
    case.repeat_of = predecessor
    _assess(case, policy=policy)
    case.save()
    _entry(case, Entry.OPENED, f"opened by rule “{rule.name}”: {subject.title}", event=None)
    _entry(case, Entry.SIGNAL, _describe(event), event=event)
    if predecessor is not None:
        cause = str(predecessor.root_cause) if predecessor.root_cause_id else "no root cause"
        _entry(
            case,
            Entry.REPEAT,
            f"repeat of #{predecessor.pk}, resolved {plant_time(predecessor.resolved_at)} "
            f"({cause})",
        )
    _tell(CaseChange(case.pk, Change.OPENED, case.kind, case.key, case.severity))
    return case


def _case_join(case, event, rule, subject, facts) -> None:
    """A new signal on an open exception: count it, refresh what it hits, re-rate it."""
    previous = case.severity
    case.event_count += 1
    case.first_seen_at = min(case.first_seen_at, event.time)
    case.last_seen_at = max(case.last_seen_at, event.time)
    case.facts = {**case.facts, **_jsonable(facts)}
    case.base_severity = max(case.base_severity, rule.base_severity)
    if subject.title and event.time >= case.last_seen_at:
        case.title = subject.title[:200]
    _entry(case, Entry.SIGNAL, _describe(event), event=event)
    change = Change.JOINED
    if not case.condition_active:
        case.condition_active = True
        case.cleared_at = None
        change = Change.REACTIVATED
        _entry(case, Entry.SIGNAL, "condition active again")
    _assess(case)
    case.updated_at = timezone.now()
    case.save()
    _tell(CaseChange(case.pk, change, case.kind, case.key, case.severity, previous))
    if case.severity != previous:
        _entry(
            case,
            Entry.SEVERITY,
            f"severity {Severity(previous).label} → {case.get_severity_display()}: "
            + "; ".join(case.severity_reasons[1:] or ["impact changed"]),
        )
        _tell(
            CaseChange(
                case.pk, Change.SEVERITY_CHANGED, case.kind, case.key, case.severity, previous
            )
        )


def _assess(case: ExceptionCase, *, policy=None) -> None:
    impact = impact_assess(case, policy=policy)
    case.impact = {**impact.links, "measures": impact.measures}
    case.impact_summary = impact.summary
    case.affected_label = impact.affected_label
    if impact.line_id:
        case.line_id = impact.line_id
    case.severity, case.severity_reasons = severity_assess(case.base_severity, impact.measures)


def _still_short(case: ExceptionCase, facts: dict) -> bool:
    """An inventory level clears a shortage only when it covers the quantity short."""
    try:
        return float(facts.get("quantity", 0)) < float(case.facts.get("quantity_short", 0))
    except (TypeError, ValueError):
        return True


NOTHING_OPEN = "exceptions:nothing-open"  # batch cache: (kind, key) known to have no open case


def _clear(event: PlantEvent, rule: RaiseRule, subject: Subject, facts: dict) -> bool:
    # Most "all good" signals find nothing open: one indexed query before any savepoint, and
    # none for the rest of the batch (``_case_open`` forgets the answer when it opens one).
    nothing_open = batch_cache().setdefault(NOTHING_OPEN, set())
    if (rule.kind, subject.key) in nothing_open:
        return False
    if not ExceptionCase.objects.filter(
        kind=rule.kind, key=subject.key, status__in=OPEN_STATES
    ).exists():
        nothing_open.add((rule.kind, subject.key))
        return False
    with transaction.atomic():
        case = _open_case(rule.kind, subject.key)
        if case is None or _seen(event, rule.kind, subject.key):
            return False
        if event.stale:
            return _record_stale(event, case, rule.kind, subject.key)
        if rule.kind == Kind.SHORTAGE and _still_short(case, facts):
            _entry(case, Entry.SIGNAL, "not enough to clear: " + _describe(event), event=event)
        elif case.condition_active:
            case.condition_active = False
            case.cleared_at = timezone.now()
            _entry(case, Entry.CLEARED, f"cleared ({rule.name}): " + _describe(event), event=event)
            _tell(CaseChange(case.pk, Change.CLEARED, case.kind, case.key, case.severity))
        else:
            _entry(case, Entry.SIGNAL, "still clear: " + _describe(event), event=event)
        case.updated_at = timezone.now()
        case.save(update_fields=["condition_active", "cleared_at", "updated_at"])
    return True


# --- people's actions ---------------------------------------------------------------------


def case_authorize(user, case: ExceptionCase) -> None:
    """Only the functions of a kind (and supervisors) act on its exceptions."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(
        f"exceptions.act_on_{case.kind}"
    ):
        raise PermissionDeniedError(
            f"your role may not act on {case.get_kind_display()} exceptions"
        )


def _case_locked(case_id, actor, *, expected_state=None):
    """The exception's one lock for a person's action: exists, theirs to act on, in the state
    they saw."""
    return row_locked(
        ExceptionCase,
        case_id,
        authorize=lambda case: case_authorize(actor, case),
        expected_state=expected_state or None,
    )


def _case_transition(case, transition, *, actor, via, reason, change: Change, **kwargs):
    """Run a person's transition on the locked exception; tell observers; bump the board."""
    transition_apply(transition, actor=actor, via=via, reason=reason, **kwargs)
    ExceptionCase.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    case_observers.notify(
        CaseChange(
            case.pk, change, case.kind, case.key, case.severity, actor_id=getattr(actor, "pk", None)
        )
    )
    board_bump()
    return case


def case_acknowledge(
    *, case_id, actor, via: str = StateChange.Via.WEB, expected_state: str | None = None
) -> ExceptionCase:
    """Someone has seen it and owns it (the actor, unless it was assigned already)."""
    with _case_locked(case_id, actor, expected_state=expected_state) as case:
        return _case_transition(
            case,
            case.acknowledge,
            actor=actor,
            via=via,
            reason="acknowledged",
            change=Change.ACKNOWLEDGED,
            by=actor if getattr(actor, "is_authenticated", False) else None,
        )


def case_dismiss(
    *, case_id, actor, reason: str, via: str = StateChange.Via.WEB, expected_state=None
) -> ExceptionCase:
    """Not a real disruption (false alarm, duplicate); the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("say why it is dismissed (e.g. false alarm)", field="reason")
    with _case_locked(case_id, actor, expected_state=expected_state) as case:
        return _case_transition(
            case,
            case.dismiss,
            actor=actor,
            via=via,
            reason=reason,
            change=Change.DISMISSED,
            why=reason,
        )


def case_resolve(
    *,
    case_id,
    actor,
    root_cause,
    note: str,
    confirm_active: bool = False,
    via: str = StateChange.Via.WEB,
    expected_state: str | None = None,
) -> ExceptionCase:
    """Close with a root cause from the taxonomy (its id) and a note; still active needs
    confirming."""
    note = (note or "").strip()
    try:
        cause = RootCause.objects.select_related("category").get(
            pk=int(root_cause), active=True, category__active=True
        )
    except (RootCause.DoesNotExist, ValueError, TypeError, OverflowError):
        raise InvalidInputError("choose a root cause from the list", field="root_cause") from None
    if not note:
        raise InvalidInputError("add a note: what was done and found", field="note")
    with _case_locked(case_id, actor, expected_state=expected_state) as case:
        while_active = case.is_open and case.condition_active
        if while_active and not confirm_active:
            raise ConditionActiveError(
                f"the condition is still active ({case.title}); confirm to resolve anyway",
                field="confirm_active",
            )
        return _case_transition(
            case,
            case.resolve,
            actor=actor,
            via=via,
            reason=f"{cause}: {note}" + (" (resolved while still active)" if while_active else ""),
            change=Change.RESOLVED,
            root_cause=cause,
            note=note,
            while_active=while_active,
        )


def case_owner_token(case: ExceptionCase) -> str:
    if case.owner_user_id:
        return f"user:{case.owner_user_id}"
    if case.owner_group_id:
        return f"group:{case.owner_group_id}"
    return ""


def case_assign(
    *,
    case_id,
    actor,
    user: str | int | None = None,
    group: str | None = None,
    via: str = StateChange.Via.WEB,
    expected_owner: str | None = None,
) -> ExceptionCase:
    """Give it to a person (username or id) or a role group; refused on a closed exception.

    ``expected_owner`` is the owner the caller saw (``user:<id>``, ``group:<id>`` or empty):
    if someone re-assigned it meanwhile, the caller gets a conflict instead of overwriting.
    """
    if bool(user) == bool(group):
        raise InvalidInputError("choose either a person or a group", field="owner")
    User = get_user_model()
    target_user = target_group = None
    if user:
        lookup = {"pk": int(user)} if str(user).isdigit() else {"username": str(user)}
        target_user = User.objects.filter(is_active=True, **lookup).first()
        if target_user is None:
            raise InvalidInputError(f"no active user {user}", field="user")
    else:
        target_group = Group.objects.filter(name=str(group), name__in=ROLES).first()
        if target_group is None:
            raise InvalidInputError(f"no role {group}", field="group")
    with _case_locked(case_id, actor) as case:
        if not case.is_open:
            raise TransitionError(
                f"exception #{case.pk} is {case.status}; only open ones are assigned",
                current_state=case.status,
            )
        if expected_owner is not None and expected_owner != case_owner_token(case):
            raise ConflictError(
                f"exception #{case.pk} was assigned to {case.owner_label or 'nobody'} "
                "meanwhile; nothing was changed",
                owner=case.owner_label,
            )
        case.owner_user, case.owner_group = target_user, target_group
        case.updated_at = timezone.now()
        case.save(update_fields=["owner_user", "owner_group", "updated_at"])
        who = target_user.get_username() if target_user else f"{target_group.name} (group)"
        _entry(case, Entry.ASSIGNED, f"assigned to {who}", actor=actor, via=via)
        case_observers.notify(
            CaseChange(
                case.pk, Change.ASSIGNED, case.kind, case.key, case.severity, actor_id=actor.pk
            )
        )
        board_bump()
    return case
