from rest_framework import serializers

from ..models import Job, Line, Lot, Order

VIEW_ORDER = "coordination.view_order"


class LineSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")

    class Meta:
        model = Line
        fields = ["code", "name", "site", "status", "status_reason", "status_since", "families"]


class OrderSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    customer = serializers.CharField(source="customer.code")
    customer_tier = serializers.CharField(source="customer.get_tier_display")
    item = serializers.CharField(source="item.code")

    class Meta:
        model = Order
        fields = [
            "number",
            "site",
            "customer",
            "customer_tier",
            "item",
            "quantity",
            "due_at",
            "priority",
            "status",
            "updated_at",
        ]


class JobSerializer(serializers.ModelSerializer):
    order = serializers.CharField(
        source="order.number",
        allow_null=True,
        help_text="the order's number; null for a role that may not read orders (maintenance)",
    )
    line = serializers.CharField(source="line.code")
    item = serializers.CharField(source="item.code")

    class Meta:
        model = Job
        fields = [
            "number",
            "order",
            "line",
            "item",
            "quantity",
            "sequence",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "good_quantity",
            "scrap_quantity",
            "status",
        ]

    def to_representation(self, job):
        data = super().to_representation(job)
        request = self.context.get("request")
        if request is not None and not request.user.has_perm(VIEW_ORDER):
            data["order"] = None  # the same rule as GET /orders/: maintenance reads no orders
        return data


class LotSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code")
    location = serializers.CharField(source="location.code")
    site = serializers.CharField(source="location.site.code")
    job = serializers.CharField(source="job.number", allow_null=True, default=None)

    class Meta:
        model = Lot
        fields = [
            "code",
            "item",
            "quantity",
            "location",
            "site",
            "job",
            "produced_at",
            "status",
            "hold_reason",
        ]
