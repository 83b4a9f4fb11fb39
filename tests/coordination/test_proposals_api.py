"""The proposals API and approval: one transaction for jobs, decision, task and MES message;
only planners approve; a stale or closed proposal is refused; two planners at once."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from coordination import models as m
from coordination.proposals import services
from coordination.proposals.models import Proposal, SequenceDecision
from exceptions.models import ExceptionCase
from plantcoord.celery import app
from tests.conftest import race
from tests.coordination.proposal_plant import proposal_plant
from workflows.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def pp(db, settings):
    settings.PROPOSAL_SOLVE_SECONDS = 0.3
    return proposal_plant()


@pytest.fixture
def changed(pp, signal):
    """An order change on P1 (the planner's task is open at once) and its proposal."""
    m.Order.objects.filter(number="SO-8").update(due_at=timezone.now() + timedelta(hours=2))
    signal("order.changed", {"order": "SO-8", "change": "due_date"}, site="PP")
    case = ExceptionCase.objects.get(kind="order_change", key="SO-8")
    proposal = services.proposal_build(
        lines=["P1"], trigger="order_change", case_id=case.pk, first_signal_at=case.first_seen_at
    )
    return proposal


def _url(proposal, action=""):
    return f"/api/v1/proposals/{proposal.pk}/" + (f"{action}" if action else "")


def test_detail_has_the_issue_shape(changed, api):
    body = api("supervisor").get(_url(changed)).json()
    assert set(body) == {"id", "status", "lines", "case", "trigger", "created_at",
                         "ready_seconds", "input_version", "baseline", "alternatives"}  # fmt: skip
    alt = body["alternatives"][0]
    assert set(alt) == {"key", "label", "kpis", "jobs", "explanation"}
    assert set(alt["kpis"]) == {"weighted_tardiness", "late_jobs", "late_orders",
                                "changeover_minutes", "makespan_end"}  # fmt: skip
    assert set(alt["jobs"][0]) == {"job", "line", "start", "end", "changeover_minutes",
                                   "late_minutes"}  # fmt: skip
    assert body["case"] == changed.case_id and body["lines"] == ["P1"]


def test_list_filters(changed, api):
    client = api("maintenance")
    assert [p["id"] for p in client.get("/api/v1/proposals/?line=P1").json()["results"]] == [
        changed.pk
    ]
    assert client.get("/api/v1/proposals/?line=P2").json()["results"] == []
    assert client.get(f"/api/v1/proposals/?case={changed.case_id}").json()["count"] == 1
    assert client.get("/api/v1/proposals/?status=approved").json()["count"] == 0


@pytest.mark.parametrize(
    "query", ["status=nope", "case=abc", "case=99999999999999999999999", "case=%C2%B2"]
)
def test_bad_filters_are_a_400_naming_the_field(changed, api, query):
    response = api("planner").get(f"/api/v1/proposals/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_a_huge_or_odd_id_is_a_404(changed, api):
    client = api("planner")
    assert client.get("/api/v1/proposals/99999999999999999999999/").status_code == 404
    response = client.post("/api/v1/proposals/99999999999999999999999/approve",
                           {"alternative": "x", "rationale": "y"}, format="json")  # fmt: skip
    assert response.status_code == 404


def test_approval_writes_jobs_decision_task_and_mes_message(changed, api):
    chosen = changed.alternatives[0]
    running_start = m.Job.objects.get(number="WO-1").planned_start
    response = api("planner").post(
        _url(changed, "approve"),
        {"alternative": chosen["key"], "rationale": "customer called"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    changed.refresh_from_db()
    assert changed.status == "approved"
    p1 = [r for r in chosen["jobs"] if r["line"] == "P1"]
    jobs = {j.number: j for j in m.Job.objects.filter(line__code="P1")}
    for row in p1:
        job = jobs[row["job"]]
        assert job.sequence == row["position"] * 10
        if job.status == "running":  # it started: its start stays, its end moves
            assert job.planned_start == running_start
        else:
            assert job.planned_start.isoformat() == row["start"]
        assert job.planned_end.isoformat() == row["end"]
    audits = m.StateChange.objects.filter(
        content_type=ContentType.objects.get_for_model(m.Job), transition="resequence"
    )
    assert audits.count() == len(p1) and all(a.actor.username for a in audits)
    decision = SequenceDecision.objects.get(proposal=changed)
    assert decision.chosen == chosen["key"] and decision.rationale == "customer called"
    assert decision.predicted == chosen["kpis"]
    assert {o["key"] for o in decision.options} == {a["key"] for a in changed.alternatives}
    task = Task.objects.get(case_id=changed.case_id, owner_group__name="planner")
    assert task.status == "done" and decision.task_decision.task_id == task.pk
    message = m.OutboxMessage.objects.get(topic="sequence.approved")
    assert message.aggregate == "line:P1"
    assert [j["job"] for j in message.payload["jobs"]] == [r["job"] for r in p1]


@pytest.mark.parametrize("role", ["supervisor", "quality", "procurement", "sales", "maintenance"])
def test_only_planners_approve(changed, api, role):
    client = api(role)
    assert client.get(_url(changed)).status_code == 200  # every function reads it
    data = {"alternative": "least_tardiness", "rationale": "x"}
    response = client.post(_url(changed, "approve"), data, format="json")
    assert response.status_code == 403
    assert (
        client.post(_url(changed, "reject"), {"rationale": "x"}, format="json").status_code == 403
    )
    assert client.post("/api/v1/lines/P1/resequence", {}, format="json").status_code == 403
    changed.refresh_from_db()
    assert changed.status == "proposed"


def test_a_stale_proposal_is_refused_and_changes_nothing(changed, api):
    m.Order.objects.filter(number="SO-3").update(priority=5)  # a priority changed since
    before = list(m.Job.objects.values_list("number", "sequence", "planned_start"))
    response = api("planner").post(
        _url(changed, "approve"), {"alternative": "least_tardiness", "rationale": "ok"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["code"] == "proposal_stale"
    assert response.json()["extra"]["rerun"] == "/api/v1/lines/P1/resequence"
    assert list(m.Job.objects.values_list("number", "sequence", "planned_start")) == before
    changed.refresh_from_db()
    assert changed.status == "proposed"


def test_routine_progress_does_not_make_it_stale(changed, api):
    m.Job.objects.filter(number="WO-1").update(good_quantity=900, scrap_quantity=30)
    response = api("planner").post(
        _url(changed, "approve"), {"alternative": "least_tardiness", "rationale": "ok"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200


def test_a_closed_proposal_is_refused(changed, api):
    client = api("planner")
    assert (
        client.post(_url(changed, "reject"), {"rationale": "keep"}, format="json").json()["status"]
        == "rejected"
    )
    data = {"alternative": "least_tardiness", "rationale": "x"}
    response = client.post(_url(changed, "approve"), data, format="json")
    assert response.status_code == 409 and response.json()["code"] == "proposal_closed"


def test_bad_approval_input_names_the_field(changed, api):
    client = api("planner")
    response = client.post(_url(changed, "approve"), {"alternative": "nope", "rationale": "x"},
                           format="json")  # fmt: skip
    assert response.status_code == 400 and "alternative" in response.json()
    response = client.post(_url(changed, "approve"), {"alternative": "least_tardiness"},
                           format="json")  # fmt: skip
    assert response.status_code == 400 and "rationale" in response.json()


def test_planner_asks_for_a_proposal_and_gets_202(pp, api, django_capture_on_commit_callbacks):
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api("planner").post("/api/v1/lines/P2/resequence", {}, format="json")
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert proposal.is_ready and proposal.trigger == "request" and proposal.lines == ["P2"]


def test_resequence_of_an_unknown_line_is_a_404(pp, api):
    assert (
        api("planner").post("/api/v1/lines/NOPE/resequence", {}, format="json").status_code == 404
    )


def test_priorities_rank_the_line_with_reasons(pp, api):
    body = api("planner").get("/api/v1/lines/P1/priorities").json()
    jobs = body["jobs"]
    assert jobs[0]["job"] == "WO-1" and jobs[0]["advice"] == "running"
    assert [j["advice"] for j in jobs].count("run_next") == 1
    assert {j["advice"] for j in jobs} <= {"running", "run_next", "expedite", "keep", "defer"}
    assert all(j["reasons"] for j in jobs)
    assert "order" in jobs[0]
    hidden = api("maintenance").get("/api/v1/lines/P1/priorities").json()["jobs"]
    assert "order" not in hidden[0]
    assert not any(r.startswith("tier ") for j in hidden for r in j["reasons"])
    assert api("planner").get("/api/v1/lines/NOPE/priorities").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_planners_approving_at_once_one_wins(settings, role_user, signal):
    settings.PROPOSAL_SOLVE_SECONDS = 0.2
    proposal_plant()
    signal("equipment.status", {"line": "P1", "status": "down"}, site="PP")
    case = ExceptionCase.objects.get(kind="downtime", key="P1")
    proposal = services.proposal_build(
        lines=["P1"], trigger="downtime", case_id=case.pk, first_signal_at=case.first_seen_at
    )
    planners = [role_user("planner", username=f"planner-{k}") for k in range(2)]
    outcomes = race(
        lambda k: services.proposal_approve(
            proposal_id=proposal.pk, actor=planners[k],
            alternative=proposal.alternatives[k % len(proposal.alternatives)]["key"],
            rationale=f"planner {k}",
        )
    )  # fmt: skip
    codes = sorted(code for code, _ in outcomes)
    assert codes == ["ok", "proposal_closed"], outcomes
    assert SequenceDecision.objects.count() == 1
    assert m.OutboxMessage.objects.filter(topic="sequence.approved").count() == 1


@pytest.mark.postgres
def test_nothing_is_half_done_when_the_outbox_write_fails(changed, role_user):
    """A database trigger refuses the outbox row: jobs, decision, task, proposal stay."""
    table = m.OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_outbox() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'outbox down'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_outbox BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"
        )
    before = list(m.Job.objects.order_by("pk").values_list("line_id", "sequence", "planned_start",
                                                           "planned_end"))  # fmt: skip
    audits = m.StateChange.objects.count()
    with pytest.raises(Exception, match="outbox down"):
        services.proposal_approve(
            proposal_id=changed.pk, actor=role_user("planner"),
            alternative="least_tardiness", rationale="ok",
        )  # fmt: skip
    after = list(m.Job.objects.order_by("pk").values_list("line_id", "sequence", "planned_start",
                                                          "planned_end"))  # fmt: skip
    assert after == before
    assert m.StateChange.objects.count() == audits
    assert not SequenceDecision.objects.exists()
    changed.refresh_from_db()
    assert changed.status == "proposed"
    task = Task.objects.get(case_id=changed.case_id, owner_group__name="planner")
    assert task.status == "open"


def test_roles_that_do_not_read_orders_get_explanations_without_them(changed, api):
    planner = api("planner").get(_url(changed)).json()
    maintenance = api("maintenance").get(_url(changed)).json()
    text = " ".join(s for a in maintenance["alternatives"] for s in a["explanation"])
    assert "SO-" not in text and "tier " not in text
    assert len(maintenance["alternatives"]) == len(planner["alternatives"])


def test_a_proposal_still_being_built_cannot_be_approved(pp, api, role_user):
    pending = services.proposal_request(line_code="P1", actor=role_user("planner", username="p"))
    response = api("planner").post(
        _url(pending, "approve"), {"alternative": "least_tardiness", "rationale": "ok"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "proposal_not_ready"
