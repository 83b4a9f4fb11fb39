from rest_framework import serializers

from coordination.visibility import CONTEXT_TEXT, picture_redact

from ..models import Decision, Task


def _reader(serializer):
    request = serializer.context.get("request")
    return request.user if request is not None else None


class TaskSerializer(serializers.ModelSerializer):
    # A group's task nobody has claimed has no assignee; a person's task may have no group.
    owner_group = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Plain strings: a choice field here would collide with other apps' "status" enums.
    status = serializers.CharField(read_only=True, help_text="open, claimed, done, cancelled")

    class Meta:
        model = Task
        fields = [
            "id", "case", "title", "instructions", "status", "owner_group", "assignee",
            "priority", "due_at", "paused_at", "pause_reason", "options", "context",
            "created_at", "claimed_at", "done_at",
        ]  # fmt: skip

    def to_representation(self, task):
        data = super().to_representation(task)
        user = _reader(self)
        if user is not None:  # orders, customers, lots: only for roles that read them
            data["context"] = picture_redact(user, data["context"], text_keys=CONTEXT_TEXT)
        return data


class DecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Decision
        fields = [
            "id", "task", "case", "decided_by", "decided_at", "options", "chosen",
            "chosen_label", "value", "rationale", "context_shown", "predicted_completion_at",
            "predicted_effect",
        ]  # fmt: skip

    def to_representation(self, decision):
        data = super().to_representation(decision)
        user = _reader(self)
        if user is not None:
            data["context_shown"] = picture_redact(
                user, data["context_shown"], text_keys=CONTEXT_TEXT
            )
        return data


class ExpectedStateInput(serializers.Serializer):
    expected_state = serializers.CharField(
        max_length=20, required=False, help_text="The state you saw (open, claimed): else 409."
    )


class CompleteInput(ExpectedStateInput):
    option = serializers.CharField(max_length=40)
    value = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    rationale = serializers.CharField(max_length=4000)
    predicted_completion_at = serializers.DateTimeField(required=False, allow_null=True)
    predicted_effect = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )


class PauseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=300)
