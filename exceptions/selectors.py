"""Reads of exceptions for the board, the exception page, the API and metrics."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from coordination.models import Line, Site, StateChange
from kernel.errors import InvalidInputError, NotFoundError
from kernel.filters import FilterError, datetime_param
from kernel.roles import ROLES

from .kinds import kinds_for
from .models import (
    OPEN_STATES,
    BoardVersion,
    ExceptionCase,
    ExceptionPolicy,
    Kind,
    RootCause,
    Severity,
)

VIEW_ORDER = "coordination.view_order"
SEVERITY_BY_NAME = {label.lower(): value for value, label in Severity.choices}


def board_version() -> int:
    """The board's change counter: one primary-key read, no scan (see ``BoardVersion``)."""
    return BoardVersion.objects.filter(pk=1).values_list("n", flat=True).first() or 0


@dataclass
class CaseFilters:
    """Filters on exceptions, parsed once from a query: the board's URL and the API's.

    ``strict`` (the API): a bad value is an ``InvalidInputError`` naming the parameter (a
    400). Otherwise (the board, a person's URL): it is reported in ``errors`` and ignored,
    never a crash. ``status`` and ``since`` are the API's: on the board ``since`` is the
    version counter of its live refresh, and the board shows open exceptions only.
    """

    site: str = ""
    line: str = ""
    kind: str = ""
    severity: str = ""  # a name: low, medium, high, critical
    owner: str = ""  # a username, "group:<role>" or "none"
    mine: bool = False
    status: list[str] = field(default_factory=list)
    since: datetime | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, query, *, strict: bool = False) -> "CaseFilters":
        f = cls(
            site=query.get("site", "").strip(),
            line=query.get("line", "").strip(),
            owner=query.get("owner", "").strip(),
            mine=query.get("mine", "") in ("1", "on", "true", "yes"),
        )

        def bad(param: str, strict_message: str, lenient_message: str) -> None:
            if strict:
                raise InvalidInputError(strict_message, field=param)
            f.errors.append(lenient_message)

        if f.owner and not _owner_known(f.owner):
            bad(
                "owner",
                "owner must be a username, group:<role> or none",
                f"unknown owner “{f.owner}” ignored",
            )
            f.owner = ""
        kind = query.get("kind", "").strip()
        if kind and kind not in Kind.values:
            bad(
                "kind",
                f"kind must be one of {', '.join(Kind.values)}",
                f"unknown kind “{kind}” ignored",
            )
        else:
            f.kind = kind
        severity = query.get("severity", "").strip()
        names = list(SEVERITY_BY_NAME)
        # isascii: "²" passes isdigit() and then int() fails.
        if severity.isascii() and severity.isdigit() and int(severity) in Severity.values:
            severity = Severity(int(severity)).label.lower()
        if severity and severity not in names:
            bad(
                "severity",
                f"severity must be one of {', '.join(names)} or 1-4",
                f"unknown severity “{severity}” ignored",
            )
        elif severity:
            f.severity = severity
        if not strict:
            return f
        status = query.get("status", "")
        if status:
            wanted = status.split(",")
            if any(s not in [*ExceptionCase.Status.values, "active"] for s in wanted):
                bad(
                    "status",
                    "status must be open, acknowledged, resolved, dismissed or active (open + "
                    "acknowledged), comma-separated",
                    "",
                )
            f.status = [*wanted, *OPEN_STATES] if "active" in wanted else wanted
        since = query.get("since", "")
        if since:
            try:
                f.since = datetime_param(since, "since", default_tz=timezone.get_current_timezone())
            except FilterError as exc:
                bad("since", f"since {exc.message}", "")
        return f

    def as_query(self) -> dict:
        """The board's URL for these filters (what its links and refresh carry)."""
        q = {
            k: v
            for k, v in (
                ("site", self.site),
                ("line", self.line),
                ("kind", self.kind),
                ("severity", self.severity),
                ("owner", self.owner),
            )
            if v
        }
        if self.mine:
            q["mine"] = "1"
        return q

    def apply(self, qs, *, user):
        """``qs`` narrowed to these filters."""
        if self.site:
            qs = qs.filter(site__code=self.site)
        if self.line:
            qs = qs.filter(line__code=self.line)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.severity:
            qs = qs.filter(severity=SEVERITY_BY_NAME[self.severity])
        if self.owner == "none":
            qs = qs.filter(owner_user__isnull=True, owner_group__isnull=True)
        elif self.owner.startswith("group:"):
            qs = qs.filter(owner_group__name=self.owner[6:])
        elif self.owner:
            qs = qs.filter(owner_user__username=self.owner)
        if self.mine:
            qs = qs.filter(Q(owner_user=user) | Q(owner_group__in=user.groups.all()))
        if self.status:
            qs = qs.filter(status__in=self.status)
        if self.since is not None:
            qs = qs.filter(updated_at__gte=self.since)
        return qs


def _owner_known(owner: str) -> bool:
    """``none``, ``group:<role>`` or an existing username (one indexed read)."""
    if owner == "none":
        return True
    if owner.startswith("group:"):
        return owner[6:] in ROLES
    return get_user_model().objects.filter(username=owner).exists()


@dataclass
class Board:
    cases: list
    total: int
    version: int
    limit: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.cases), 0)


def _visible(user):
    """The exceptions a user may read, one rule for the board, the page and the API: the
    kinds their functions act on, and any other on which they or one of their groups has a
    task (sales, given a task on a line-down, opens it from the inbox; README: Who reads
    what). Acting stays with the kind's functions (``act_on_<kind>``)."""
    kinds = kinds_for(user)
    cases = ExceptionCase.objects.all()
    if len(kinds) == len(Kind.values):
        return cases  # supervisors, admin: every kind, no subquery on the board's hot path
    if not kinds and not getattr(user, "is_authenticated", False):
        return cases.none()
    # Tasks through the reverse relation: the exceptions app does not import workflows.
    Task = ExceptionCase.tasks.rel.related_model
    groups = list(user.groups.values_list("pk", flat=True))
    with_task = Task.objects.filter(Q(assignee=user) | Q(owner_group__in=groups))
    return cases.filter(Q(kind__in=kinds) | Q(pk__in=with_task.values("case_id")))


def board_get(*, user, filters: CaseFilters, limit: int | None = None) -> Board:
    """Open exceptions the user's functions act on, by severity then age: top N and a count.

    Two queries whatever the number of rows (the count and the top N with its joins); the
    ``exception_board`` partial index serves both.
    """
    version = board_version()
    limit = limit or ExceptionPolicy.objects.values_list("board_limit", flat=True).first() or 200
    qs = filters.apply(_visible(user).filter(status__in=OPEN_STATES), user=user)
    total = qs.count()
    # Plain values, not model instances: 200 ExceptionCase objects cost more to build (FSM
    # bookkeeping per instance) than the whole query; the board only prints them.
    rows = list(qs.order_by("-severity", "opened_at", "id").values(*BOARD_FIELDS)[:limit])
    if not user.has_perm(VIEW_ORDER):
        for r in rows:
            r["affected_label"] = _label_without_orders(r)
    return Board(cases=_label_rows(rows), total=total, version=version, limit=limit)


def _label_without_orders(row: dict) -> str:
    """The affected label is "lines · orders" (exceptions/impact.py): for a role that may not
    read orders (maintenance) only the lines stay. A single part is the lines only when the
    exception is on a line."""
    parts = row["affected_label"].split(" · ")
    if len(parts) > 1:
        return parts[0]
    return row["affected_label"] if row["line_id"] else ""


BOARD_FIELDS = (
    "id",
    "line_id",
    "kind",
    "key",
    "title",
    "status",
    "severity",
    "condition_active",
    "cleared_at",
    "repeat_of_id",
    "affected_label",
    "event_count",
    "opened_at",
    "owner_user__username",
    "owner_user__first_name",
    "owner_user__last_name",
    "owner_group__name",
)
SEVERITY_LABELS = dict(Severity.choices)
KIND_LABELS = dict(Kind.choices)


@dataclass
class BoardRow:
    """What one board row shows (see ``exceptions/rows.py``)."""

    pk: int
    kind: str
    key: str
    title: str
    status: str
    severity: int
    condition_active: bool
    cleared_at: datetime | None
    repeat_of_id: int | None
    affected_label: str
    event_count: int
    opened_at: datetime
    owner: str
    url: str
    severity_label: str
    kind_label: str
    age: str
    opened_iso: str


def age_label(seconds: float) -> str:
    """Same words as the board's ticking script (exceptions/static/exceptions/board.js)."""
    s = max(int(seconds), 0)
    h, m = divmod(s // 60, 60)
    if h >= 24:
        return f"{h // 24} d {h % 24} h"
    if h:
        return f"{h} h {m:02d} m"
    return f"{m} m {s % 60:02d} s"


def _label_rows(rows: list[dict]) -> list[BoardRow]:
    """Everything a row shows, computed once in Python: the row builder only prints."""
    now = timezone.now()
    prefix = reverse("exception-detail", args=[1])[: -len("1/")]
    out = []
    for r in rows:
        full = f"{r['owner_user__first_name']} {r['owner_user__last_name']}".strip()
        if r["owner_user__username"]:
            owner = full or r["owner_user__username"]
        elif r["owner_group__name"]:
            owner = f"{r['owner_group__name']} (group)"
        else:
            owner = ""
        out.append(
            BoardRow(
                pk=r["id"],
                kind=r["kind"],
                key=r["key"],
                title=r["title"],
                status=r["status"],
                severity=r["severity"],
                condition_active=r["condition_active"],
                cleared_at=r["cleared_at"],
                repeat_of_id=r["repeat_of_id"],
                affected_label=r["affected_label"],
                event_count=r["event_count"],
                opened_at=r["opened_at"],
                owner=owner,
                url=f"{prefix}{r['id']}",
                severity_label=SEVERITY_LABELS[r["severity"]],
                kind_label=KIND_LABELS.get(r["kind"], r["kind"]),
                age=age_label((now - r["opened_at"]).total_seconds()),
                opened_iso=r["opened_at"].isoformat(),
            )
        )
    return out


def board_choices() -> dict:
    """Values for the board's filter menus (small tables: three short queries)."""
    User = get_user_model()
    return {
        "sites": list(Site.objects.values_list("code", flat=True)),
        "lines": list(Line.objects.values_list("code", flat=True)),
        "kinds": Kind.choices,
        "severities": [label.lower() for _, label in reversed(Severity.choices)],
        # (username, name shown): people who own an open exception now.
        "owners": [
            (username, f"{first} {last}".strip() or username)
            for username, first, last in User.objects.filter(
                owned_exception_cases__status__in=OPEN_STATES
            )
            .distinct()
            .order_by("username")
            .values_list("username", "first_name", "last_name")
        ],
        "groups": [r for r in ROLES if r != "admin"],
    }


def case_get(*, user, pk) -> ExceptionCase:
    """One exception the user may see (another function's is as good as absent: 404)."""
    case = (
        _visible(user)
        .select_related("line", "site", "owner_user", "owner_group", "root_cause__category", "rule")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise NotFoundError(f"exception {pk} does not exist")
    return case


@dataclass
class TimelineEntry:
    at: datetime
    what: str
    summary: str
    who: str = ""
    via: str = ""
    event_type: str = ""
    event_time: datetime | None = None
    css: str = ""


def case_timeline(case: ExceptionCase) -> list[TimelineEntry]:
    """Signals, state changes and who did what, oldest first (two queries, merged)."""
    entries = [
        TimelineEntry(
            at=e.at,
            what=e.get_kind_display(),
            summary=e.summary,
            who=e.actor.get_username() if e.actor_id else "",
            via=e.via,
            event_type=e.event_type,
            event_time=e.event_time,
            css=e.kind,
        )
        for e in case.events.select_related("actor").order_by("at", "id")
    ]
    changes = StateChange.objects.filter(
        content_type=ContentType.objects.get_for_model(ExceptionCase), object_id=case.pk
    ).select_related("actor")
    entries += [
        TimelineEntry(
            at=c.at,
            what=f"{c.from_state} → {c.to_state}",
            summary=c.reason,
            who=c.actor.get_username() if c.actor_id else "",
            via=c.via,
            css="state",
        )
        for c in changes
    ]
    return sorted(entries, key=lambda e: e.at)


def case_predecessors(case: ExceptionCase, *, limit: int = 10) -> list[ExceptionCase]:
    """Earlier resolved exceptions on the same key, newest first, with their root causes."""
    return list(
        ExceptionCase.objects.filter(
            kind=case.kind,
            key=case.key,
            status=ExceptionCase.Status.RESOLVED,
            resolved_at__lte=case.opened_at,
        )
        .exclude(pk=case.pk)
        .select_related("root_cause__category", "owner_user")
        .order_by("-resolved_at")[:limit]
    )


def root_cause_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """The active taxonomy grouped by category, for the resolve form."""
    groups: dict[str, list] = {}
    for cause in RootCause.objects.filter(active=True, category__active=True).select_related(
        "category"
    ):
        groups.setdefault(cause.category.name, []).append((cause.pk, cause.name))
    return list(groups.items())


def repeat_rate(*, since: datetime | None = None) -> dict:
    """Share of exceptions opened since ``since`` (default 30 days) that repeat a resolved one."""
    since = since or timezone.now() - timedelta(days=30)
    counts = ExceptionCase.objects.filter(opened_at__gte=since).aggregate(
        opened=Count("id"), repeats=Count("id", filter=Q(repeat_of__isnull=False))
    )
    rate = counts["repeats"] / counts["opened"] if counts["opened"] else 0.0
    return {**counts, "rate": round(rate, 3), "since": since}


# --- API ----------------------------------------------------------------------------------


def case_list(*, user, filters: CaseFilters | None = None):
    """Exceptions for the API, narrowed to parsed ``filters`` (``CaseFilters.parse(...,
    strict=True)``: a bad value was already a 400 naming the parameter)."""
    qs = _visible(user).select_related(
        "line", "site", "owner_user", "owner_group", "root_cause__category"
    )
    if filters is not None:
        qs = filters.apply(qs, user=user)
    return qs.order_by("-severity", "opened_at", "id")


def case_by_key(*, kind: str, key: str) -> ExceptionCase:
    """The open exception of a correlation key (other systems need not keep our ids)."""
    if kind not in Kind.values:
        raise InvalidInputError(f"kind must be one of {', '.join(Kind.values)}", field="kind")
    if not (key or "").strip():
        raise InvalidInputError("key is required", field="key")
    case = (
        ExceptionCase.objects.filter(kind=kind, key=key.strip(), status__in=OPEN_STATES)
        .order_by("-opened_at")
        .first()
    )
    if case is None:
        raise NotFoundError(f"no open {kind} exception on key {key}")
    return case
