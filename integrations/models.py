"""The edges: who may send us signals (integrations and their keys) and what they sent (inbox)."""

import hashlib

from django.db import models
from django.utils import timezone

from coordination.events import PlantEvent
from coordination.models import Site


class Integration(models.Model):
    """A system that sends events: an ERP, an MES, a line's PLC gateway, an import job."""

    name = models.CharField(max_length=80, unique=True)
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Default site for events that do not name one.",
    )
    allowed_types = models.JSONField(
        default=list, blank=True, help_text="Event types it may send; empty means all types."
    )
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def allows(self, event_type: str) -> bool:
        return not self.allowed_types or event_type in self.allowed_types


def key_digest(raw_key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough (no slow KDF needed):
    nobody can brute-force the preimage, and lookups stay one indexed query."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class IntegrationKey(models.Model):
    """An API key of an integration, stored hashed; the clear key is shown once."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.integration.name} {self.prefix}… ({state})"


class InboxEvent(models.Model):
    """Every accepted CloudEvent, stored before anything else happens.

    ``(source, event_id)`` is unique: the same pair again is a duplicate, acknowledged and not
    stored twice, even when two copies race (the database decides).
    """

    class Status(models.TextChoices):
        RECEIVED = "received"  # stored, waiting for (or being) processed
        APPLIED = "applied"
        STALE = "stale"  # older than state already applied: kept, changed nothing
        FAILED = "failed"  # parked with its reason until someone reprocesses it

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    source = models.CharField(max_length=200)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=40)
    time = models.DateTimeField(help_text="When it happened at the plant.")
    received_at = models.DateTimeField(default=timezone.now)
    site = models.CharField(max_length=20)
    data = models.JSONField()
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Other CloudEvents attributes (subject, extensions)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_field = models.CharField(max_length=80, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="inbox_unique_event")
        ]
        indexes = [
            # The stuck-event sweep and the failed list read only these few rows.
            models.Index(
                fields=["received_at"],
                name="inbox_received_idx",
                condition=models.Q(status="received"),
            ),
            models.Index(fields=["status", "-received_at"], name="inbox_status_idx"),
            models.Index(fields=["integration", "-received_at"], name="inbox_integration_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.source}#{self.event_id} ({self.status})"

    def as_plant_event(self, *, stale: bool = False) -> PlantEvent:
        return PlantEvent(
            inbox_id=self.pk,
            type=self.type,
            source=self.source,
            event_id=self.event_id,
            time=self.time,
            received_at=self.received_at,
            site=self.site,
            data=self.data,
            stale=stale,
        )
