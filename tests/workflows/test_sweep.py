import threading
from datetime import timedelta

import psycopg
import pytest
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from tests.conftest import pg_backend_alive, pg_blocked_backend, test_database_url, wait_for
from workflows.models import (
    Notification,
    NotificationPreference,
    Task,
    TaskEvent,
)
from workflows.notify import notifications_email
from workflows.runs import run_start
from workflows.sla import escalation_sweep
from workflows.task_actions import task_claim


def open_tasks(make_case, n):
    """``n`` order-change exceptions, each with its planner and sales task."""
    for k in range(n):
        run_start(case=make_case("order_change", 2, key=f"SO-{k}"))
    return list(Task.objects.all())


def fired(task_ids=None):
    qs = TaskEvent.objects.filter(kind="escalated")
    if task_ids:
        qs = qs.filter(task_id__in=task_ids)
    return list(qs.values_list("task_id", "seq").annotate(n=Count("id")))


@pytest.mark.django_db
def test_each_level_fires_once_in_order(make_case, role_user):
    planner = role_user("planner")
    role_user("supervisor")
    [task] = [t for t in open_tasks(make_case, 1) if t.owner_group.name == "planner"]
    assert escalation_sweep(now=task.due_at - timedelta(seconds=1)).escalations == 0
    escalation_sweep(now=task.due_at + timedelta(seconds=1))
    assert [s for _, s, _ in fired([task.pk])] == [0]
    escalation_sweep(now=task.due_at + timedelta(minutes=16))
    escalation_sweep(now=task.due_at + timedelta(minutes=16))  # again: nothing new
    task.refresh_from_db()
    assert task.owner_group.name == "supervisor"  # level 2: handed to the shift supervisor
    escalation_sweep(now=task.due_at + timedelta(minutes=31))
    assert sorted(s for _, s, n in fired([task.pk]) if n == 1) == [0, 1, 2]
    task.refresh_from_db()
    assert task.sweep_at is None and task.next_level == 3
    # The planner was told once, collapsed; timeline shows every level.
    assert Notification.objects.filter(user=planner, task=task).count() == 1


@pytest.mark.django_db
def test_stalled_claimed_work_is_chased(make_case, role_user):
    planner = role_user("planner")
    [task] = [t for t in open_tasks(make_case, 1) if t.owner_group.name == "planner"]
    task = task_claim(task_id=task.pk, actor=planner)
    stall = timedelta(minutes=task.stall_minutes)
    escalation_sweep(now=task.progress_at + stall + timedelta(seconds=1))
    escalation_sweep(now=task.progress_at + stall + timedelta(seconds=2))
    assert task.events.filter(kind="reminded").count() == 1
    escalation_sweep(now=task.progress_at + 2 * stall + timedelta(seconds=5))
    assert task.events.filter(kind="reminded").count() == 2


@pytest.mark.django_db
def test_repeated_notifications_collapse_and_email_once(
    make_case, role_user, django_capture_on_commit_callbacks
):
    planner = role_user("planner", email="planner@plant.test")
    NotificationPreference.objects.create(user=planner, collapse_minutes=120)
    [task] = [t for t in open_tasks(make_case, 1) if t.owner_group.name == "planner"]
    with django_capture_on_commit_callbacks() as callbacks:
        escalation_sweep(now=task.due_at + timedelta(seconds=1))
        escalation_sweep(now=task.due_at + timedelta(minutes=31))
    note = Notification.objects.get(user=planner, task=task)
    assert note.count >= 2  # created + escalation(s): one row
    assert len(callbacks) == 0  # emailed when the task was created, within the window
    assert notifications_email([note.pk]) == 1
    assert mail.outbox[0].to == ["planner@plant.test"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_each_level_once(make_case, role_user):
    role_user("planner")
    role_user("sales")
    tasks = open_tasks(make_case, 20)
    now = max(t.due_at for t in tasks) + timedelta(minutes=31)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def sweep():
        try:
            barrier.wait()
            reports.append(escalation_sweep(now=now, batch_size=3))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    counts = fired()
    assert len(counts) == 40 * 3 and {n for *_, n in counts} == {1}
    assert sum(r.escalations for r in reports) == 120
    assert all(r.tasks for r in reports), "both sweepers took a share"


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_sweep_fires_each_level_once(make_case, role_user, worker_process):
    from workflows.tasks import escalation_sweep_task

    planner = role_user("planner")
    [task] = [t for t in open_tasks(make_case, 1) if t.owner_group.name == "planner"]
    Task.objects.exclude(pk=task.pk).update(sweep_at=None)
    past = timezone.now() - timedelta(minutes=40)
    Task.objects.filter(pk=task.pk).update(due_at=past, sweep_at=past)
    dsn = test_database_url()
    note = Notification.objects.get(user=planner, task=task)
    # Hold the planner's notification row: the sweep blocks when it bumps it (collapsing the
    # escalation into it), after it has claimed the task and recorded the levels, inside
    # its transaction.
    locker = psycopg.connect(dsn)
    try:
        locker.execute("SELECT id FROM workflows_notification WHERE id = %s FOR UPDATE", [note.pk])
        worker = worker_process("--pool=solo")
        escalation_sweep_task.delay()
        pid = wait_for(
            lambda: pg_blocked_backend(dsn), what=f"the sweep to block:\n{worker.output()}"
        )
        worker.kill()  # SIGKILL mid-sweep
    finally:
        locker.rollback()
        locker.close()
    wait_for(lambda: not pg_backend_alive(dsn, pid), what="the dead worker's transaction to end")
    assert not fired([task.pk])  # nothing of the killed sweep was committed

    worker_process("--pool=solo")
    escalation_sweep_task.delay()
    escalation_sweep_task.delay()  # an overlapping tick
    wait_for(lambda: len(fired([task.pk])) == 3, what="the restarted worker's sweep")
    assert {n for *_, n in fired([task.pk])} == {1}
    assert Task.objects.get(pk=task.pk).next_level == 3
