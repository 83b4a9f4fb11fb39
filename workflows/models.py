"""Workflows: routing rules → templates of steps → a run per exception → tasks with deadlines.

Admin-edited configuration: ``RoutingRule`` (ordered, first match wins), ``WorkflowTemplate``
with ``StepTemplate`` rows, ``EscalationPolicy`` with ``EscalationLevel`` rows (webhook
receivers are outbox targets, ``integrations.OutboxTarget``). Runtime: ``WorkflowRun`` (the
template and its policies *frozen* as JSON when it starts, so editing a template or a policy
never changes a running workflow), ``Task`` (FSM, audited through
``coordination.services.transition_apply``), ``TaskEvent`` (the task's timeline, escalations
included), ``Decision`` (first-class record), ``Notification``.

Deadlines live in the database: ``Task.sweep_at`` is the next moment the SLA sweep must look
at a task (its next escalation level or stalled reminder); NULL when nothing is pending
(done, cancelled, paused). A partial index on it keeps a sweep with nothing due one index probe.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from coordination.models import Customer, Line, Site
from exceptions.models import ExceptionCase, Kind, Severity

from .values import value_types_error

# --- configuration (Django admin) -----------------------------------------------------------


class EscalationPolicy(models.Model):
    """Levels that fire after a task's due time; attached to template steps."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "escalation policies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def frozen(self) -> list[dict]:
        """The levels as plain data, frozen onto a run when it starts."""
        return [level.frozen() for level in self.levels.all()]


class EscalationLevel(models.Model):
    class Action(models.TextChoices):
        NOTIFY_GROUP = "notify_group", "notify the task's group again"
        NOTIFY = "notify", "notify a group or person"
        ASSIGN = "assign", "hand the task to a group or person"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    after_minutes = models.PositiveIntegerField(
        help_text="Minutes after the task's due time (0 = at due)."
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    target_group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = models.CharField(max_length=120, blank=True, help_text="e.g. plant manager")

    class Meta:
        ordering = ["policy", "after_minutes", "id"]

    def __str__(self) -> str:
        return f"+{self.after_minutes} min: {self.describe()}"

    def clean(self) -> None:
        if self.action != self.Action.NOTIFY_GROUP and not (self.target_group or self.target_user):
            raise ValidationError({"target_group": "choose a group or a person for this action"})

    def describe(self) -> str:
        if self.action == self.Action.NOTIFY_GROUP:
            return "notify the group again"
        target = self.label or (self.target_user.get_username() if self.target_user_id else None)
        target = target or (self.target_group.name if self.target_group_id else "?")
        verb = "assign to" if self.action == self.Action.ASSIGN else "notify"
        return f"{verb} {target}"

    def frozen(self) -> dict:
        return {
            "after_minutes": self.after_minutes,
            "action": self.action,
            "group_id": self.target_group_id,
            "user_id": self.target_user_id,
            "label": self.describe(),
        }


class WorkflowTemplate(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def frozen(self) -> dict:
        """Template, steps and their escalation policies as data (``WorkflowRun.plan``)."""
        steps = list(
            self.steps.select_related("group", "escalation").prefetch_related(
                "after", "escalation__levels__target_group", "escalation__levels__target_user"
            )
        )
        return {
            "template": self.name,
            "steps": [step.frozen() for step in steps],
        }


def default_options() -> list[dict]:
    return [
        {"value": "accept", "label": "Accept"},
        {"value": "reject", "label": "Reject"},
        {"value": "counter", "label": "Counter", "needs_value": True, "value_label": "Counter"},
    ]


class StepTemplate(models.Model):
    """One task of a workflow: for a function (group) or the exception's owner, with a due
    offset; it starts with the run unless it runs after other steps (then when they're done)."""

    class Assignee(models.TextChoices):
        GROUP = "group", "a function (group)"
        OWNER = "owner", "the exception's owner"

    template = models.ForeignKey(WorkflowTemplate, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=160)
    instructions = models.TextField(blank=True)
    assignee = models.CharField(max_length=10, choices=Assignee.choices, default=Assignee.GROUP)
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text="Due this long after it starts."
    )
    after = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="before",
        help_text="Starts when all these are done; none: starts with the run (in parallel).",
    )
    options = models.JSONField(
        default=default_options,
        help_text='Decision options: [{"value": "accept", "label": "Accept"}, {"value": '
        '"counter", "label": "Counter", "needs_value": true, "value_label": "New date", '
        '"value_type": "datetime"}]. value_type: text (default), datetime, quantity, line, '
        "item: the value is checked as one.",
    )
    escalation = models.ForeignKey(
        EscalationPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stall_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Remind the assignee after this long without progress once claimed.",
    )

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return f"{self.template.name} #{self.position}: {self.title}"

    def clean(self) -> None:
        errors = {}
        if self.assignee == self.Assignee.GROUP and not self.group_id:
            errors["group"] = "a group step needs a group"
        if error := options_error(self.options):
            errors["options"] = error
        if errors:
            raise ValidationError(errors)

    def frozen(self) -> dict:
        return {
            "id": self.pk,
            "position": self.position,
            "title": self.title,
            "instructions": self.instructions,
            "assignee": self.assignee,
            "group_id": self.group_id,
            "due_minutes": self.due_minutes,
            "after": sorted(s.pk for s in self.after.all()),
            "options": self.options,
            "levels": self.escalation.frozen() if self.escalation_id else [],
            "stall_minutes": self.stall_minutes,
        }


def options_error(options) -> str:
    if not isinstance(options, list) or not options:
        return "give at least one option as a list of {value, label}"
    seen = set()
    for k, option in enumerate(options, 1):
        if not isinstance(option, dict) or not option.get("value") or not option.get("label"):
            return f"option {k}: needs a value and a label"
        if option["value"] in seen:
            return f"option {k}: value {option['value']!r} repeats"
        seen.add(option["value"])
    return value_types_error(options)


class RoutingRule(models.Model):
    """Which workflow an exception gets. Ordered by position; the first match wins; a rule
    with no conditions is a catch-all (keep one last)."""

    position = models.PositiveIntegerField(default=100, db_index=True)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True, help_text="Any.")
    min_severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    max_severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True)
    line = models.ForeignKey(Line, on_delete=models.CASCADE, null=True, blank=True)
    item_family = models.CharField(
        max_length=40, blank=True, help_text="Matches when an affected item has this family."
    )
    customer_tier = models.PositiveSmallIntegerField(
        choices=Customer.Tier.choices,
        null=True,
        blank=True,
        help_text="Matches when an affected customer has this tier or a more important one.",
    )
    key_pattern = models.CharField(
        max_length=120,
        blank=True,
        help_text="Matches when the exception's correlation key fits this pattern (shell-style: "
        "* any text, ? one character), e.g. *:lot:* for lots in a sync divergence. Empty: any.",
    )
    template = models.ForeignKey(WorkflowTemplate, on_delete=models.PROTECT)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def clean(self) -> None:
        if self.min_severity and self.max_severity and self.min_severity > self.max_severity:
            raise ValidationError({"max_severity": "must be at least the minimum severity"})

    @property
    def is_catch_all(self) -> bool:
        return not (
            self.kind
            or self.key_pattern
            or self.min_severity
            or self.max_severity
            or self.site_id
            or self.line_id
            or self.item_family
            or self.customer_tier
        )


# --- runtime -------------------------------------------------------------------------------


class WorkflowRun(ConcurrentTransitionMixin, models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="workflow_runs")
    template = models.ForeignKey(WorkflowTemplate, on_delete=models.PROTECT)
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True)
    status = FSMField(choices=Status.choices, default=Status.RUNNING, protected=True)
    plan = models.JSONField(help_text="Template, steps and escalation levels frozen at start.")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One running workflow per exception; re-routing cancels the old one first.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="running"), name="workflow_one_running"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.template.name} on #{self.case_id}"

    @transition(field=status, source=Status.RUNNING, target=Status.COMPLETED)
    def complete(self) -> None:
        """All its tasks are done. Called by the task services."""
        self.ended_at = timezone.now()

    @transition(field=status, source=Status.RUNNING, target=Status.CANCELLED)
    def cancel(self, why: str = "") -> None:
        """Re-routed or the exception closed. Called by run_cancel()."""
        self.ended_at = timezone.now()
        self.end_reason = why[:200]


class TaskStatus(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE_TASK_STATES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class Task(ConcurrentTransitionMixin, models.Model):
    Status = TaskStatus

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="tasks")
    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="tasks")
    step_id = models.PositiveIntegerField(help_text="The step id in the run's frozen plan.")
    title = models.CharField(max_length=160)
    instructions = models.TextField(blank=True)
    status = FSMField(choices=Status.choices, default=Status.OPEN, protected=True)
    owner_group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflow_tasks",
    )
    priority = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(4)], help_text="4 = top"
    )
    context = models.JSONField(default=dict, blank=True, help_text="What the function needs.")
    options = models.JSONField(default=list)
    levels = models.JSONField(default=list, blank=True, help_text="Frozen escalation levels.")
    stall_minutes = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(default=timezone.now, help_text="Last sign of progress.")
    next_level = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    sweep_at = models.DateTimeField(
        null=True, blank=True, help_text="Next escalation or reminder; NULL: nothing pending."
    )

    class Meta:
        ordering = ["due_at", "id"]
        # Tasks are read by their owning group and assignee; this one lets a role read every
        # task and decision (supervisors coordinate the whole recovery).
        permissions = [("view_every_task", "Can read every task and decision")]
        constraints = [
            models.UniqueConstraint(fields=["run", "step_id"], name="task_once_per_step")
        ]
        indexes = [
            # The SLA sweep: "active tasks whose next deadline has passed", oldest first.
            # Partial, so done/cancelled/paused history never makes an idle sweep slower.
            models.Index(
                fields=["sweep_at"],
                condition=Q(status__in=ACTIVE_TASK_STATES, sweep_at__isnull=False),
                name="task_sweep_due",
            ),
            # The inbox: a group's or a person's active tasks by due time.
            models.Index(
                fields=["owner_group", "due_at"],
                condition=Q(status__in=ACTIVE_TASK_STATES),
                name="task_inbox_group",
            ),
            models.Index(
                fields=["assignee", "due_at"],
                condition=Q(status__in=ACTIVE_TASK_STATES),
                name="task_inbox_user",
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk}: {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK_STATES

    @property
    def action_label(self) -> str:
        """How messages about acting on it name it."""
        return f"task “{self.title}”"

    @property
    def owner_label(self) -> str:
        if self.assignee_id:
            return self.assignee.get_username()
        return f"{self.owner_group.name} (group)" if self.owner_group_id else "—"

    @transition(field=status, source=Status.OPEN, target=Status.CLAIMED)
    def claim(self, by=None) -> None:
        """Someone took it. Called by task_claim()."""
        now = timezone.now()
        self.assignee = by
        self.claimed_at = now
        self.progress_at = now
        self.reminders_sent = 0

    @transition(field=status, source=Status.CLAIMED, target=Status.OPEN)
    def release(self) -> None:
        """Back to the group (the assignee gave it back, or escalation re-assigned it)."""
        self.assignee = None
        self.claimed_at = None

    @transition(field=status, source=Status.CLAIMED, target=Status.DONE)
    def complete(self) -> None:
        """Decided. Called only by task_complete(), which writes the Decision."""
        self.done_at = timezone.now()
        self.sweep_at = None

    @transition(field=status, source=[Status.OPEN, Status.CLAIMED], target=Status.CANCELLED)
    def cancel(self) -> None:
        """No longer needed (re-routed, exception closed). Called by run_cancel()."""
        self.done_at = timezone.now()
        self.sweep_at = None


class TaskEvent(models.Model):
    """Append-only timeline of a task: created, claimed, notes, pauses, escalations, reminders.

    ``(task, kind, seq)`` is unique for escalations and reminders: the database itself refuses
    a second firing of one level, whatever happens to the sweeping workers.
    """

    class Kind(models.TextChoices):
        CREATED = "created"
        CLAIMED = "claimed"
        RELEASED = "released"
        NOTE = "note", "progress note"
        PAUSED = "paused"
        RESUMED = "resumed"
        ESCALATED = "escalated"
        REMINDED = "reminded", "stalled reminder"
        DONE = "done"
        CANCELLED = "cancelled"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    seq = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Level or reminder.")
    at = models.DateTimeField(default=timezone.now)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="When it was due.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    summary = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "kind", "seq"],
                condition=Q(kind__in=["escalated", "reminded"]),
                name="task_event_fires_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.kind}: {self.summary}"


class Decision(models.Model):
    """What was decided on a task, by whom, why, from which options, on which data, and what
    it is predicted to do — so metrics can later compare the prediction with what happened."""

    task = models.OneToOneField(Task, on_delete=models.PROTECT, related_name="decision")
    case = models.ForeignKey(ExceptionCase, on_delete=models.PROTECT, related_name="decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(default=timezone.now)
    options = models.JSONField(help_text="The options offered.")
    chosen = models.CharField(max_length=40)
    chosen_label = models.CharField(max_length=120)
    value = models.CharField(max_length=200, blank=True, help_text="e.g. the counter value.")
    rationale = models.TextField()
    context_shown = models.JSONField(help_text="The data on screen when they decided.")
    predicted_completion_at = models.DateTimeField(null=True, blank=True)
    predicted_effect = models.TextField(blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(rationale=""), name="decision_has_rationale")
        ]

    def __str__(self) -> str:
        return f"{self.chosen_label} on task {self.task_id}"


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflow_preference"
    )
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    collapse_minutes = models.PositiveIntegerField(
        default=10,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Repeated notifications on one task within this time are collapsed.",
    )

    def __str__(self) -> str:
        return f"preferences of {self.user}"


class Notification(models.Model):
    """In-app notification; repeats on one task while unread are collapsed into one row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflow_notifications"
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, null=True, blank=True)
    kind = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_at", "-id"]
        indexes = [
            models.Index(fields=["user", "task"], condition=Q(read_at=None), name="notif_unread")
        ]

    def __str__(self) -> str:
        return self.title
