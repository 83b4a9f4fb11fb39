"""The outbox: what must leave the system, written in the same transaction as the decision.

Any app writes with ``outbox_add`` inside its change's transaction: the message exists if and
only if the change committed. Delivery (which targets, in what order, retries, signing) lives
in ``integrations``, which registers on ``outbox_written`` to nudge its relay after commit; a
beat sweep delivers whatever a lost nudge left behind. The domain never imports an adapter.

``TOPICS`` is the outbound contract: every message type and the fields of its ``data``. The
README and the OpenAPI components are generated from it, so an integrator can map them.
"""

from django.db import transaction

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

# Told of every message written, inside its transaction: delivery enqueues its relay on commit.
outbox_written: Registry[OutboxMessage] = Registry("outbox messages")


def outbox_add(*, topic: str, aggregate: str, data: dict) -> OutboxMessage:
    """Write one outbound message in the caller's transaction (never outside one).

    ``aggregate`` names what it is about ("lot:LOT-1"): each target gets one aggregate's
    messages in the order they were written here.
    """
    if topic not in TOPICS:
        raise InvalidInputError(f"unknown outbox topic {topic!r}", field="topic")
    fields = TOPICS[topic][1]
    if set(data) != set(fields):
        missing, extra = sorted(set(fields) - set(data)), sorted(set(data) - set(fields))
        raise InvalidInputError(
            f"{topic} payload: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}",
            field="data",
        )
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the message could outlive a change that failed, or be lost
        # after one that committed: the whole point of the outbox.
        raise RuntimeError("outbox_add must run inside the change's transaction")
    message = OutboxMessage.objects.create(topic=topic, aggregate=aggregate, payload=data)
    outbox_written.notify(message)
    return message
