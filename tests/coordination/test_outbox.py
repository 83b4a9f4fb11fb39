"""The outbox's domain side: a message exists exactly when the change that wrote it committed."""

import pytest
from django.db import transaction

from coordination.models import OutboxMessage
from coordination.outbox import TOPICS, outbox_add, outbox_add_many, outbox_written
from kernel.errors import InvalidInputError

pytestmark = pytest.mark.django_db

HELD = {
    "lot": "LOT-1",
    "item": "FG-1",
    "quantity": "100",
    "reason": "seal",
    "defect_code": "",
    "held_at": "2026-12-01T08:00:00Z",
}


def test_a_message_is_written_with_the_change_and_observers_hear_of_it():
    heard = []
    outbox_written.register(heard.append)
    try:
        with transaction.atomic():
            message = outbox_add(topic="lot.held", aggregate="lot:LOT-1", data=HELD)
    finally:
        outbox_written.unregister(heard.append)
    assert OutboxMessage.objects.get().key == message.key
    assert heard == [[message]]  # one batch of one


def test_a_rolled_back_change_leaves_no_message():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_add(topic="lot.held", aggregate="lot:LOT-1", data=HELD)
        1 / 0  # noqa: B018 - the change fails after writing its message
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("topic", "data", "field"),
    [
        ("lot.teleported", HELD, "topic"),
        ("lot.held", {**HELD, "colour": "red"}, "data"),
        ("lot.held", {k: v for k, v in HELD.items() if k != "reason"}, "data"),
    ],
)
def test_unknown_topics_and_payloads_off_the_contract_are_refused(topic, data, field):
    with pytest.raises(InvalidInputError) as err, transaction.atomic():
        outbox_add(topic=topic, aggregate="lot:LOT-1", data=data)
    assert err.value.field == field
    assert not OutboxMessage.objects.exists()


def test_every_topic_documents_its_fields():
    for topic, (meaning, fields) in TOPICS.items():
        assert "." in topic and meaning and fields, topic


def test_a_batch_is_checked_whole_then_written_in_order_and_heard_once():
    heard = []
    batch = [("lot.held", f"lot:LOT-{k}", {**HELD, "lot": f"LOT-{k}"}) for k in range(3)]
    outbox_written.register(heard.append)
    try:
        with pytest.raises(InvalidInputError), transaction.atomic():
            outbox_add_many([*batch, ("lot.held", "lot:LOT-9", {"lot": "LOT-9"})])
        assert not OutboxMessage.objects.exists() and heard == []  # the bad one stops them all
        with transaction.atomic():
            written = outbox_add_many(batch)
    finally:
        outbox_written.unregister(heard.append)
    assert heard == [written]
    rows = list(OutboxMessage.objects.order_by("id").values_list("aggregate", flat=True))
    assert rows == ["lot:LOT-0", "lot:LOT-1", "lot:LOT-2"]
    assert [m.pk for m in written] == list(
        OutboxMessage.objects.order_by("id").values_list("pk", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_message_is_refused():
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        outbox_add_many([("lot.held", "lot:LOT-1", HELD)])
    assert not OutboxMessage.objects.exists()
