"""Typed decision values (issue 15, item 9): one check for the inbox form and the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.errors import InvalidInputError
from workflows.forms import CompleteForm
from workflows.models import Decision, StepTemplate, Task, options_error
from workflows.values import option_value_clean

pytestmark = pytest.mark.django_db

WHEN = {"value": "estimate", "label": "Repair estimate", "needs_value": True,
        "value_label": "Expected back at", "value_type": "datetime"}  # fmt: skip
QTY = {"value": "counter", "label": "Counter", "needs_value": True, "value_label": "Quantity",
       "value_type": "quantity"}  # fmt: skip
LINE = {"value": "move", "label": "Move", "needs_value": True, "value_label": "To line",
        "value_type": "line"}  # fmt: skip


@pytest.mark.parametrize(
    ("option", "raw", "expected"),
    [
        (QTY, "2,400", "2400"),
        (QTY, "12.50", "12.5"),
        (LINE, "l2", "L2"),
        ({"value": "c", "label": "C", "needs_value": True}, " ship Friday ", "ship Friday"),
    ],
)
def test_values_are_normalised_by_type(plant, option, raw, expected):
    assert option_value_clean(option, raw) == expected


@pytest.mark.parametrize(
    ("option", "raw", "message"),
    [
        (QTY, "asdf", "Quantity: enter a quantity"),
        (QTY, "-3", "Quantity: enter a quantity"),
        (QTY, "1e400", "Quantity: enter a quantity"),
        (QTY, "²", "Quantity: enter a quantity"),
        (WHEN, "tomorrow-ish", "Expected back at: enter a date and time"),
        (WHEN, "2026-02-30 10:00", "Expected back at: enter a date and time"),
        (LINE, "L9", "To line: enter a line code"),
        (WHEN, "", "Repair estimate needs Expected back at"),
    ],
)
def test_bad_values_are_refused_naming_the_field(plant, option, raw, message):
    with pytest.raises(InvalidInputError) as exc:
        option_value_clean(option, raw)
    assert exc.value.field == "value" and exc.value.detail.startswith(message)


def test_a_datetime_is_plant_time_and_a_bare_time_the_next_one(plant, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert option_value_clean(WHEN, "2026-12-02T14:30") == "2026-12-02T14:30+01:00"
    nxt = option_value_clean(WHEN, "14:30")
    moment = timezone.datetime.fromisoformat(nxt)
    assert timezone.now() <= moment <= timezone.now() + timedelta(days=1)


def test_the_api_refuses_a_free_text_promise_date(plant, down, api, role_user):
    """Sales' "New promise date" is a date: "asdf" is a 400 naming value, nothing decided."""
    case = down("L1")
    task = Task.objects.get(case=case, owner_group__name="sales")
    client = api(user=role_user("sales"))
    body = {"option": "counter", "value": "asdf", "rationale": "customer asked"}
    response = client.post(f"/api/v1/tasks/{task.pk}/complete/", body, format="json")
    assert response.status_code == 400
    assert "New promise date" in str(response.json()["value"])
    assert not Decision.objects.exists()
    body["value"] = "2026-12-20 08:00"
    assert client.post(f"/api/v1/tasks/{task.pk}/complete/", body, format="json").status_code == 201
    assert Decision.objects.get().value.startswith("2026-12-20T08:00")


def test_the_form_gives_a_typed_value_its_own_input(plant, down):
    task = Task.objects.get(case=down("L1"), owner_group__name="maintenance")
    form = CompleteForm(target=task)
    assert form.fields["value_estimate"].widget.input_type == "datetime-local"
    assert form.fields["value_estimate"].label == "Expected back at"
    assert "value" not in form.fields  # no text option needs a value here
    data = {"option": "estimate", "value_estimate": "2026-12-02T14:30", "rationale": "bearing"}
    form = CompleteForm(data, target=task)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["value"].startswith("2026-12-02T14:30")
    assert "value_estimate" not in form.cleaned_data  # the service gets ``value`` only
    form = CompleteForm({**data, "value_estimate": "soon"}, target=task)
    assert not form.is_valid() and "value_estimate" in form.errors


def test_admin_options_name_known_types_and_old_ones_stay_text():
    assert "value_type must be one of" in options_error([{**QTY, "value_type": "colour"}])
    assert options_error([{"value": "c", "label": "C", "needs_value": True}]) == ""


def test_default_templates_have_typed_values():
    step = StepTemplate.objects.get(title="Estimate repair time", template__name="Line down")
    assert {o["value"]: o.get("value_type") for o in step.options}["estimate"] == "datetime"


def test_migration_types_the_defaults_seeded_before_types():
    from django.apps import apps

    from workflows.defaults import value_types_add

    step = StepTemplate.objects.get(title="Estimate repair time", template__name="Line down")
    old = [{k: v for k, v in o.items() if k != "value_type"} for o in step.options]
    own = {"value": "mine", "label": "Mine", "needs_value": True, "value_label": "Anything"}
    StepTemplate.objects.filter(pk=step.pk).update(options=[*old, own])
    value_types_add(apps)
    step.refresh_from_db()
    types = {o["value"]: o.get("value_type") for o in step.options}
    assert types == {"estimate": "datetime", "parts": "datetime", "unknown": None, "mine": None}
