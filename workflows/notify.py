"""Notifications: in-app rows (collapsed per task), e-mail after commit, outbox messages.

A ``Notifier`` collects what one transaction wants to say and writes it in a few bulk
queries (the SLA sweep notifies for a whole batch at once). No notification storms: while a
user has an unread notification on a task, a repeat bumps its count instead of adding a row,
and a repeat e-mail on the same task is only sent after the user's collapse window.
E-mails leave through a Celery task enqueued on commit: never from inside the transaction,
never for a change that rolled back. Webhooks are outbox messages (``task.created``,
``task.escalated``, ``decision.recorded``: ``coordination.outbox.TOPICS``) written in the
transaction of the change, so one exists if and only if the change committed; the outbox
relay delivers them, signed (Standard Webhooks), to every target that subscribes. A type no
target takes is not written at all.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from coordination.outbox import outbox_add_many, outbox_subscribed
from kernel.errors import InvalidInputError

from .models import Notification, NotificationPreference, Task

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
        self.messages: list[tuple[str, dict]] = []

    def add(self, user_ids, task: Task | None, kind: str, title: str, body: str = "") -> None:
        for user_id in set(user_ids):
            key = (user_id, task.pk if task else None)
            entry = self.wanted.get(key)
            if entry:  # several things about one task in one go: one row, counted
                entry.update(kind=kind, title=title[:200], body=body)
                entry["count"] += 1
            else:
                self.wanted[key] = {"kind": kind, "title": title[:200], "body": body, "count": 1}

    def message(self, topic: str, payload: dict) -> None:
        """An outbox message about a task (``task_payload``), written by ``flush``."""
        self.messages.append((topic, payload))

    def flush(self) -> None:
        """Write the rows and the outbox messages; enqueue e-mails on commit. Call inside the
        atomic of the change (``outbox_add`` refuses to run outside one)."""
        if self.wanted:
            self._flush_notifications()
        if self.messages:
            self._flush_messages()
        self.wanted, self.messages = {}, []

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

    def _flush_messages(self) -> None:
        # A plant without webhook receivers writes none (not a row per task it ever created).
        taken = outbox_subscribed()
        wanted = [(topic, payload) for topic, payload in self.messages if topic in taken]
        if not wanted:
            return
        # Names, not ids, for the receiver (two queries for the whole batch of the sweep).
        group_ids = {p["owner_group"] for _, p in wanted if p["owner_group"]}
        user_ids = {p["assignee"] for _, p in wanted if p["assignee"]}
        groups = dict(Group.objects.filter(pk__in=group_ids).values_list("pk", "name"))
        users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", User.USERNAME_FIELD))
        batch = []
        for topic, payload in wanted:
            data = {
                **payload,
                "owner_group": groups.get(payload["owner_group"], ""),
                "assignee": users.get(payload["assignee"], ""),
            }
            batch.append((topic, f"case:{data['case']}", data))
        outbox_add_many(batch)  # one INSERT and one fan-out for the sweep's whole batch


# The Celery task (``workflows.tasks``) wraps the function below; it is sent by name, so this
# module never imports the module that imports it.
EMAIL_TASK = "workflows.notifications_email"


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


def task_payload(task: Task, **extra) -> dict:
    """The task as it is now, for ``Notifier.message``: every field a string (the outbox
    contract) except ``owner_group`` and ``assignee``, ids that ``flush`` turns into names."""
    return {
        "task": str(task.pk),
        "case": str(task.case_id),
        "title": task.title,
        "status": task.status,
        "due_at": task.due_at.isoformat(),
        "owner_group": task.owner_group_id,
        "assignee": task.assignee_id,
        **{name: "" if value is None else str(value) for name, value in extra.items()},
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
