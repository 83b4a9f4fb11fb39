"""Page forms for proposals: shape only; the rules are in ``coordination.proposals.services``."""

from django import forms

from kernel.actions import ActionForm


class ApproveForm(ActionForm):
    alternative = forms.ChoiceField(choices=[])
    rationale = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this alternative (kept with the decision).",
        error_messages={"required": "Give the rationale for your choice."},
    )

    def __init__(self, *args, target=None, **kwargs):
        super().__init__(*args, target=target, **kwargs)
        alternatives = getattr(target, "alternatives", None) or []
        self.fields["alternative"].choices = [(a["key"], a["label"]) for a in alternatives]

    @classmethod
    def initial_for(cls, target) -> dict:
        first = (getattr(target, "alternatives", None) or [{}])[0]
        return {"alternative": first.get("key", "")}


class RejectForm(ActionForm):
    rationale = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the plan stays as it is.",
        error_messages={"required": "Say why you reject it."},
    )


class PinForm(forms.Form):
    """Re-optimise around one pinned job: to a line, a position, or both."""

    job = forms.CharField(max_length=40)
    line = forms.CharField(max_length=20, required=False, help_text="Move it to this line.")
    position = forms.IntegerField(
        min_value=1, max_value=1000, required=False, help_text="Its place in the line's sequence."
    )

    def clean(self):
        data = super().clean()
        if not data.get("line") and not data.get("position"):
            raise forms.ValidationError("Give a line, a position or both.")
        return data
