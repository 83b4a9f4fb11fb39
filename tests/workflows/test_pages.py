import pytest

from workflows.models import Decision, Notification, NotificationPreference, Task

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def planner_task(plant, order_change, client, role_user):
    planner = role_user("planner")
    client.force_login(planner)
    return Task.objects.get(case=order_change(), owner_group__name="planner")


def test_inbox_lists_my_groups_tasks_with_counts(planner_task, client, role_user):
    page = client.get("/inbox/").content.decode()
    assert "Propose a new sequence" in page and "Confirm customer impact" not in page
    assert "1 task" in page and "due in" in page
    client.force_login(role_user("maintenance"))
    assert "Propose a new sequence" not in client.get("/inbox/").content.decode()


def test_claim_and_complete_through_htmx(planner_task, client):
    url = f"/tasks/{planner_task.pk}/"
    r = client.post(url + "claim/", {"expected_state": "open"}, **HTMX)
    assert r.status_code == 200 and "inbox-changed" in r.headers["HX-Trigger"]
    r = client.post(
        url + "complete/",
        {"option": "accept", "rationale": "Fits after WO-60102", "expected_state": "claimed"},
        **HTMX,
    )
    assert "Decided “Accept”" in r.content.decode()
    case_page = client.get(f"/exceptions/{planner_task.case_id}/").content.decode()
    assert "Fits after WO-60102" in case_page and "Accept" in case_page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"option": "accept", "rationale": ""}, "Rationale: Give the rationale"),
        ({"option": "bogus", "rationale": "x"}, "Decision: Choose one of the decisions"),
        ({"rationale": "x"}, "Decision: Choose a decision"),
        ({"option": "counter", "rationale": "x"}, "Counter needs Counter proposal"),
        (
            {"option": "accept", "rationale": "x", "predicted_completion_at": "soon"},
            "Predicted completion: Enter a date and time",
        ),
    ],
)
def test_bad_decision_input_names_the_field_and_changes_nothing(planner_task, client, data, error):
    r = client.post(f"/tasks/{planner_task.pk}/complete/", data, **HTMX)
    assert r.status_code == 200 and error in r.content.decode()
    planner_task.refresh_from_db()
    assert planner_task.status == "open" and not Decision.objects.exists()
    plain = client.post(f"/tasks/{planner_task.pk}/complete/", data)
    assert plain.status_code == 400


@pytest.mark.parametrize(
    ("action", "data", "error"),
    [("pause", {"reason": ""}, "Waiting for: Say what"), ("note", {"note": ""}, "Progress: Write")],
)
def test_bad_pause_and_note_input(planner_task, client, action, data, error):
    r = client.post(f"/tasks/{planner_task.pk}/{action}/", data, **HTMX)
    assert error in r.content.decode()
    planner_task.refresh_from_db()
    assert planner_task.paused_at is None and planner_task.events.count() == 1


def test_other_group_is_refused(planner_task, client, role_user):
    client.force_login(role_user("sales"))
    r = client.post(f"/tasks/{planner_task.pk}/claim/", {"expected_state": "open"})
    assert r.status_code == 403 and "only they may act" in r.content.decode()
    planner_task.refresh_from_db()
    assert planner_task.status == "open"


def test_stale_page_conflicts(planner_task, client):
    client.post(f"/tasks/{planner_task.pk}/claim/", {"expected_state": "open"})
    r = client.post(f"/tasks/{planner_task.pk}/claim/", {"expected_state": "open"}, **HTMX)
    assert "is now claimed" in r.content.decode()


def test_preferences_bad_input_and_save(planner_task, client):
    r = client.post("/inbox/preferences/", {"collapse_minutes": "lots", "email": "on"})
    assert r.status_code == 400 and "Collapse repeats within (minutes):" in r.content.decode()
    assert not NotificationPreference.objects.exists()
    client.post("/inbox/preferences/", {"collapse_minutes": "30", "in_app": "on"})
    pref = NotificationPreference.objects.get()
    assert pref.collapse_minutes == 30 and not pref.email


def test_bell_counts_unread_and_mark_read(planner_task, client):
    assert Notification.objects.filter(read_at=None).exists()
    page = client.get("/inbox/notifications/").content.decode()
    assert "New task: Propose a new sequence" in page
    client.post("/inbox/notifications/read/")
    assert not Notification.objects.filter(read_at=None, user__username="planner-user").exists()


def test_api_complete_validates_and_checks_permission(planner_task, api):
    url = f"/api/v1/tasks/{planner_task.pk}/complete/"
    r = api("sales").post(url, {"option": "accept", "rationale": "x"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    planner = api(user=planner_task.owner_group.user_set.get())
    r = planner.post(url, {"option": "accept", "rationale": ""}, format="json")
    assert r.status_code == 400 and "rationale" in r.json()
    r = planner.post(url, {"option": "counter", "rationale": "x"}, format="json")
    assert r.status_code == 400 and "value" in r.json()
    r = planner.post(url, {"option": "accept", "rationale": "fits"}, format="json")
    assert r.status_code == 201 and r.json()["chosen"] == "accept"
    assert planner.get(f"/api/v1/decisions/?case={planner_task.case_id}").json()
    assert planner.get("/api/v1/decisions/?case=x").status_code == 400
