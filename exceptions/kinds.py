"""Per kind: the correlation key a signal belongs to, a title, and the functions that act on it.

A key names the real-world thing that is disrupted, so every signal about it joins one
exception: the line for downtime, item + site for a shortage, the lot for a hold, the order
for a change, line + shift for labour, the job for scrap.
"""

from dataclasses import dataclass

from coordination import roles

from .models import Kind


@dataclass(frozen=True)
class Subject:
    key: str
    title: str
    line_code: str | None = None


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def subject_for(kind: str, site: str, data: dict) -> Subject | None:
    """The correlation key of a signal for a kind; None when the data lacks what names it."""
    line = _text(data.get("line")) or None
    if kind == Kind.DOWNTIME:
        if not line:
            return None
        what = _text(data.get("status")) or "down"
        if data.get("kind") == "unplanned":
            what = "unplanned maintenance"
        if data.get("call") == "stopped":  # andon: a person at the line stopped it
            station = _text(data.get("station"))
            what = "stopped (andon" + (f" at {station}" if station else "") + ")"
        reason = _text(data.get("reason"))
        asset = _text(data.get("asset"))
        title = f"Line {line} {what}" + (f" ({asset})" if asset else "")
        return Subject(line, title + (f": {reason}" if reason else ""), line)
    if kind == Kind.SHORTAGE:
        item = _text(data.get("item"))
        if not item:
            return None
        return Subject(f"{item}@{site}", f"Shortage of {item} at {site}", line)
    if kind == Kind.QUALITY_HOLD:
        lot = _text(data.get("lot"))
        if not lot:
            return None
        reason = _text(data.get("reason"))
        return Subject(lot, f"Lot {lot} on hold" + (f": {reason}" if reason else ""), line)
    if kind == Kind.ORDER_CHANGE:
        order = _text(data.get("order"))
        if not order:
            return None
        change = _text(data.get("change")).replace("_", " ") or "change"
        return Subject(order, f"Order {order} changed: {change}", line)
    if kind == Kind.LABOUR:
        shift = _text(data.get("shift"))
        if not line or not shift:
            return None
        return Subject(f"{line}/{shift}", f"Labour short on {line}, shift {shift}", line)
    if kind == Kind.SCRAP:
        job = _text(data.get("job"))
        if not job:
            return None
        return Subject(job, f"Scrap above threshold on job {job}", line)
    if kind == Kind.SYNC_DIVERGENCE:
        return _divergence_subject(data, line)
    if kind == Kind.ANDON:
        return _andon_subject(data, line)
    return None


# andon.call (a person at the line, from its station page): what each call means.
ANDON_CALLS = {
    "stopped": "line stopped",
    "quality": "quality problem",
    "material": "material needed",
    "help": "need help",
    "running": "line running again",
}


def _andon_subject(data: dict, line: str | None) -> Subject | None:
    """One open call per line and kind of call: pressing again (or from another station)
    joins it. "Line stopped" is a downtime (keyed by the line, like the MES's signal)."""
    call = _text(data.get("call"))
    if not line or call not in ANDON_CALLS:
        return None
    station = _text(data.get("station"))
    note = _text(data.get("note")) or _text(data.get("reason"))
    title = f"Line {line}: {ANDON_CALLS[call]}" + (f" at {station}" if station else "")
    return Subject(f"{line}:{call}", title + (f" ({note})" if note else ""), line)


def _divergence_subject(data: dict, line: str | None) -> Subject | None:
    """Reconciliation's signal: key "<system>:<object>:<ref>" (``erp:lot:LOT-1``)."""
    system, what, ref = (_text(data.get(k)) for k in ("system", "object", "ref"))
    if not system or not what or not ref:
        return None

    def side(who: str, says: str, since: str) -> str:
        return f"{who} {says or 'nothing'}" + (f" (since {since})" if since else "")

    theirs = side(
        f"{system.upper()} says", _text(data.get("theirs")), _text(data.get("theirs_since"))
    )
    ours = side("we say", _text(data.get("ours")), _text(data.get("ours_since")))
    return Subject(f"{system}:{what}:{ref}", f"{what.capitalize()} {ref}: {theirs}; {ours}", line)


def condition_label(kind: str, key: str) -> str:
    """The condition that keeps an exception of ``kind`` on ``key`` active, as a resolve form
    warns about it: what the clearing signal (exceptions/defaults.py) has not said yet."""
    if kind == Kind.DOWNTIME:
        return f"line {key} has not reported running"
    if kind == Kind.SHORTAGE:
        item, _, site = key.partition("@")
        return f"{item} is still short at {site}" if site else f"{item} is still short"
    if kind == Kind.LABOUR:
        line, _, shift = key.partition("/")
        return f"line {line} is still short of people on shift {shift}"
    if kind == Kind.QUALITY_HOLD:
        return f"lot {key} is still on hold: no disposition yet"
    if kind == Kind.ORDER_CHANGE:
        return f"the change to order {key} is still open"
    if kind == Kind.SCRAP:
        return f"job {key} still reports scrap above the threshold"
    if kind == Kind.SYNC_DIVERGENCE:
        system, _, rest = key.partition(":")
        return f"{system.upper()} and we still disagree on {rest.replace(':', ' ')}"
    return "its signal has not cleared"


# Who acts on which kind (the permission ``exceptions.act_on_<kind>``). Supervisors act on all.
KIND_ROLES: dict[str, tuple[str, ...]] = {
    Kind.DOWNTIME: (roles.SUPERVISOR, roles.MAINTENANCE),
    Kind.SHORTAGE: (roles.SUPERVISOR, roles.PROCUREMENT),
    Kind.LABOUR: (roles.SUPERVISOR,),
    Kind.QUALITY_HOLD: (roles.SUPERVISOR, roles.QUALITY),
    Kind.ORDER_CHANGE: (roles.SUPERVISOR, roles.SALES, roles.PLANNER),
    Kind.SCRAP: (roles.SUPERVISOR, roles.QUALITY),
    # Lots route to quality, orders and sequences to planning (workflows/defaults.py).
    Kind.SYNC_DIVERGENCE: (roles.SUPERVISOR, roles.QUALITY, roles.PLANNER),
    # The responders an andon call routes to (quality, material, help: workflows/defaults.py).
    Kind.ANDON: (roles.SUPERVISOR, roles.QUALITY, roles.PROCUREMENT, roles.MAINTENANCE),
    # Raised by a supervisor for anything no rule covers (exceptions/manual.py).
    Kind.MANUAL: (roles.SUPERVISOR,),
}


def kinds_for(user) -> list[str]:
    """The kinds a user acts on (and so sees on the board)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [k for k in Kind.values if user.has_perm(f"exceptions.act_on_{k}")]
