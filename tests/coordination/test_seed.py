import itertools
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from django.contrib.auth import authenticate
from django.db import transaction

from coordination import models as m
from coordination.demo import demo_seed

pytestmark = pytest.mark.django_db
ANCHOR = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def _snapshot():
    return {
        model.__name__: sorted(model.objects.values_list(*fields))
        for model, fields in [
            (m.Order, ("number", "status", "quantity", "due_at")),
            (m.Job, ("number", "line__code", "sequence", "status", "planned_start")),
            (m.Lot, ("code", "status", "quantity")),
            (m.Stock, ("item__code", "location__code", "quantity")),
        ]
    }


def test_seed_is_idempotent():
    first = demo_seed()
    before = _snapshot()
    second = demo_seed()

    assert first.created and not second.created
    assert _snapshot() == before
    assert second.counts == first.counts


def test_seed_builds_a_believable_plant():
    counts = demo_seed().counts
    assert counts["lines"] == 4
    assert 35 <= counts["items"] <= 45
    assert counts["customers"] == 15
    assert 75 <= m.Order.objects.exclude(status=m.Order.Status.COMPLETED).count() <= 85
    assert 110 <= m.Job.objects.exclude(status=m.Job.Status.COMPLETED).count() <= 140
    assert counts["lots"] == 200
    assert m.Lot.objects.filter(status=m.Lot.Status.ON_HOLD).exists()
    assert m.Stock.objects.exists() and m.Shift.objects.count() == 3
    # Every line runs exactly one job now, and only items of its own families.
    for line in m.Line.objects.all():
        assert line.jobs.filter(status=m.Job.Status.RUNNING).count() == 1
        assert set(line.jobs.values_list("item__family", flat=True)) <= set(line.families)
        assert line.changeovers.count() == len(line.families) ** 2


def test_seeded_jobs_do_not_overlap_on_a_line():
    demo_seed()
    by_line = defaultdict(list)
    for job in m.Job.objects.exclude(status=m.Job.Status.COMPLETED).order_by("sequence"):
        by_line[job.line_id].append(job)
    for jobs in by_line.values():
        for earlier, later in itertools.pairwise(jobs):
            assert earlier.planned_end <= later.planned_start


def _seeded_snapshot(seed: int):
    with transaction.atomic():
        demo_seed(seed=seed, now=ANCHOR, users=False)
        snapshot = _snapshot()
        transaction.set_rollback(True)
    return snapshot


def test_seed_is_deterministic_for_a_seed_and_anchor():
    assert _seeded_snapshot(3) == _seeded_snapshot(3)
    assert _seeded_snapshot(3) != _seeded_snapshot(4)


def test_demo_users_have_their_role_and_password():
    demo_seed()
    user = authenticate(username="quality", password="demo")
    assert user is not None
    assert list(user.groups.values_list("name", flat=True)) == ["quality"]
    assert authenticate(username="admin", password="demo").is_superuser


def test_seed_without_users_creates_none():
    demo_seed(users=False)
    assert not m.StateChange.objects.exists()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.exists()


def test_the_readme_says_what_the_seed_makes():
    """The README's numbers are the seed's (issue 15, item 12: it said 80 orders and about 130
    jobs while the seed printed 92 and 143)."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    line = next(row for row in readme.splitlines() if row.startswith("| `manage.py seed_demo"))
    said = re.search(
        r"(\d+) orders \((\d+) open, (\d+) completed\), "
        r"(\d+)\u2013(\d+) jobs \(about (\d+) open",
        line,
    )
    assert said, line
    orders, open_orders, completed, jobs_low, jobs_high, open_jobs = map(int, said.groups())
    counts = demo_seed().counts
    assert (counts["orders"], counts["open orders"]) == (orders, open_orders)
    assert orders - open_orders == completed
    assert jobs_low <= counts["jobs"] <= jobs_high
    assert abs(counts["open jobs"] - open_jobs) <= 5
