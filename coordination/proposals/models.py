"""Proposal, its decision and the planning policy (tier weights, frozen horizon, estimates).

Declared in the ``coordination`` app (imported at the end of ``coordination.models``).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class PlanningPolicy(models.Model):
    """How proposals are built; the row without a line is the plant default, a row per line
    overrides the frozen horizon and the estimates there. Edited in Django admin."""

    line = models.OneToOneField(
        "coordination.Line",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="planning_policy",
        help_text="Empty: the plant default.",
    )
    frozen_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Jobs planned to start within this many minutes keep their place "
        "(the running job always does).",
    )
    repair_minutes = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="Assumed outage when a downtime gives no expected end.",
    )
    material_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(1), MaxValueValidator(14 * 24 * 60)],
        help_text="Assumed delay until short material arrives when the signal gives none.",
    )
    strategic_weight = models.PositiveSmallIntegerField(
        default=3, help_text="Weight of a tier-1 (strategic) customer's order."
    )
    key_weight = models.PositiveSmallIntegerField(default=2, help_text="Tier 2 (key).")
    standard_weight = models.PositiveSmallIntegerField(default=1, help_text="Tier 3 (standard).")
    changeover_weight = models.PositiveSmallIntegerField(
        default=1,
        help_text="Least-lateness alternative: one changeover minute costs as much as this "
        "many weighted minutes of lateness (a tie-breaker at 1).",
    )

    class Meta:
        verbose_name_plural = "planning policies"

    def __str__(self) -> str:
        return f"planning policy {self.line.code}" if self.line_id else "planning policy (plant)"

    def tier_weight(self, tier: int) -> int:
        return {1: self.strategic_weight, 2: self.key_weight}.get(tier, self.standard_weight)


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class Proposal(ConcurrentTransitionMixin, models.Model):
    """A recommended resequencing of one or more lines, with its alternatives.

    ``ready_at`` is empty while the worker builds it (a planner's request answers 202 with
    the id at once). ``input_version`` hashes what the answer depends on; approving once the
    plant changed in that way is refused (``proposal_stale``).
    """

    Status = ProposalStatus

    class Trigger(models.TextChoices):
        DOWNTIME = "downtime", "line down"
        MAINTENANCE = "maintenance", "maintenance window"
        SHORTAGE = "shortage", "material shortage"
        LABOUR = "labour", "labour shortfall"
        ORDER_CHANGE = "order_change", "order change"
        REQUEST = "request", "planner's request"

    status = FSMField(choices=Status.choices, default=Status.PROPOSED, protected=True)
    line = models.ForeignKey(
        "coordination.Line", on_delete=models.PROTECT, related_name="proposals"
    )
    lines = models.JSONField(default=list, help_text="Codes of every line it resequences.")
    case = models.ForeignKey(
        "exceptions.ExceptionCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="proposals",
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    trigger_detail = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pins = models.JSONField(default=list, blank=True, help_text="[{job, line, position}]")
    created_at = models.DateTimeField(default=timezone.now)
    first_signal_at = models.DateTimeField(help_text="First signal of the constraint.")
    ready_at = models.DateTimeField(null=True, blank=True)
    ready_seconds = models.FloatField(null=True, blank=True)
    input_version = models.CharField(max_length=64, blank=True)
    origin = models.DateTimeField(null=True, blank=True, help_text="Time zero of the plan.")
    snapshot = models.JSONField(default=dict, blank=True)
    baseline = models.JSONField(default=dict, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per build step.")
    error = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "status"], name="proposal_line_status")]

    def __str__(self) -> str:
        return f"proposal #{self.pk} for {', '.join(self.lines) or self.line_id}"

    @property
    def action_label(self) -> str:
        return f"proposal #{self.pk}"

    @property
    def is_ready(self) -> bool:
        return self.ready_at is not None and not self.error

    def alternative(self, key: str) -> dict | None:
        return next((a for a in self.alternatives if a["key"] == key), None)

    @transition(field=status, source=Status.PROPOSED, target=Status.APPROVED)
    def approve(self) -> None:
        """The planner chose an alternative. Called only by proposal_approve()."""
        self.closed_at = timezone.now()

    @transition(field=status, source=Status.PROPOSED, target=Status.REJECTED)
    def reject(self) -> None:
        """Not used (a planner said no, or it could not be built)."""
        self.closed_at = timezone.now()

    @transition(field=status, source=Status.PROPOSED, target=Status.SUPERSEDED)
    def supersede(self, by=None) -> None:
        """A newer proposal for the same line replaces this open one."""
        self.closed_at = timezone.now()
        self.superseded_by = by


class SequenceDecision(models.Model):
    """The planner's decision on a proposal: options offered, the one chosen, why, and what it
    predicts; ``actual`` is filled once the approved jobs complete, next to the prediction."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="decision")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(default=timezone.now)
    options = models.JSONField(help_text="Every alternative offered, with its KPIs.")
    chosen = models.CharField(max_length=40)
    chosen_label = models.CharField(max_length=120)
    rationale = models.TextField()
    predicted = models.JSONField(help_text="KPIs of the chosen alternative.")
    planned = models.JSONField(
        default=list, help_text="[{job, line, planned_end, due_at, weight}] as approved."
    )
    task_decision = models.ForeignKey(
        "workflows.Decision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actual = models.JSONField(null=True, blank=True)
    actual_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(rationale=""), name="sequence_decision_rationale")
        ]

    def __str__(self) -> str:
        return f"{self.chosen_label} on proposal #{self.proposal_id}"
