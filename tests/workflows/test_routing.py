import pytest

from coordination.models import Item
from workflows.models import RoutingRule, WorkflowRun, WorkflowTemplate
from workflows.routing import rule_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(db):
    RoutingRule.objects.all().delete()
    a, b, c, d = (WorkflowTemplate.objects.create(name=f"T-{n}") for n in "ABCD")
    RoutingRule.objects.create(
        position=10, name="critical down", kind="downtime", min_severity=4, template=a
    )
    RoutingRule.objects.create(position=20, name="down", kind="downtime", template=b)
    RoutingRule.objects.create(position=30, name="strategic", customer_tier=1, template=d)
    RoutingRule.objects.create(position=1000, name="catch-all", template=c)
    return a, b, c, d


def test_first_matching_rule_wins_in_position_order(rules, make_case):
    a, b, _, _ = rules
    assert rule_for(make_case("downtime", 4)).template == a
    assert rule_for(make_case("downtime", 3)).template == b


def test_catch_all_takes_what_no_other_rule_matches(rules, make_case):
    assert rule_for(make_case("shortage", 2)).is_catch_all


def test_reordering_changes_the_winner(rules, make_case):
    RoutingRule.objects.filter(name="down").update(position=5)
    assert rule_for(make_case("downtime", 4)).name == "down"


def test_inactive_rules_are_skipped(rules, make_case):
    RoutingRule.objects.filter(name="critical down").update(active=False)
    assert rule_for(make_case("downtime", 4)).name == "down"


def test_no_catch_all_routes_nowhere(rules, make_case):
    RoutingRule.objects.filter(name="catch-all").delete()
    assert rule_for(make_case("scrap", 1)) is None


def test_customer_tier_and_item_family(rules, make_case):
    *_, d = rules
    Item.objects.create(code="FG-X", description="x", family="CANS")
    hit = {"customers": [{"code": "C1", "tier": 1}], "jobs": [{"item": "FG-X"}]}
    assert rule_for(make_case("shortage", 2, impact=hit)).template == d
    tier2 = {"customers": [{"code": "C2", "tier": 2}]}
    assert rule_for(make_case("shortage", 2, impact=tier2)).is_catch_all
    RoutingRule.objects.create(position=25, name="cans", item_family="CANS", template=rules[2])
    assert rule_for(make_case("shortage", 2, impact=hit)).name == "cans"


def test_seeded_rules_route_every_kind(plant, down):
    case = down("L1")
    run = WorkflowRun.objects.get(case=case)
    assert run.template.name in ("Line down", "Critical line down")
    assert run.rule.kind == "downtime"


def test_admin_previews_which_rule_an_exception_matches(rules, make_case, client, role_user):
    admin = role_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    case = make_case("downtime", 3)
    page = client.get("/admin/workflows/routingrule/preview/", {"case": case.pk}).content.decode()
    assert "applies" in page and "down" in page
    bad = client.get("/admin/workflows/routingrule/preview/", {"case": "x9"}).content.decode()
    assert "no exception #x9" in bad


@pytest.mark.parametrize(
    "model",
    ["routingrule", "workflowtemplate", "escalationpolicy", "task", "workflowrun", "decision",
     "notificationpreference"],
)  # fmt: skip
def test_admin_pages_open(client, role_user, model, plant, order_change):
    client.force_login(role_user("admin", is_staff=True, is_superuser=True))
    assert client.get(f"/admin/workflows/{model}/").status_code == 200
    template = WorkflowTemplate.objects.get(name="Line down")
    assert client.get(f"/admin/workflows/workflowtemplate/{template.pk}/change/").status_code == 200


def test_admin_refuses_bad_rules_and_steps(client, role_user):
    client.force_login(role_user("admin", is_staff=True, is_superuser=True))
    template = WorkflowTemplate.objects.get(name="Line down")
    before = RoutingRule.objects.count()
    r = client.post(
        "/admin/workflows/routingrule/add/",
        {"position": 5, "name": "bad", "active": "on", "min_severity": 4, "max_severity": 2,
         "template": template.pk},
    )  # fmt: skip
    assert r.status_code == 200 and "must be at least the minimum severity" in r.content.decode()
    assert RoutingRule.objects.count() == before
    from django.core.exceptions import ValidationError

    from workflows.models import StepTemplate

    step = StepTemplate(template=template, title="x", assignee="group", options=[{"value": "a"}])
    with pytest.raises(ValidationError) as exc:
        step.full_clean()
    assert set(exc.value.message_dict) >= {"group", "options"}
