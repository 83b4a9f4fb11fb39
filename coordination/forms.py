"""Forms for holds and dispositions: shape only; the rules (who, states, quantities, the
deviation's approver) are in ``coordination.quality``."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from kernel.actions import ActionForm

from .models import Line, Lot
from .quality import Disposition

STATES = [("", ""), *Lot.Status.choices]


class HoldForm(ActionForm):
    expected_state = forms.ChoiceField(choices=STATES, required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=200,
        help_text="What is wrong with it (e.g. seal integrity below spec).",
        error_messages={"required": "Say why the lot is held."},
    )
    defect_code = forms.CharField(
        max_length=40, required=False, label="Defect code", help_text="e.g. D12 (optional)."
    )


class HoldManyForm(forms.Form):
    """The hold queue's search results: hold every ticked lot with one reason."""

    lots = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one lot to hold.",
            "invalid_choice": "Lot %(value)s cannot be held (not found, or no longer holdable).",
        },
    )
    reason = HoldForm.base_fields["reason"]
    defect_code = HoldForm.base_fields["defect_code"]

    def __init__(self, *args, codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lots"].choices = [(c, c) for c in codes]


class DispositionForm(ActionForm):
    expected_state = forms.ChoiceField(choices=STATES, required=False, widget=forms.HiddenInput)
    disposition = forms.ChoiceField(
        choices=Disposition.CHOICES,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a disposition.",
            "invalid_choice": "Choose release, rework, scrap or use as is.",
        },
    )
    rationale = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: kept on the lot's audit trail and sent with the decision.",
        error_messages={"required": "Give the rationale for the disposition."},
    )
    quantity = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=3,
        help_text="Leave empty for the whole lot; less splits it (the rest stays on hold).",
        error_messages={"invalid": "Enter a number, e.g. 40 or 12.5."},
    )
    rework_line = forms.ChoiceField(
        required=False, label="Rework on line", help_text="Rework only: the line that reworks it."
    )
    deviation = forms.CharField(
        max_length=40, required=False, label="Deviation number", help_text="Use as is only."
    )
    approver = forms.ChoiceField(
        required=False,
        label="Approved by",
        help_text="Use as is only: another quality engineer, not you.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lines = Line.objects.order_by("code")
        if self.target is not None:
            lines = lines.filter(site_id=self.target.location.site_id)
        self.fields["rework_line"].choices = [("", "—"), *((x.code, str(x)) for x in lines)]
        approvers = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(
                Q(groups__permissions__codename="disposition_lot")
                | Q(user_permissions__codename="disposition_lot")
                | Q(is_superuser=True)
            )
            .distinct()
            .order_by("username")
            .values_list("username", flat=True)
        )
        # The service refuses the requester; the list offers everyone who may approve, so a
        # refused choice is explained rather than impossible to make.
        self.fields["approver"].choices = [("", "—"), *((u, u) for u in approvers)]
