"""The plant's operational picture, as a planner and an ERP would recognise it.

Plant objects are addressed by their plant code (line ``L1``, order ``SO-10023``, lot
``LOT-…``), never by our database ids, so ERP/MES messages and URLs read the same.
State fields are protected FSM fields: they change only through transitions, which the
services in ``coordination.services`` call under a row lock and audit in ``StateChange``.
"""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class Site(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    """A storage place: warehouse bin, quality cage, line-side staging."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse"
        LINE_SIDE = "line_side"
        QUALITY = "quality"
        SHIPPING = "shipping"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="locations")
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Line(models.Model):
    """A production line (work centre). Its status follows MES signals as they arrive."""

    class Status(models.TextChoices):
        RUNNING = "running"
        IDLE = "idle"
        DOWN = "down"
        MAINTENANCE = "maintenance"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="lines")
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IDLE)
    status_reason = models.CharField(max_length=200, blank=True)
    status_since = models.DateTimeField(default=timezone.now)
    families = models.JSONField(
        default=list, blank=True, help_text="Changeover families this line can run."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Asset(models.Model):
    """A machine on a line (filler, capper, labeller); equipment signals may name one."""

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="assets")
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Item(models.Model):
    """A material or product; its changeover family drives sequence-dependent setups."""

    class Kind(models.TextChoices):
        FINISHED = "finished", "finished good"
        MATERIAL = "material", "raw/pack material"

    code = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.FINISHED)
    family = models.CharField(max_length=40, blank=True, db_index=True)
    uom = models.CharField("unit of measure", max_length=10, default="EA")
    rate_per_hour = models.PositiveIntegerField(
        default=0, help_text="Nominal line output per hour, for planning durations."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class ChangeoverMatrix(models.Model):
    """Minutes to change a line from one family to the next (sequence dependent)."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="changeovers")
    from_family = models.CharField(max_length=40)
    to_family = models.CharField(max_length=40)
    minutes = models.PositiveIntegerField()

    class Meta:
        ordering = ["line", "from_family", "to_family"]
        verbose_name = "changeover"
        verbose_name_plural = "changeover matrix"
        constraints = [
            models.UniqueConstraint(
                fields=["line", "from_family", "to_family"], name="changeover_unique_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line.code}: {self.from_family} → {self.to_family} {self.minutes} min"


class Customer(models.Model):
    class Tier(models.IntegerChoices):
        STRATEGIC = 1, "strategic"
        KEY = 2, "key"
        STANDARD = 3, "standard"

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.STANDARD)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Order(ConcurrentTransitionMixin, models.Model):
    """A customer order line: one item, a quantity, a due date (ERP owns it)."""

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PRODUCTION = "in_production", "in production"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    due_at = models.DateTimeField(db_index=True)
    priority = models.PositiveSmallIntegerField(
        default=3, help_text="1 = most urgent … 5 = least", validators=[MinValueValidator(1)]
    )
    status = FSMField(choices=Status.choices, default=Status.OPEN, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "number"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.OPEN, target=Status.IN_PRODUCTION)
    def start(self) -> None:
        """First job of the order started on a line."""

    @transition(field=status, source=[Status.OPEN, Status.IN_PRODUCTION], target=Status.COMPLETED)
    def complete(self) -> None:
        """All quantity produced (or the planner closes it short)."""

    @transition(field=status, source=[Status.OPEN, Status.IN_PRODUCTION], target=Status.CANCELLED)
    def cancel(self) -> None:
        """The customer cancelled; its open jobs are cancelled by the service."""


class Job(ConcurrentTransitionMixin, models.Model):
    """The production of (part of) an order on a line, in a planned sequence position."""

    class Status(models.TextChoices):
        PLANNED = "planned"
        RELEASED = "released"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="jobs")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="jobs")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="jobs")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    sequence = models.PositiveIntegerField(help_text="Position in the line's sequence.")
    planned_start = models.DateTimeField()
    planned_end = models.DateTimeField()
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    good_quantity = models.PositiveIntegerField(default=0)
    scrap_quantity = models.PositiveIntegerField(default=0)
    status = FSMField(choices=Status.choices, default=Status.PLANNED, protected=True)

    class Meta:
        ordering = ["line", "sequence"]
        indexes = [models.Index(fields=["line", "status", "sequence"])]
        permissions = [("approve_sequence", "Can approve a line sequence")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_end__gte=models.F("planned_start")),
                name="job_planned_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.PLANNED, target=Status.RELEASED)
    def release(self) -> None:
        """Released to the floor (MES may start it)."""

    @transition(field=status, source=[Status.PLANNED, Status.RELEASED], target=Status.RUNNING)
    def start(self) -> None:
        self.actual_start = self.actual_start or timezone.now()

    @transition(field=status, source=Status.RUNNING, target=Status.COMPLETED)
    def complete(self) -> None:
        self.actual_end = timezone.now()

    @transition(field=status, source=[Status.PLANNED, Status.RELEASED], target=Status.CANCELLED)
    def cancel(self) -> None:
        """Not started yet; a running job is completed short instead."""

    @transition(field=status, source=[Status.PLANNED, Status.RELEASED, Status.RUNNING], target=None)
    def resequence(self, *, line, sequence: int, planned_start, planned_end) -> None:
        """A new place in a line's sequence (an approved proposal); the state stays."""
        self.line = line
        self.sequence = sequence
        self.planned_start = planned_start
        self.planned_end = planned_end


class Lot(ConcurrentTransitionMixin, models.Model):
    """A traceable quantity of one item at one location; quality holds and dispositions it."""

    class Status(models.TextChoices):
        AVAILABLE = "available"
        ON_HOLD = "on_hold", "on hold"
        RELEASED = "released"
        REWORK = "rework"
        SCRAPPED = "scrapped"
        USED_AS_IS = "used_as_is", "used as is"

    code = models.CharField(max_length=40, unique=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="lots")
    job = models.ForeignKey(
        Job,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lots",
        help_text="The job that produced it (finished goods).",
    )
    produced_at = models.DateTimeField(default=timezone.now)
    status = FSMField(choices=Status.choices, default=Status.AVAILABLE, protected=True)
    hold_reason = models.CharField(max_length=200, blank=True)
    defect_code = models.CharField(max_length=40, blank=True)
    held_at = models.DateTimeField(null=True, blank=True, help_text="When the current hold began.")
    split_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="splits",
        help_text="The lot this one was split off (a partial disposition).",
    )
    rework_job = models.ForeignKey(
        Job,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reworked_lots",
        help_text="The rework job a disposition sent it to.",
    )

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["status", "item"])]
        permissions = [
            ("hold_lot", "Can put a lot on hold"),
            ("disposition_lot", "Can disposition a held lot"),
        ]

    def __str__(self) -> str:
        return self.code

    USABLE = [Status.AVAILABLE, Status.RELEASED, Status.USED_AS_IS]

    @transition(field=status, source=[*USABLE, Status.REWORK], target=Status.ON_HOLD)
    def hold(self, hold_reason: str = "", defect_code: str = "") -> None:
        self.hold_reason = hold_reason
        self.defect_code = defect_code
        self.held_at = timezone.now()

    @transition(field=status, source=Status.ON_HOLD, target=Status.RELEASED)
    def release(self) -> None:
        self.hold_reason = ""

    @transition(field=status, source=Status.ON_HOLD, target=Status.REWORK)
    def rework(self, job=None) -> None:
        """Sent to rework (``job``: the rework job); it comes back on hold for re-inspection."""
        if job is not None:
            self.rework_job = job

    @transition(field=status, source=Status.ON_HOLD, target=Status.SCRAPPED)
    def scrap(self) -> None:
        """Terminal: the material is destroyed."""

    @transition(field=status, source=Status.ON_HOLD, target=Status.USED_AS_IS)
    def use_as_is(self) -> None:
        """Released under a deviation; the rationale is on the audit row."""


class Stock(models.Model):
    """On-hand quantity of an item at a location (ERP's inventory position)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="stock")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="stock")
    quantity = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["item", "location"]
        verbose_name_plural = "stock"
        constraints = [
            models.UniqueConstraint(fields=["item", "location"], name="stock_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} @ {self.location.code}: {self.quantity}"


class Shift(models.Model):
    """A shift pattern (A/B/C); labour signals name the shift they are about."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shifts")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=60)
    starts = models.TimeField()
    ends = models.TimeField(help_text="May be earlier than the start: the shift crosses midnight.")
    crew_size = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["site", "starts"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="shift_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name} {self.starts:%H:%M}-{self.ends:%H:%M}"


class StateChange(models.Model):
    """Append-only audit of every state transition: who, when, from, to, why, through what.

    One table for all state machines so the timeline of any object is one indexed query.
    """

    class Via(models.TextChoices):
        WEB = "web"
        API = "api"
        EVENT = "event"
        ADMIN = "admin"
        SYSTEM = "system"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30)
    to_state = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "at"])]

    def __str__(self) -> str:
        who = self.actor or self.via
        return f"{self.transition}: {self.from_state} → {self.to_state} by {who}"


class Heartbeat(models.Model):
    """Last sign of life of a background process (the worker), shown to operators."""

    name = models.CharField(max_length=40, unique=True)
    token = models.CharField(max_length=64, blank=True)
    seen_at = models.DateTimeField()
    # How long its last run took, for a periodic sweep (the escalation sweep); empty else.
    duration_seconds = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"


class MaintenanceWindow(models.Model):
    """Planned or unplanned maintenance on a line: the scheduler's unavailability windows."""

    class Kind(models.TextChoices):
        PLANNED = "planned"
        UNPLANNED = "unplanned"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        STARTED = "started"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    work_order = models.CharField(max_length=40, unique=True)
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="maintenance")
    asset = models.ForeignKey(Asset, on_delete=models.SET_NULL, null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    starts_at = models.DateTimeField(null=True, blank=True)
    expected_end = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.work_order} {self.line.code} {self.kind} {self.status}"


class Staffing(models.Model):
    """Crew available versus required on a line for a shift (and skill), from labour signals."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="staffing")
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="staffing")
    skill = models.CharField(max_length=40, blank=True)
    available = models.PositiveIntegerField()
    required = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line", "shift", "skill"]
        verbose_name_plural = "staffing"
        constraints = [
            models.UniqueConstraint(fields=["line", "shift", "skill"], name="staffing_unique")
        ]

    def __str__(self) -> str:
        return f"{self.line.code}/{self.shift.code} {self.skill}: {self.available}/{self.required}"


class Watermark(models.Model):
    """The plant time of the newest signal applied to one thing (a line's status, a stock
    position, a lot's quality state). An older signal arriving late is kept but marked stale
    instead of overwriting newer state."""

    key = models.CharField(max_length=200, unique=True)
    time = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} @ {self.time:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """Something another system must learn, written in the transaction of the change itself.

    Append-only: the message is the fact ("lot LOT-1 held"); whether and when each target
    (ERP, MES, a webhook) got it is the delivery's state, kept by ``integrations``. ``key``
    is the message id every target sees (the ``webhook-id``), the same on every retry.
    Messages of one ``aggregate`` ("lot:LOT-1") reach each target in ``id`` order.
    """

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(max_length=64, help_text="message type, e.g. lot.held")
    aggregate = models.CharField(
        max_length=160,
        help_text='what it is about, e.g. "lot:LOT-1": delivered in order per target',
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["aggregate", "id"], name="outbox_aggregate_order")]

    def __str__(self) -> str:
        return f"{self.topic} {self.aggregate} ({self.key})"


# Resequencing proposals live in their own package; their models belong to this app.
from .proposals.models import PlanningPolicy, Proposal, SequenceDecision  # noqa: E402, F401
