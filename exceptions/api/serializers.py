from rest_framework import serializers

from coordination.visibility import picture_redact, summary_redact

from ..models import ExceptionCase, RootCause


class ExceptionCaseSerializer(serializers.ModelSerializer):
    severity = serializers.CharField(source="get_severity_display")
    severity_level = serializers.IntegerField(source="severity")
    correlation_key = serializers.CharField(source="key")
    # Not every exception has a line (a shortage is per item and site) or a site.
    line = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    site = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    owner = serializers.SerializerMethodField()
    root_cause = serializers.SerializerMethodField()
    is_repeat = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionCase
        fields = [
            "id",
            "kind",
            "severity",
            "severity_level",
            "status",
            "title",
            "correlation_key",
            "site",
            "line",
            "condition_active",
            "event_count",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "dismissed_at",
            "updated_at",
            "owner",
            "root_cause",
            "resolution_note",
            "dismiss_reason",
            "is_repeat",
            "repeat_of",
            "impact_summary",
        ]

    def get_owner(self, obj) -> dict | None:
        if obj.owner_user_id:
            return {"user": obj.owner_user.get_username()}
        if obj.owner_group_id:
            return {"group": obj.owner_group.name}
        return None

    def get_root_cause(self, obj) -> dict | None:
        if not obj.root_cause_id:
            return None
        return {
            "id": obj.root_cause_id,
            "category": obj.root_cause.category.name,
            "cause": obj.root_cause.name,
        }

    def get_is_repeat(self, obj) -> bool:
        return obj.repeat_of_id is not None

    def to_representation(self, case):
        data = super().to_representation(case)
        request = self.context.get("request")
        if request is not None:  # orders, customers, lots: only for roles that read them
            data["impact_summary"] = summary_redact(
                request.user, data["impact_summary"], case.impact
            )
            if "impact" in data:
                data["impact"] = picture_redact(request.user, data["impact"])
        return data


class ExceptionCaseDetailSerializer(ExceptionCaseSerializer):
    class Meta(ExceptionCaseSerializer.Meta):
        fields = [*ExceptionCaseSerializer.Meta.fields, "impact", "severity_reasons", "facts"]


class RootCauseSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")

    class Meta:
        model = RootCause
        fields = ["id", "category", "name"]


STATES = [s for s in ExceptionCase.Status.values]


class AcknowledgeInput(serializers.Serializer):
    expected_state = serializers.ChoiceField(choices=STATES, required=False)


class DismissInput(AcknowledgeInput):
    reason = serializers.CharField(max_length=500)


class ResolveInput(AcknowledgeInput):
    root_cause = serializers.IntegerField(help_text="id from /api/v1/root-causes/")
    note = serializers.CharField(max_length=2000)
    confirm_active = serializers.BooleanField(
        default=False, help_text="required true while the condition is still active"
    )


class AssignInput(serializers.Serializer):
    user = serializers.CharField(required=False, allow_blank=False, help_text="username or id")
    group = serializers.CharField(required=False, allow_blank=False, help_text="role name")
    expected_owner = serializers.CharField(
        required=False, allow_blank=True, help_text="user:<id>, group:<id> or empty"
    )


class ByKeyInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExceptionCase._meta.get_field("kind").choices)
    key = serializers.CharField(max_length=120)
