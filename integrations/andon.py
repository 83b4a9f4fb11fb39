"""Andon from the floor: a line's station page calls for help through the inbox.

A call is a CloudEvent (``andon.call``) like any machine's signal: stored in the inbox, then
processed by the worker into exceptions, so it de-duplicates, raises, routes and escalates
the same way. Its ``source`` names the station and the person (``andon/<station>/<user>``);
a second tap of the same call within ``TAP_WINDOW`` seconds is the same event (a duplicate,
not stored twice), and later calls of the same kind on the line join the open exception.

The station shows each recent call's state from the exception it raised or joined:
raised → acknowledged (by whom) → who is coming (the owner) → resolved.
"""

import re
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.db import transaction
from django.utils import timezone

from coordination.models import Line, StateChange
from exceptions.kinds import ANDON_CALLS
from exceptions.models import ExceptionCase, ExceptionCaseEvent
from kernel.errors import InvalidInputError
from workflows.models import ACTIVE_TASK_STATES, Task

from .models import InboxEvent, Integration
from .services import events_accept

EVENT_TYPE = "andon.call"
INTEGRATION = "andon"  # the integration row every station's calls are stored under
TAP_WINDOW = 5  # seconds: a double tap is one call
STOP_REASONS = ["Jam", "Breakdown", "Changeover overrun", "No operator", "Safety", "Other"]
CALLS = ["stopped", "quality", "material", "help"]  # the station's big buttons, in order
MAX_NOTE = 200
STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
RECENT = timedelta(hours=12)


def station_clean(station: str, line: Line) -> str:
    """The station's name (from its bookmarked URL), or the line's default station."""
    station = (station or "").strip()
    if not station:
        return f"{line.code} station"
    if not STATION.match(station):
        raise InvalidInputError(
            "station: letters, digits, space, dot, dash or underscore, at most 40", field="station"
        )
    return station


def andon_call(*, line: Line, call: str, actor, station: str, reason: str = "", note: str = ""):
    """Store one call in the inbox (processed by the worker like any signal); returns the
    inbox row (the same row for a double tap)."""
    if call not in ANDON_CALLS:
        raise InvalidInputError(f"call must be one of {', '.join(ANDON_CALLS)}", field="call")
    reason, note = (reason or "").strip(), (note or "").strip()
    if call == "stopped" and reason not in STOP_REASONS:
        raise InvalidInputError("choose why the line stopped", field="reason")
    if len(note) > MAX_NOTE:
        raise InvalidInputError(f"the note is at most {MAX_NOTE} characters", field="note")
    if "\x00" in note:
        raise InvalidInputError("the note must not contain a NUL character", field="note")
    station = station_clean(station, line)
    now = timezone.now()
    user = actor.get_username()
    data = {"line": line.code, "call": call, "station": station, "by": user, "site": line.site.code}
    if call == "stopped":
        data["reason"] = reason
    if note:
        data["note"] = note
    source = f"andon/{station}/{user}"
    event_id = f"{line.code}:{call}:{int(now.timestamp()) // TAP_WINDOW}"
    raw = {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": EVENT_TYPE,
        "time": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    with transaction.atomic():
        integration, _ = Integration.objects.get_or_create(
            name=INTEGRATION,
            defaults={
                "site": line.site,
                "allowed_types": [EVENT_TYPE],
                "description": "Andon calls from the lines' station pages.",
            },
        )
        result = events_accept(integration=integration, raw_events=[raw])[0]
    if result["status"] == "rejected":
        problem = result["errors"][0]
        raise InvalidInputError(problem["message"], field=problem["field"].removeprefix("data."))
    return InboxEvent.objects.get(source=source, event_id=event_id)


@dataclass
class CallState:
    """One call as the station shows it."""

    event: InboxEvent
    case: ExceptionCase | None
    step: str  # raised, acknowledged, coming, resolved, dismissed, waiting, failed
    label: str
    acknowledged_by: str = ""
    coming: str = ""

    @property
    def call_label(self) -> str:
        return ANDON_CALLS.get(self.event.data.get("call"), "call")


def andon_calls(*, line: Line, limit: int = 8) -> list[CallState]:
    """The line's recent calls, newest first, each with the state of its exception."""
    events = list(
        InboxEvent.objects.filter(
            type=EVENT_TYPE, data__line=line.code, received_at__gte=timezone.now() - RECENT
        ).order_by("-received_at", "-id")[:limit]
    )
    links = dict(
        ExceptionCaseEvent.objects.filter(inbox_id__in=[e.pk for e in events])
        .order_by("id")
        .values_list("inbox_id", "case_id")
    )
    cases = ExceptionCase.objects.select_related("owner_user", "owner_group").in_bulk(
        set(links.values())
    )
    acks = _acknowledgers(list(cases))
    routed: dict[int, list] = {}
    for task in (
        Task.objects.filter(case_id__in=list(cases), status__in=ACTIVE_TASK_STATES)
        .select_related("owner_group", "assignee")
        .order_by("id")
    ):
        routed.setdefault(task.case_id, []).append(task)
    return [_state(e, cases.get(links.get(e.pk)), acks, routed) for e in events]


def _acknowledgers(case_ids: list[int]) -> dict[int, str]:
    from django.contrib.contenttypes.models import ContentType

    changes = StateChange.objects.filter(
        content_type=ContentType.objects.get_for_model(ExceptionCase),
        object_id__in=case_ids,
        transition="acknowledge",
    ).select_related("actor")
    return {c.object_id: _name(c.actor) for c in changes if c.actor_id}


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _state(event: InboxEvent, case, acks: dict[int, str], routed: dict[int, list]) -> CallState:
    if case is None:
        if event.status == InboxEvent.Status.FAILED:
            return CallState(event, None, "failed", f"not raised: {event.error}")
        if event.data.get("call") == "running":
            return CallState(event, None, "resolved", "line running again: sent")
        return CallState(event, None, "waiting", "sent, being raised…")
    by = acks.get(case.pk, "")
    tasks = routed.get(case.pk, [])
    # Who is coming: the exception's owner, else whoever claimed its task.
    claimed = next((t.assignee for t in tasks if t.assignee_id), None)
    coming = _name(case.owner_user) if case.owner_user_id else _name(claimed)
    if case.status == ExceptionCase.Status.RESOLVED:
        return CallState(event, case, "resolved", "resolved", by, coming)
    if case.status == ExceptionCase.Status.DISMISSED:
        return CallState(event, case, "dismissed", f"dismissed: {case.dismiss_reason}", by)
    if case.status == ExceptionCase.Status.ACKNOWLEDGED:
        label = f"acknowledged by {by or coming or 'someone'}"
        if coming:
            label += f" · {coming} is coming"
        return CallState(event, case, "coming" if coming else "acknowledged", label, by, coming)
    if coming:
        return CallState(event, case, "coming", f"raised · {coming} is coming", by, coming)
    groups = [t.owner_group.name for t in tasks if t.owner_group_id]
    if case.owner_group_id:
        groups.insert(0, case.owner_group.name)
    sent = ", ".join(dict.fromkeys(groups))
    label = "raised" + (f" · sent to {sent}" if sent else " · waiting for someone")
    return CallState(event, case, "raised", label, by, coming)
