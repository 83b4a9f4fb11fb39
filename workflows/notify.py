"""Notifications: in-app rows (collapsed per task), e-mail and signed webhooks after commit.

A ``Notifier`` collects what one transaction wants to say and writes it in a few bulk
queries (the SLA sweep notifies for a whole batch at once). No notification storms: while a
user has an unread notification on a task, a repeat bumps its count instead of adding a row,
and a repeat e-mail on the same task is only sent after the user's collapse window.
E-mails and webhooks leave through Celery tasks enqueued on commit: never from inside the
transaction, never for a change that rolled back.
"""

import hashlib
import hmac
import json
import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from kernel.errors import InvalidInputError

from .models import Notification, NotificationPreference, Task, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)
User = get_user_model()


def group_members(group_ids) -> dict[int, list[int]]:
    """Active user ids per group id (one query)."""
    members: dict[int, list[int]] = {}
    through = User.groups.through
    rows = through.objects.filter(group_id__in=set(group_ids), user__is_active=True).values_list(
        "group_id", "user_id"
    )
    for group_id, user_id in rows:
        members.setdefault(group_id, []).append(user_id)
    return members


class Notifier:
    def __init__(self, now=None):
        self.now = now or timezone.now()
        self.wanted: dict[tuple[int, int | None], dict] = {}
        self.hooks: list[tuple[str, dict]] = []

    def add(self, user_ids, task: Task | None, kind: str, title: str, body: str = "") -> None:
        for user_id in set(user_ids):
            key = (user_id, task.pk if task else None)
            entry = self.wanted.get(key)
            if entry:  # several things about one task in one go: one row, counted
                entry.update(kind=kind, title=title[:200], body=body)
                entry["count"] += 1
            else:
                self.wanted[key] = {"kind": kind, "title": title[:200], "body": body, "count": 1}

    def webhook(self, event: str, payload: dict) -> None:
        self.hooks.append((event, payload))

    def flush(self) -> None:
        """Write the rows; enqueue e-mails and webhooks on commit. Call inside the atomic."""
        if self.wanted:
            self._flush_notifications()
        if self.hooks:
            self._flush_webhooks()
        self.wanted, self.hooks = {}, []

    def _flush_notifications(self) -> None:
        user_ids = {u for u, _ in self.wanted}
        task_ids = {t for _, t in self.wanted if t is not None}
        prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=user_ids)}
        default = NotificationPreference()
        existing = {
            (n.user_id, n.task_id): n
            for n in Notification.objects.filter(
                user_id__in=user_ids, task_id__in=task_ids, read_at=None
            ).order_by("last_at")
        }
        emails = set(User.objects.filter(pk__in=user_ids).exclude(email="").values_list("pk"))
        emails = {pk for (pk,) in emails}
        new, changed, to_email = [], [], []
        for (user_id, task_id), entry in self.wanted.items():
            pref = prefs.get(user_id, default)
            window = timedelta(minutes=pref.collapse_minutes)
            row = existing.get((user_id, task_id)) if task_id else None
            if row is not None:
                row.count += entry["count"]
                row.kind, row.title, row.body, row.last_at = (
                    entry["kind"],
                    entry["title"],
                    entry["body"],
                    self.now,
                )
                if not pref.in_app:
                    row.read_at = self.now
                mail = (
                    pref.email
                    and user_id in emails
                    and (row.emailed_at is None or self.now - row.emailed_at >= window)
                )
                if mail:
                    row.emailed_at = self.now
                    to_email.append(row)
                changed.append(row)
                continue
            row = Notification(
                user_id=user_id,
                task_id=task_id,
                kind=entry["kind"],
                title=entry["title"],
                body=entry["body"],
                count=entry["count"],
                created_at=self.now,
                last_at=self.now,
                read_at=None if pref.in_app else self.now,
            )
            if pref.email and user_id in emails:
                row.emailed_at = self.now
                to_email.append(row)
            new.append(row)
        Notification.objects.bulk_create(new)
        if changed:
            Notification.objects.bulk_update(
                changed, ["count", "kind", "title", "body", "last_at", "read_at", "emailed_at"]
            )
        if to_email:
            _enqueue_on_commit(EMAIL_TASK, [n.pk for n in to_email])

    def _flush_webhooks(self) -> None:
        endpoints = list(WebhookEndpoint.objects.filter(active=True))
        if not endpoints:
            return
        rows = [
            WebhookDelivery(endpoint=e, event=event, payload=payload, created_at=self.now)
            for event, payload in self.hooks
            for e in endpoints
            if not e.events or event in e.events
        ]
        WebhookDelivery.objects.bulk_create(rows)
        for row in rows:
            _enqueue_on_commit(WEBHOOK_TASK, row.pk)


# The Celery tasks (``workflows.tasks``) wrap the functions below; they are sent by name, so
# this module never imports the module that imports it. ``CELERY_TASK_ROUTES`` applies.
EMAIL_TASK = "workflows.notifications_email"
WEBHOOK_TASK = "workflows.webhook_deliver"


def _enqueue_on_commit(task_name: str, *args) -> None:
    """Send the task once the transaction commits (never for a change that rolled back)."""
    transaction.on_commit(lambda: current_app.send_task(task_name, args=args))


def notifications_email(ids: list[int]) -> int:
    """Send the e-mails of these notifications (called by the Celery task)."""
    sent = 0
    for n in Notification.objects.filter(pk__in=ids).select_related("user", "task"):
        if not n.user.email:
            continue
        body = n.body or n.title
        if n.count > 1:
            body += f"\n\n({n.count} updates on this task)"
        if n.task_id:
            body += f"\n\nOpen your inbox: /inbox/#task-{n.task_id}"
        send_mail(n.title, body, settings.DEFAULT_FROM_EMAIL, [n.user.email])
        sent += 1
    return sent


class TransientError(Exception):
    """A delivery failure worth retrying (network, 5xx, 429)."""


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_id(delivery: WebhookDelivery) -> str:
    """The same for every attempt of one delivery: the receiver de-duplicates by it."""
    return f"whd_{delivery.pk}"


def webhook_deliver(delivery_id: int, *, timeout: float = 5) -> str:
    """POST one delivery, signed; 2xx delivered, 4xx failed for good, else TransientError.

    Every attempt carries the same ``webhook-id`` (the Standard Webhooks header name) and the
    same body, so a receiver that saw a copy time out on our side applies it only once.
    """
    import requests

    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).select_related("endpoint")
    delivery = claimed.first()
    if delivery is None:
        return "gone"  # delivered or failed by an earlier copy of this task
    body = json.dumps(
        {"id": delivery.pk, "event": delivery.event, "data": delivery.payload}, sort_keys=True
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Plantcoord-Event": delivery.event,
        "X-Plantcoord-Delivery": str(delivery.pk),
        "webhook-id": webhook_id(delivery),
        "X-Plantcoord-Signature": webhook_signature(delivery.endpoint.secret, body),
    }
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    try:
        response = requests.post(delivery.endpoint.url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=str(exc)[:2000])
        raise TransientError(str(exc)) from exc
    if 200 <= response.status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(), last_error=""
        )
        return "delivered"
    error = f"HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code >= 500 or response.status_code == 429:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=error)
        raise TransientError(error)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, last_error=error
    )
    return "failed"


def task_payload(task: Task, **extra) -> dict:
    return {
        "task": task.pk,
        "case": task.case_id,
        "title": task.title,
        "status": task.status,
        "due_at": task.due_at.isoformat(),
        "owner_group": task.owner_group_id,
        "assignee": task.assignee_id,
        **extra,
    }


def notifications_read(*, user, ids=None) -> int:
    """Mark the user's notifications read (all, or these ids)."""
    qs = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def preference_update(*, user, in_app: bool, email: bool, collapse_minutes) -> None:
    try:
        minutes = int(collapse_minutes)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "collapse window must be a whole number of minutes", field="collapse_minutes"
        ) from None
    if not 0 <= minutes <= 24 * 60:
        raise InvalidInputError(
            "collapse window must be between 0 and 1440 minutes", field="collapse_minutes"
        )
    NotificationPreference.objects.update_or_create(
        user=user, defaults={"in_app": in_app, "email": email, "collapse_minutes": minutes}
    )
