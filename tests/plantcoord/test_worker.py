import uuid

import pytest
from django.db import transaction

from coordination.models import Heartbeat
from coordination.tasks import heartbeat_task
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_enqueued_on_commit_runs_in_a_real_worker(worker_process):
    worker = worker_process("--pool=solo")
    token = uuid.uuid4().hex

    with transaction.atomic():
        heartbeat_task.delay_on_commit(token)
        assert not Heartbeat.objects.exists()  # nothing leaves before the commit

    wait_for(
        lambda: Heartbeat.objects.filter(name="worker", token=token).exists(),
        what=f"the worker to run the task; its log:\n{worker.output()}",
    )


def test_rolled_back_transaction_enqueues_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        heartbeat_task.delay_on_commit("never")
        raise RuntimeError("decision failed")
    assert callbacks == []
