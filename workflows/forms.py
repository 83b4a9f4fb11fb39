"""Forms for task actions: shape only; the rules (options, rationale, who) are in services."""

from django import forms

from kernel.actions import ActionForm

from .models import Task

STATES = [("", ""), *Task.Status.choices]


class ClaimForm(ActionForm):
    expected_state = forms.ChoiceField(choices=STATES, required=False, widget=forms.HiddenInput)


class CompleteForm(ClaimForm):
    option = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a decision.",
            "invalid_choice": "Choose one of the decisions offered.",
        },
    )
    value = forms.CharField(
        required=False, max_length=200, label="Value", help_text="Needed for a counter."
    )
    rationale = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this decision: it is kept with the data you saw.",
        error_messages={"required": "Give the rationale for your decision."},
    )
    predicted_completion_at = forms.DateTimeField(
        required=False,
        label="Predicted completion",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="e.g. the new completion date this decision leads to.",
        error_messages={"invalid": "Enter a date and time, e.g. 2026-05-01 14:30."},
    )
    predicted_effect = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, target: Task, **kwargs):
        super().__init__(*args, target=target, **kwargs)
        self.fields["option"].choices = [(o["value"], o["label"]) for o in target.options]
        labels = [o.get("value_label") for o in target.options if o.get("needs_value")]
        if labels:
            self.fields["value"].help_text = "Needed for: " + ", ".join(labels)


class PauseForm(ActionForm):
    reason = forms.CharField(
        max_length=300,
        label="Waiting for",
        error_messages={"required": "Say what the task is waiting for."},
    )


class NoteForm(ActionForm):
    note = forms.CharField(
        max_length=300, label="Progress", error_messages={"required": "Write what progressed."}
    )


class PreferenceForm(forms.Form):
    in_app = forms.BooleanField(required=False, label="In-app notifications")
    email = forms.BooleanField(required=False, label="E-mail")
    collapse_minutes = forms.IntegerField(
        min_value=0,
        max_value=24 * 60,
        label="Collapse repeats within (minutes)",
        error_messages={
            "required": "Give the collapse window in minutes.",
            "invalid": "Enter a whole number of minutes.",
        },
    )
