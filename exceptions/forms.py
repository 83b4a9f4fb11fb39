"""Forms for the board's and the exception page's actions: shape only; rules are in services."""

from django import forms
from django.contrib.auth import get_user_model

from kernel.actions import ActionForm
from kernel.roles import ROLES

from .models import ExceptionCase
from .selectors import root_cause_choices

STATES = [("", ""), *ExceptionCase.Status.choices]


class AcknowledgeForm(ActionForm):
    expected_state = forms.ChoiceField(choices=STATES, required=False, widget=forms.HiddenInput)


class DismissForm(AcknowledgeForm):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why is this not a real disruption (e.g. false alarm, duplicate)?",
        error_messages={"required": "Say why it is dismissed (e.g. false alarm)."},
    )


class ResolveForm(AcknowledgeForm):
    root_cause = forms.TypedChoiceField(
        coerce=int,
        error_messages={
            "required": "Choose a root cause.",
            "invalid_choice": "Choose a root cause from the list.",
        },
    )
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done and what was found.",
        error_messages={"required": "Add a note: what was done and found."},
    )
    confirm_active = forms.BooleanField(
        required=False,
        label="The condition is still active: resolve anyway",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].choices = [("", "— choose —"), *root_cause_choices()]


class AssignForm(ActionForm):
    """A person or a role group (the service refuses both or neither)."""

    user = forms.ChoiceField(required=False, label="Person")
    group = forms.ChoiceField(
        required=False, label="or group", choices=[("", "—")] + [(r, r) for r in ROLES]
    )
    expected_owner = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=ROLES)
            .distinct()
            .order_by("username")
            .values_list("username", flat=True)
        )
        self.fields["user"].choices = [("", "—")] + [(u, u) for u in users]

    @classmethod
    def initial_for(cls, target) -> dict:
        from .services import case_owner_token

        return {"expected_owner": case_owner_token(target)}


class RaiseForm(forms.Form):
    """A supervisor raises an exception by hand (exceptions/manual.py): shape only."""

    title = forms.CharField(
        label="What happened", max_length=200, error_messages={"required": "Say what happened."}
    )
    line = forms.ChoiceField(label="Line", required=False)
    severity = forms.TypedChoiceField(
        coerce=int,
        initial=2,
        choices=[
            (v, label) for v, label in reversed(ExceptionCase._meta.get_field("severity").choices)
        ],
        error_messages={"invalid_choice": "Choose a severity from the list."},
    )
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from coordination.models import Line

        self.fields["line"].choices = [("", "— whole plant —")] + [
            (code, code) for code in Line.objects.values_list("code", flat=True)
        ]
