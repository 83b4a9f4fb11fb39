"""Forms for task actions: shape only; the rules (options, rationale, who) are in services."""

from django import forms

from coordination.models import Line
from kernel.actions import ActionForm
from kernel.errors import InvalidInputError

from .models import Task
from .values import DATETIME, LINE, QUANTITY, TEXT, option_value_clean, value_label, value_type

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
        # A typed value (a date, a quantity, a line…) gets its own input, labelled with what
        # it is ("Expected back at"), next to the free-text one the text options share.
        self.typed = {}
        for option in target.options:
            if option.get("needs_value") and value_type(option) != TEXT:
                name = f"value_{option['value']}"
                self.fields[name] = _typed_field(option)
                self.typed[name] = option
        texts = [value_label(o) for o in target.options if _text_value(o)]
        if texts:
            self.fields["value"].help_text = "Needed for: " + ", ".join(texts)
        elif self.typed:
            del self.fields["value"]
        self.order_fields(["expected_state", "option", *self.typed, "value", "rationale"])

    def clean(self):
        """The chosen option's value, from its own input, checked as its type (the service
        checks the same again, for the API: ``workflows/values.py``)."""
        data = super().clean()
        typed = {name: data.pop(name, "") for name in self.typed}
        chosen = next((o for o in self.target.options if o["value"] == data.get("option")), None)
        if chosen is None:
            return data
        name = f"value_{chosen['value']}"
        field = name if name in self.typed else "value"
        raw = typed.get(name) or data.get("value", "")
        try:
            data["value"] = option_value_clean(chosen, raw, field=field)
        except InvalidInputError as exc:
            self.add_error(field if field in self.fields else None, exc.detail)
        return data


def _text_value(option: dict) -> bool:
    return bool(option.get("needs_value")) and value_type(option) == TEXT


def _typed_field(option: dict) -> forms.Field:
    kind = value_type(option)
    common = {
        "required": False,
        "label": value_label(option),
        "help_text": f"For “{option['label']}”.",
    }
    if kind == DATETIME:
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if kind == QUANTITY:
        return forms.CharField(
            widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}), **common
        )
    if kind == LINE:
        codes = list(Line.objects.order_by("code").values_list("code", flat=True))
        return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in codes)], **common)
    return forms.CharField(max_length=200, **common)


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
