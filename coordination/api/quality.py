"""API inputs for holds and dispositions: shape only; the rules are in ``coordination.quality``."""

from rest_framework import serializers

from ..models import Lot
from ..quality import Disposition


class ExpectedState(serializers.CharField):
    """The lot status the caller saw (a changed lot answers 409). A plain string in the
    schema: an enum here would collide with the other apps' ``expected_state`` enums."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            allow_blank=True,
            default="",
            help_text="the status you saw: " + ", ".join(Lot.Status.values),
            **kwargs,
        )

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and value not in Lot.Status.values:
            raise serializers.ValidationError("must be one of " + ", ".join(Lot.Status.values))
        return value


class HoldInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="why the lot is held")
    defect_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    expected_state = ExpectedState()


class DispositionInput(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=Disposition.CHOICES)
    rationale = serializers.CharField(max_length=2000)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False, allow_null=True, default=None,
        help_text="part of the lot (splits it); omit for the whole lot",
    )  # fmt: skip
    deviation = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="",
        help_text="use_as_is: the deviation number (required)",
    )  # fmt: skip
    approver = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="",
        help_text="use_as_is: username of the approver, not the requester (required)",
    )  # fmt: skip
    rework_line = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default="",
        help_text="rework: the line code that reworks it (required)",
    )  # fmt: skip
    expected_state = ExpectedState()


class LotActionResult(serializers.Serializer):
    """The lot acted on (for a partial disposition: the part split off) and the held rest."""

    lot = serializers.CharField()
    status = serializers.CharField()
    quantity = serializers.CharField()
    split_from = serializers.CharField(allow_null=True)
    rework_job = serializers.CharField(allow_null=True)
    still_on_hold = serializers.CharField(allow_null=True)
