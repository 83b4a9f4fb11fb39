"""The planner's pages (/plan/, a proposal), the partials other pages include, priorities,
and the actual outcome recorded next to the prediction."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from coordination import models as m
from coordination.priorities import line_priorities
from coordination.proposals import services
from coordination.proposals.models import Proposal, SequenceDecision
from exceptions.models import ExceptionCase
from tests.coordination.proposal_plant import proposal_plant

pytestmark = pytest.mark.django_db


@pytest.fixture
def down_proposal(db, settings, signal):
    settings.PROPOSAL_SOLVE_SECONDS = 0.3
    proposal_plant()
    signal("equipment.status", {"line": "P1", "status": "down"}, site="PP")
    case = ExceptionCase.objects.get(kind="downtime", key="P1")
    return services.proposal_build(
        lines=["P1"], trigger="downtime", case_id=case.pk, first_signal_at=case.first_seen_at
    )


def _client(client, role_user, role):
    client.force_login(role_user(role))
    return client


def test_plan_page_lists_the_open_proposal_and_priorities(down_proposal, client, role_user):
    page = _client(client, role_user, "planner").get("/plan/").content.decode()
    assert f"Proposal #{down_proposal.pk}" in page
    assert "What to run next" in page and "run next" in page
    assert "Propose a new sequence for P1" in page
    partial = client.get("/plan/?part=lines", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="plan-lines"' in partial and "<html" not in partial


def test_proposal_page_draws_both_gantts_and_the_costs(down_proposal, client, role_user):
    page = _client(client, role_user, "planner").get(f"/plan/proposals/{down_proposal.pk}/")
    html = page.content.decode()
    assert html.count('<svg class="gantt"') == 2
    assert 'class="window"' in html  # the down window is drawn
    assert 'class="changeover"' in html
    assert "What each alternative costs" in html
    assert down_proposal.alternatives[0]["explanation"][0] in html
    assert "Approve and send to MES" in html and "Re-optimise" in html


def test_other_roles_read_the_page_without_the_planners_forms(down_proposal, client, role_user):
    html = (
        _client(client, role_user, "maintenance")
        .get(f"/plan/proposals/{down_proposal.pk}/")
        .content.decode()
    )
    assert '<svg class="gantt"' in html
    assert "Approve and send to MES" not in html and "Re-optimise" not in html
    assert "SO-" not in html  # maintenance does not read orders


def test_approving_from_the_page_without_rationale_changes_nothing(
    down_proposal, client, role_user
):
    c = _client(client, role_user, "planner")
    response = c.post(f"/plan/proposals/{down_proposal.pk}/approve/",
                      {"alternative": "least_tardiness", "rationale": ""}, follow=True)  # fmt: skip
    assert "rationale" in response.content.decode().lower()
    down_proposal.refresh_from_db()
    assert down_proposal.status == "proposed"


def test_a_stale_approval_from_the_page_says_so_and_offers_the_rerun(
    down_proposal, client, role_user
):
    m.Order.objects.filter(number="SO-3").update(priority=5)
    c = _client(client, role_user, "planner")
    data = {"alternative": "least_tardiness", "rationale": "ok"}
    response = c.post(f"/plan/proposals/{down_proposal.pk}/approve/", data, follow=True)
    html = response.content.decode()
    assert "the plant changed since proposal" in html
    assert "Re-run on the current picture" in html


def test_pinning_an_unknown_job_is_refused_on_the_page(down_proposal, client, role_user):
    c = _client(client, role_user, "planner")
    response = c.post(f"/plan/proposals/{down_proposal.pk}/pin/", {"job": "", "position": "x"},
                      follow=True)  # fmt: skip
    assert response.status_code == 200
    assert Proposal.objects.count() == 1


def test_a_proposal_being_built_polls_then_refreshes(down_proposal, client, role_user):
    c = _client(client, role_user, "planner")
    pending = services.proposal_request(line_code="P2", actor=role_user("planner", username="p2"))
    html = c.get(f"/plan/proposals/{pending.pk}/").content.decode()
    assert "Building the proposal" in html and 'hx-trigger="every 1s"' in html
    services.proposal_build_for_request(pending.pk)
    response = c.get(f"/plan/proposals/{pending.pk}/?part=status", HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "0"])
def test_odd_proposal_ids_are_a_404(down_proposal, client, role_user, pk):
    assert _client(client, role_user, "planner").get(f"/plan/proposals/{pk}/").status_code == 404


def test_the_exception_page_shows_its_proposals(down_proposal, client, role_user):
    html = (
        _client(client, role_user, "supervisor")
        .get(f"/exceptions/{down_proposal.case_id}/")
        .content.decode()
    )
    assert "Resequencing proposals" in html and f"#{down_proposal.pk} for P1" in html


def test_line_page_partials_render(down_proposal, rf, role_user):
    request = rf.get("/")
    request.user = role_user("planner")
    from django.contrib.auth.context_processors import PermWrapper

    html = Template(
        "{% load planning %}{% line_priorities 'P1' %}{% next_shift_gantt 'P1' %}"
    ).render(Context({"perms": PermWrapper(request.user)}))
    assert 'class="priorities"' in html and 'data-gantt="next-shift"' in html
    assert "WO-1" in html


def test_a_shortage_defers_the_jobs_it_holds_up(down_proposal, signal):
    signal("material.shortage", {"item": "FG-B", "quantity_short": 100, "line": "P1"}, site="PP")
    rows = {r.job: r for r in line_priorities("P1")}
    assert rows["WO-3"].advice == "defer"
    assert any("not ready" in reason for reason in rows["WO-3"].reasons)


def test_the_actual_outcome_is_recorded_once_the_approved_jobs_complete(down_proposal, role_user):
    decision = services.proposal_approve(
        proposal_id=down_proposal.pk, actor=role_user("planner"),
        alternative="least_tardiness", rationale="ok",
    )  # fmt: skip
    assert services.proposal_outcomes_record() == 0  # jobs still open
    due = {j.number: j.order.due_at for j in m.Job.objects.select_related("order")}
    for job in m.Job.objects.filter(line__code="P1"):
        if job.status != "running":
            m.Job.objects.filter(pk=job.pk).update(status="running")
        # WO-2 finishes 30 min after its due date, the others on time.
        late = timedelta(minutes=30) if job.number == "WO-2" else -timedelta(minutes=1)
        m.Job.objects.filter(pk=job.pk).update(
            status="completed", actual_end=due[job.number] + late
        )
    assert services.proposal_outcomes_record(now=timezone.now()) == 1
    decision = SequenceDecision.objects.get(pk=decision.pk)
    weight = down_proposal.snapshot["jobs"]["WO-2"]["weight"]
    assert decision.actual["weighted_tardiness"] == weight * 30
    assert decision.actual["late_jobs"] == 1 and decision.actual["completed_jobs"] == 8


def test_a_planners_task_card_links_the_open_proposal(settings, signal):
    settings.PROPOSAL_SOLVE_SECONDS = 0.2
    proposal_plant()
    signal("order.changed", {"order": "SO-8", "change": "priority", "priority": 1}, site="PP")
    case = ExceptionCase.objects.get(kind="order_change", key="SO-8")
    proposal = services.proposal_build(
        lines=["P1"], trigger="order_change", case_id=case.pk, first_signal_at=case.first_seen_at
    )
    from workflows.models import Task

    task = Task.objects.get(case=case, owner_group__name="planner")
    html = Template("{% load planning %}{% task_proposal task %}").render(Context({"task": task}))
    assert f"/plan/proposals/{proposal.pk}/" in html and "completes this task" in html
    sales = Task.objects.get(case=case, owner_group__name="sales")
    assert "plan/proposals" not in Template("{% load planning %}{% task_proposal t %}").render(
        Context({"t": sales})
    )
