"""Targets in admin, dead letters on the page and the API: who may, and bad input."""

import pytest
from django.core.management import call_command

from coordination.models import StateChange
from coordination.services import state_history, transition_apply
from integrations.delivery import target_ensure
from integrations.models import OutboxDelivery, OutboxTarget
from kernel.errors import InvalidInputError
from kernel.roles import FLOOR_ROLES
from tests.integrations.reference_peer import lot_message

pytestmark = pytest.mark.django_db
NOWHERE = "http://127.0.0.1:18599/erp/messages"


@pytest.fixture
def dead(db):
    """A dead delivery to ERP (as after N failures) and a message held back behind it."""
    target_ensure(name="ERP", url=NOWHERE)
    held = lot_message("lot.held", "LOT-D")
    lot_message("lot.released", "LOT-D")
    delivery = held.deliveries.get()
    delivery.attempts, delivery.last_error, delivery.last_status = 12, "HTTP 503: down", 503
    delivery.save()
    return transition_apply(delivery.bury, via=StateChange.Via.SYSTEM, reason="12 attempts")


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "r@x", "pw-Secret-1"))
    return client


def test_api_lists_dead_deliveries_for_supervisors_only(api, dead):
    for role in ("supervisor", "admin"):
        rows = api(role).get("/api/v1/outbox/?status=dead").json()["results"]
        assert [r["id"] for r in rows] == [dead.pk]
        assert rows[0]["type"] == "lot.held" and rows[0]["last_error"] == "HTTP 503: down"
    for role in ("quality", "planner", "sales", None):
        assert api(role).get("/api/v1/outbox/").status_code == 403, role
    assert api("admin").get("/api/v1/outbox/?status=pending").json()["count"] == 1


def test_a_bad_filter_names_the_field(api, dead):
    response = api("supervisor").get("/api/v1/outbox/?status=lost")
    assert response.status_code == 400 and "status" in response.json()


@pytest.mark.parametrize("role", [r for r in FLOOR_ROLES if r != "supervisor"])
def test_retry_through_the_api_is_403_for_other_roles(api, dead, role):
    assert api(role).post(f"/api/v1/outbox/{dead.pk}/retry").status_code == 403
    dead.refresh_from_db()
    assert dead.status == "dead"


def test_retry_of_what_is_not_dead_is_409_and_unknown_is_404(api, dead):
    pending = OutboxDelivery.objects.get(status="pending")
    response = api("supervisor").post(f"/api/v1/outbox/{pending.pk}/retry")
    assert response.status_code == 409 and response.json()["code"] == "not_dead"
    assert api("supervisor").post("/api/v1/outbox/999999/retry").status_code == 404
    assert api("supervisor").post("/api/v1/outbox/nope/retry").status_code == 404


def test_the_page_shows_dead_deliveries_with_a_retry_button(client, role_user, dead):
    supervisor = role_user("supervisor")
    client.force_login(supervisor)
    page = client.get("/integrations/").content.decode()
    assert "Dead deliveries" in page and "lot:LOT-D" in page and "HTTP 503: down" in page
    assert f"/integrations/outbox/{dead.pk}/retry" in page and ">Retry<" in page

    response = client.post(f"/integrations/outbox/{dead.pk}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "No dead deliveries" in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == "pending" and dead.attempts == 0
    change = state_history(dead).get(transition="retry")
    assert (change.actor, change.via) == (supervisor, "web")

    again = client.post(f"/integrations/outbox/{dead.pk}/retry", follow=True)
    assert "not dead: nothing to retry" in again.content.decode()


def test_other_roles_cannot_retry_from_the_page(client, role_user, dead):
    client.force_login(role_user("planner"))
    assert client.post(f"/integrations/outbox/{dead.pk}/retry").status_code == 403


def test_admin_creates_a_target_and_shows_its_secret_once(superuser_client):
    response = superuser_client.post(
        "/admin/integrations/outboxtarget/add/",
        {"name": "ERP", "url": "https://erp.example/hooks", "topics": ["lot.held"],
         "timeout": "5", "enabled": "on"},
        follow=True,
    )  # fmt: skip
    target = OutboxTarget.objects.get(name="ERP")
    assert target.secret.startswith("whsec_") and target.topics == ["lot.held"]
    assert target.secret in response.content.decode()
    change = superuser_client.get(f"/admin/integrations/outboxtarget/{target.pk}/change/")
    assert target.secret not in change.content.decode()  # never shown again

    rotated = superuser_client.post(
        "/admin/integrations/outboxtarget/",
        {"action": "rotate_secret", "_selected_action": [target.pk]},
        follow=True,
    )
    target.refresh_from_db()
    assert target.secret in rotated.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("url", "ftp://erp.example/", "http"),
        ("url", "not a url", "Enter a valid URL"),
        ("topics", ["lot.exploded"], "Select a valid choice"),
        ("timeout", "0", "greater than or equal to 0.1"),
        ("timeout", "abc", "Enter a number"),
    ],
)
def test_admin_target_bad_input_names_the_field(superuser_client, field, value, error):
    data = {"name": "ERP", "url": "https://erp.example/", "timeout": "5", field: value}
    response = superuser_client.post("/admin/integrations/outboxtarget/add/", data)
    assert response.status_code == 200
    assert error in str(response.context["adminform"].form.errors[field])
    assert not OutboxTarget.objects.exists()


def test_admin_action_retries_the_dead_ones_only(superuser_client, dead):
    pending = OutboxDelivery.objects.get(status="pending")
    response = superuser_client.post(
        "/admin/integrations/outboxdelivery/",
        {"action": "retry", "_selected_action": [dead.pk, pending.pk]},
        follow=True,
    )
    assert "Queued 1 dead deliveries again. 1 selected were not dead" in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == "pending"
    assert state_history(dead).get(transition="retry").via == "admin"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "nowhere"}, "url"),
        ({"url": NOWHERE, "topics": ["lot.bogus"]}, "topics"),
        ({"url": NOWHERE, "secret": "whsec_!!!"}, "secret"),
        ({"url": NOWHERE, "secret": "c2VjcmV0"}, "secret"),
    ],
)
def test_target_ensure_bad_input_names_the_field(db, kwargs, field):
    with pytest.raises(InvalidInputError) as error:
        target_ensure(name="ERP", **kwargs)
    assert error.value.field == field


def test_reference_targets_is_idempotent_and_writes_the_secrets(db, tmp_path):
    import json

    path = tmp_path / "secrets.json"
    call_command("reference_targets", base_url="http://127.0.0.1:18500", secrets_file=str(path))
    first = json.loads(path.read_text())
    call_command("reference_targets", base_url="http://127.0.0.1:18501/", secrets_file=str(path))
    assert json.loads(path.read_text()) == first  # secrets kept across restarts
    assert OutboxTarget.objects.get(name="MES").url == "http://127.0.0.1:18501/mes/messages"
    assert OutboxTarget.objects.count() == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    erp = OutboxTarget.objects.get(name="ERP")  # the plant's messages, not the task chatter
    assert erp.wants("lot.held") and erp.wants("order.status_changed")
    assert not erp.wants("task.created") and not erp.wants("decision.recorded")


def test_openapi_publishes_every_message_type(api):
    from coordination.outbox import TOPICS

    schema = api("admin").get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert components["OutboxData.lot.held"]["required"] == list(TOPICS["lot.held"][1])
    assert {f"OutboxData.{t}" for t in TOPICS} <= set(components)
    assert components["OutboxEnvelope"]["required"] == ["type", "id", "timestamp", "data"]
    assert "/api/v1/outbox/{id}/retry/" in schema["paths"]


def test_the_readme_documents_every_message_type_and_field():
    from coordination.outbox import TOPICS
    from tests.integrations.reference_peer import ROOT

    readme = (ROOT / "README.md").read_text()
    for topic, (_meaning, fields) in TOPICS.items():
        [row] = [line for line in readme.splitlines() if line.startswith(f"| `{topic}` |")]
        for field in fields:
            assert f"`{field}`" in row, (topic, field)
