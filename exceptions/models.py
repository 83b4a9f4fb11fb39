"""Exceptions: one record per real disruption, raised and correlated from applied plant events.

``ExceptionCase`` (never ``Exception``) is the disruption; ``ExceptionCaseEvent`` is its
append-only timeline (signals, clearing, severity, assignment, notes). State changes go through
``coordination.services.transition_apply`` and are audited in ``coordination.StateChange`` too.
Rules, severity thresholds, the policy and the root-cause taxonomy are admin-edited data.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from coordination.models import Line, Site


class Kind(models.TextChoices):
    """What kind of disruption; each has its correlation key and its function (role)."""

    DOWNTIME = "downtime", "line down"
    SHORTAGE = "shortage", "material shortage"
    LABOUR = "labour", "labour short"
    QUALITY_HOLD = "quality_hold", "quality hold"
    ORDER_CHANGE = "order_change", "order change"
    SCRAP = "scrap", "scrap above threshold"
    SYNC_DIVERGENCE = "sync_divergence", "ERP/MES disagree with us"
    ANDON = "andon", "andon call from the line"
    MANUAL = "manual", "raised by hand"


class Severity(models.IntegerChoices):
    LOW = 1, "low"
    MEDIUM = 2, "medium"
    HIGH = 3, "high"
    CRITICAL = 4, "critical"


class RaiseRule(models.Model):
    """Event type + condition → exception kind and base severity (or: the condition cleared).

    Conditions are a list of ``{"field", "op", "value"}`` tests on the event's data, all of
    which must hold. Besides the data fields, ``scrap_rate`` (production.progress: scrap /
    (good + scrap)) and ``shortfall`` (labor.availability: required - available) are derived.
    """

    class Action(models.TextChoices):
        RAISE = "raise", "raise or join an exception"
        CLEAR = "clear", "mark the condition cleared"

    OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists")

    name = models.CharField(max_length=120)
    event_type = models.CharField(max_length=40, db_index=True)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text='All must hold, e.g. [{"field": "status", "op": "in", "value": ["down"]}]. '
        "ops: " + ", ".join(OPS) + ". Empty: every event of the type.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.RAISE)
    base_severity = models.PositiveSmallIntegerField(
        choices=Severity.choices, default=Severity.MEDIUM
    )
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["event_type", "action", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.conditions, list):
            raise ValidationError({"conditions": "must be a list of {field, op, value}"})
        for k, cond in enumerate(self.conditions):
            if not isinstance(cond, dict) or not cond.get("field"):
                raise ValidationError({"conditions": f"condition {k + 1}: needs a field"})
            if cond.get("op") not in self.OPS:
                raise ValidationError(
                    {"conditions": f"condition {k + 1}: op must be one of {', '.join(self.OPS)}"}
                )
            if cond["op"] in ("in", "not_in") and not isinstance(cond.get("value"), list):
                raise ValidationError({"conditions": f"condition {k + 1}: value must be a list"})


class SeverityThreshold(models.Model):
    """Raise the base severity when the impact reaches a threshold (cumulative rows)."""

    class Measure(models.TextChoices):
        ORDERS_AT_RISK = "orders_at_risk", "orders whose due date is at risk"
        STRATEGIC_CUSTOMERS = "strategic_customers", "strategic (tier 1) customers hit"
        KEY_CUSTOMERS = "key_customers", "key (tier 2) customers hit"
        LOST_HOURS = "lost_hours", "hours of lost capacity"
        JOBS_HIT = "jobs_hit", "jobs hit in the horizon"

    measure = models.CharField(max_length=30, choices=Measure.choices)
    at_least = models.DecimalField(max_digits=8, decimal_places=2)
    raise_by = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["measure", "at_least"]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} ≥ {self.at_least}: +{self.raise_by}"


class ExceptionPolicy(models.Model):
    """Plant-wide settings for exceptions; one row (pk=1), edited in admin."""

    horizon_hours = models.PositiveSmallIntegerField(
        default=8, help_text="Jobs starting within this many hours count as hit."
    )
    default_outage_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=2,
        help_text="Assumed outage when a signal gives no expected end.",
    )
    repeat_window_days = models.PositiveSmallIntegerField(
        default=14, help_text="A new exception on a key resolved within this is a repeat."
    )
    board_limit = models.PositiveSmallIntegerField(
        default=200, help_text="Rows on the board; the rest are counted."
    )

    class Meta:
        verbose_name_plural = "exception policy"

    def __str__(self) -> str:
        return "Exception policy"

    @classmethod
    def current(cls) -> "ExceptionPolicy":
        return cls.objects.get_or_create(pk=1)[0]


class RootCauseCategory(models.Model):
    name = models.CharField(max_length=80, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "root cause categories"

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    category = models.ForeignKey(RootCauseCategory, on_delete=models.PROTECT, related_name="causes")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="root_cause_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.category.name} → {self.name}"


class CaseStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


OPEN_STATES = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)


class ExceptionCase(ConcurrentTransitionMixin, models.Model):
    """One disruption, correlated by (kind, key); open until a person resolves or dismisses it."""

    Status = CaseStatus

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField("correlation key", max_length=120)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="exception_cases"
    )
    title = models.CharField(max_length=200)
    status = FSMField(choices=Status.choices, default=Status.OPEN, protected=True)
    rule = models.ForeignKey(RaiseRule, on_delete=models.SET_NULL, null=True, blank=True)

    condition_active = models.BooleanField(
        default=True, help_text="False once a signal says the condition cleared."
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    base_severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    severity_reasons = models.JSONField(default=list, blank=True)
    facts = models.JSONField(default=dict, blank=True, help_text="Latest signal data, merged.")
    impact = models.JSONField(default=dict, blank=True)
    impact_summary = models.TextField(blank=True)
    affected_label = models.CharField(max_length=200, blank=True)

    event_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    opened_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_exception_cases",
    )
    owner_group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    root_cause = models.ForeignKey(RootCause, on_delete=models.PROTECT, null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_while_active = models.BooleanField(
        default=False, help_text="Resolved with explicit confirmation while still active."
    )
    dismiss_reason = models.TextField(blank=True)
    repeat_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats"
    )

    class Meta:
        ordering = ["-severity", "opened_at"]
        verbose_name = "exception"
        permissions = [
            (f"act_on_{k}", f"Can act on {label} exceptions") for k, label in Kind.choices
        ]
        constraints = [
            # One open exception per disruption: concurrent signals join, never duplicate.
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(status__in=OPEN_STATES),
                name="exception_one_open_per_key",
            )
        ]
        indexes = [
            # The board: open ones by severity then age.
            models.Index(
                fields=["-severity", "opened_at"],
                condition=Q(status__in=OPEN_STATES),
                name="exception_board",
            ),
            # Repeats: the last resolved ones on a key.
            models.Index(fields=["kind", "key", "resolved_at"], name="exception_repeat"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def action_label(self) -> str:
        """How messages about acting on it name it."""
        return f"exception #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def owner_label(self) -> str:
        if self.owner_user_id:
            return self.owner_user.get_full_name() or self.owner_user.get_username()
        if self.owner_group_id:
            return f"{self.owner_group.name} (group)"
        return ""

    @property
    def condition_label(self) -> str:
        """What is still true while ``condition_active``, in the kind's own words."""
        from .kinds import condition_label  # kinds imports this module

        return condition_label(self.kind, self.key)

    @transition(field=status, source=Status.OPEN, target=Status.ACKNOWLEDGED)
    def acknowledge(self, by=None) -> None:
        """Someone owns it now (``by``, unless assigned already). Called by case_acknowledge()."""
        self.acknowledged_at = timezone.now()
        if by is not None and not self.owner_user_id and not self.owner_group_id:
            self.owner_user = by

    @transition(field=status, source=[Status.OPEN, Status.ACKNOWLEDGED], target=Status.RESOLVED)
    def resolve(self, root_cause=None, note: str = "", while_active: bool = False) -> None:
        """Closed with a root cause. Called only by case_resolve()."""
        now = timezone.now()
        self.resolved_at = now
        self.acknowledged_at = self.acknowledged_at or now
        self.root_cause = root_cause
        self.resolution_note = note
        self.resolved_while_active = while_active

    @transition(field=status, source=[Status.OPEN, Status.ACKNOWLEDGED], target=Status.DISMISSED)
    def dismiss(self, why: str = "") -> None:
        """Not a real disruption (false alarm, duplicate). Called only by case_dismiss()."""
        self.dismissed_at = timezone.now()
        self.dismiss_reason = why


class ExceptionCaseEvent(models.Model):
    """Append-only timeline entry: a signal, clearing, severity change, assignment or note."""

    class Kind(models.TextChoices):
        SIGNAL = "signal"
        STALE = "stale", "late signal (not applied)"
        CLEARED = "cleared"
        SEVERITY = "severity", "severity changed"
        ASSIGNED = "assigned"
        OPENED = "opened"
        REPEAT = "repeat", "linked as repeat"

    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    via = models.CharField(max_length=10, default="system")
    summary = models.CharField(max_length=300)
    inbox_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    event_type = models.CharField(max_length=40, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Observers must be idempotent per inbox row (a retried event may come again).
            models.UniqueConstraint(
                fields=["case", "inbox_id", "kind"],
                condition=Q(inbox_id__isnull=False),
                name="exception_event_once_per_inbox",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}: {self.summary}"


class BoardVersion(models.Model):
    """One counter bumped in every transaction that changes an exception.

    The board polls with ``?since=<n>``; reading this row is one primary-key lookup, no scan.
    Bumped with ``UPDATE … SET n = n + 1`` as the last write of a change, so the row lock
    orders writers by commit: a client that saw ``n`` has seen every change up to ``n``
    (a max(updated_at) would miss a transaction that started earlier and committed later).
    """

    n = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"board version {self.n}"
