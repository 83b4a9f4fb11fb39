from rest_framework import serializers

from ..models import InboxEvent, OutboxDelivery


class ProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class EventResultSerializer(serializers.Serializer):
    source = serializers.CharField(allow_null=True)
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(["accepted", "duplicate", "rejected"])
    errors = ProblemSerializer(many=True, required=False)


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = EventResultSerializer(many=True)


class InboxEventSerializer(serializers.ModelSerializer):
    integration = serializers.CharField(source="integration.name", allow_null=True)

    class Meta:
        model = InboxEvent
        fields = [
            "id",
            "integration",
            "source",
            "event_id",
            "type",
            "time",
            "received_at",
            "site",
            "data",
            "status",
            "attempts",
            "error",
            "error_field",
            "processed_at",
        ]


class OutboxDeliverySerializer(serializers.ModelSerializer):
    """One message's delivery to one target."""

    target = serializers.CharField(source="target.name")
    message_id = serializers.UUIDField(source="message.key", help_text="the webhook-id")
    type = serializers.CharField(source="message.topic")
    aggregate = serializers.CharField()
    data = serializers.JSONField(source="message.payload")
    created_at = serializers.DateTimeField(source="message.created_at")

    class Meta:
        model = OutboxDelivery
        fields = [
            "id",
            "target",
            "message_id",
            "type",
            "aggregate",
            "data",
            "created_at",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status",
            "last_error",
            "delivered_at",
        ]
