"""Raising an exception by hand: a supervisor's disruption that no rule covers.

It is an exception like any other (kind ``manual``): one open per line and title, on the
board, routed (the catch-all "General response" unless an admin adds a rule), escalated,
resolved with a root cause. Who raised it and why is its first timeline entry and a
``StateChange`` row (the audit trail every person's change leaves).
"""

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from coordination.models import Line, Site, StateChange
from kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError

from .hooks import CaseChange, Change, case_observers
from .models import OPEN_STATES, ExceptionCase, ExceptionCaseEvent, ExceptionPolicy, Kind, Severity
from .services import _assess, board_bump

RAISE_PERMISSION = f"exceptions.act_on_{Kind.MANUAL}"
MAX_TITLE = 200
MAX_NOTE = 2000


def case_raise(
    *,
    actor,
    title: str,
    severity: int,
    note: str = "",
    line_code: str = "",
    via: str = StateChange.Via.WEB,
) -> ExceptionCase:
    """Open a ``manual`` exception (supervisors); the same line and title again is a conflict
    naming the open one, never a second exception."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(RAISE_PERMISSION):
        raise PermissionDeniedError("only supervisors raise exceptions by hand")
    title, note = (title or "").strip(), (note or "").strip()
    if not title:
        raise InvalidInputError("say what happened", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInputError(f"the title is at most {MAX_TITLE} characters", field="title")
    if len(note) > MAX_NOTE:
        raise InvalidInputError(f"the note is at most {MAX_NOTE} characters", field="note")
    if "\x00" in title + note:
        raise InvalidInputError("must not contain a NUL character", field="title")
    try:
        severity = Severity(int(severity))
    except (TypeError, ValueError):
        raise InvalidInputError("choose a severity from the list", field="severity") from None
    line = None
    if line_code:
        line = Line.objects.select_related("site").filter(code=line_code).first()
        if line is None:
            raise InvalidInputError(f"no line {line_code}", field="line")
    site = line.site if line else Site.objects.order_by("pk").first()
    key = f"{line.code if line else 'plant'}:{slugify(title)[:100] or 'raised'}"
    now = timezone.now()
    user = actor.get_username()
    facts = {"title": title, "note": note, "by": user, **({"line": line.code} if line else {})}
    with transaction.atomic():
        existing = ExceptionCase.objects.filter(
            kind=Kind.MANUAL, key=key, status__in=OPEN_STATES
        ).first()
        if existing is not None:
            raise ConflictError(
                f"already open as #{existing.pk}: {existing.title}", case=existing.pk
            )
        case = ExceptionCase(
            kind=Kind.MANUAL,
            key=key,
            site=site,
            line=line,
            title=(f"Line {line.code}: {title}" if line else title)[:MAX_TITLE],
            base_severity=severity,
            severity=severity,
            facts=facts,
            event_count=1,
            first_seen_at=now,
            last_seen_at=now,
            opened_at=now,
            updated_at=now,
        )
        _assess(case, policy=ExceptionPolicy.current())
        case.severity, case.severity_reasons = severity, [f"set by {user} when raised by hand"]
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:  # a racing supervisor raised the same one first
            raise ConflictError("raised by someone else a moment ago; see the board") from None
        summary = f"raised by hand by {user}" + (f": {note}" if note else "")
        ExceptionCaseEvent.objects.create(
            case=case,
            kind=ExceptionCaseEvent.Kind.OPENED,
            summary=summary[:300],
            actor=actor,
            via=via,
        )
        StateChange.objects.create(
            content_type=ContentType.objects.get_for_model(ExceptionCase),
            object_id=case.pk,
            transition="raise",
            from_state="",
            to_state=case.status,
            actor=actor,
            via=via,
            reason=note or title,
        )
        case_observers.notify(
            CaseChange(
                case.pk, Change.OPENED, case.kind, case.key, case.severity, actor_id=actor.pk
            )
        )
        board_bump()
    return case
