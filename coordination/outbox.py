"""The outbox: what must leave the system, written in the same transaction as the decision.

Any app writes with ``outbox_add`` inside its change's transaction: the message exists if and
only if the change committed. Delivery (which targets, in what order, retries, signing) lives
in ``integrations``, which registers on ``outbox_written`` to nudge its relay after commit; a
beat sweep delivers whatever a lost nudge left behind. The domain never imports an adapter.

``TOPICS`` is the outbound contract: every message type and the fields of its ``data``. The
README and the OpenAPI components are generated from it, so an integrator can map them.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from kernel.errors import InvalidInputError
from kernel.observers import Registry

from .models import OutboxMessage

# topic -> (what it means, {field: description}); every payload carries exactly these fields.
TOPICS: dict[str, tuple[str, dict[str, str]]] = {
    "lot.held": (
        "Quality put a lot (or part of one) on hold: stop using and shipping it.",
        {
            "lot": "lot code",
            "item": "item code",
            "quantity": "quantity now on hold (decimal string)",
            "reason": "why it is held",
            "defect_code": "defect code, may be empty",
            "held_at": "when (ISO 8601)",
        },
    ),
    "lot.released": (
        "Quality released a held lot: it may be used and shipped again.",
        {"lot": "lot code", "item": "item code", "quantity": "decimal string",
         "disposition": "release or use_as_is", "deviation": "deviation number, may be empty",
         "rationale": "why", "decided_at": "ISO 8601"},
    ),
    "lot.reworked": (
        "A held lot goes to rework (a rework job on a line).",
        {"lot": "lot code", "item": "item code", "quantity": "decimal string",
         "rework_job": "job number", "line": "line code", "rationale": "why",
         "decided_at": "ISO 8601"},
    ),
    "lot.scrapped": (
        "A held lot is scrapped: take it out of stock.",
        {"lot": "lot code", "item": "item code", "quantity": "decimal string",
         "rationale": "why", "decided_at": "ISO 8601"},
    ),
    "lot.split": (
        "Part of a lot was split off under a new code (quantities sum to the original).",
        {"lot": "the original lot code", "new_lot": "the new lot code", "item": "item code",
         "quantity": "quantity left on the original (decimal string)",
         "new_quantity": "quantity of the new lot (decimal string)", "split_at": "ISO 8601"},
    ),
    "order.status_changed": (
        "An order's status changed here (in production, completed, cancelled).",
        {"order": "order number", "status": "new status", "previous": "previous status",
         "changed_at": "ISO 8601"},
    ),
    "sequence.approved": (
        "A planner approved a new sequence for a line: run its jobs in this order and times.",
        {"line": "line code", "proposal": "the proposal's id here (a string)",
         "jobs": "the line's open jobs in order: [{job, sequence, planned_start, planned_end}] "
                 "(ISO 8601 times)",
         "approved_by": "the planner's user name", "approved_at": "ISO 8601",
         "rationale": "why this alternative"},
    ),
    # The workflow notifications (``workflows.notify.Notifier``): a receiver's inbox, chat or
    # pager can follow the cross-functional work. Aggregate "case:<id>": a case's messages
    # arrive in the order they happened (a decision before the task it started).
    "task.created": (
        "A workflow task was created for a function or a person, with its deadline.",
        {"task": "task id", "case": "exception id", "title": "what to do",
         "status": "open or claimed", "due_at": "deadline (ISO 8601)",
         "owner_group": "owning function (role name), may be empty",
         "assignee": "username of the person it is assigned to, may be empty"},
    ),
    "task.escalated": (
        "A task passed one of its escalation levels (its deadline or a reminder).",
        {"task": "task id", "case": "exception id", "title": "what to do",
         "status": "task status", "due_at": "deadline (ISO 8601)",
         "owner_group": "owning function (role name), may be empty",
         "assignee": "username, may be empty (after a hand-over: the new owner)",
         "level": "escalation level reached (1, 2, ...; a number as a string)",
         "action": "what the level did: notify_group, notify or assign (a hand-over)"},
    ),
    "decision.recorded": (
        "Someone decided a task: the option chosen and why (the task is done).",
        {"task": "task id", "case": "exception id", "title": "what was to do",
         "status": "task status (done)", "due_at": "deadline (ISO 8601)",
         "owner_group": "owning function (role name), may be empty",
         "assignee": "username of who held it, may be empty",
         "decision": "decision id", "chosen": "the option's value", "value": "the value "
         "entered with it, may be empty", "rationale": "why",
         "predicted_completion_at": "when the decider expects it done (ISO 8601), may be empty"},
    ),
}  # fmt: skip

# Fields that are not strings (every other field is one), as their OpenAPI schema.
FIELD_SCHEMAS: dict[tuple[str, str], dict] = {
    ("sequence.approved", "jobs"): {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["job", "sequence", "planned_start", "planned_end"],
            "properties": {
                "job": {"type": "string"},
                "sequence": {"type": "integer"},
                "planned_start": {"type": "string", "format": "date-time"},
                "planned_end": {"type": "string", "format": "date-time"},
            },
        },
    },
}

# The workflow notifications among them: for people's tools (a chat, a pager, a ticket system),
# not for ERP and MES, whose targets in the embedded default subscribe to everything else.
NOTIFICATION_TOPICS = ("task.created", "task.escalated", "decision.recorded")

# Told of every batch of messages written (a list, in writing order), inside its transaction:
# delivery fans them out to its targets and enqueues its relay on commit.
outbox_written: Registry[list[OutboxMessage]] = Registry("outbox messages")


def outbox_add(*, topic: str, aggregate: str, data: dict) -> OutboxMessage:
    """Write one outbound message in the caller's transaction (never outside one).

    ``aggregate`` names what it is about ("lot:LOT-1"): each target gets one aggregate's
    messages in the order they were written here.
    """
    [message] = outbox_add_many([(topic, aggregate, data)])
    return message


# Which message types some target takes right now: delivery answers (``subscriptions_from``
# in its ready()); until it does, every type counts as taken.
_subscribed: Callable[[], set[str]] = lambda: set(TOPICS)  # noqa: E731


def subscriptions_from(fn: Callable[[], set[str]]) -> None:
    global _subscribed
    _subscribed = fn


def outbox_subscribed() -> set[str]:
    """The message types at least one target takes now. Only for messages nobody needs but
    the subscribers (the workflow notifications): leaving those out loses nothing, as a
    target added later gets only later messages anyway."""
    return _subscribed()


def outbox_add_many(messages: list[tuple[str, str, dict]]) -> list[OutboxMessage]:
    """``outbox_add`` for a batch of ``(topic, aggregate, data)`` (the SLA sweep's
    escalations): one INSERT and one fan-out for all; all are checked before any is written."""
    for topic, _aggregate, data in messages:
        _check(topic, data)
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the message could outlive a change that failed, or be lost
        # after one that committed: the whole point of the outbox.
        raise RuntimeError("outbox_add must run inside the change's transaction")
    if not messages:
        return []
    now = timezone.now()
    written = OutboxMessage.objects.bulk_create(
        OutboxMessage(topic=topic, aggregate=aggregate, payload=data, created_at=now)
        for topic, aggregate, data in messages
    )
    outbox_written.notify(written)
    return written


def _check(topic: str, data: dict) -> None:
    if topic not in TOPICS:
        raise InvalidInputError(f"unknown outbox topic {topic!r}", field="topic")
    fields = TOPICS[topic][1]
    if set(data) != set(fields):
        missing, extra = sorted(set(fields) - set(data)), sorted(set(data) - set(fields))
        raise InvalidInputError(
            f"{topic} payload: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}",
            field="data",
        )
