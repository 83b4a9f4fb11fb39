"""Read API of the operational picture: objects addressed by plant code, filterable."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from ..models import Job, Line, Lot, Order
from . import serializers


def _filters(*names: str):
    return extend_schema_view(
        list=extend_schema(
            parameters=[
                OpenApiParameter(name, str, description=f"filter by {name}") for name in names
            ]
        )
    )


class PlantReadViewSet(viewsets.ReadOnlyModelViewSet):
    """A list filterable by query parameters; unknown values are a 400 naming the field."""

    # query parameter -> (lookup, allowed values or None for free text)
    filters: dict[str, tuple[str, list[str] | None]] = {}

    def get_queryset(self):
        queryset = super().get_queryset()
        errors = {}
        for param, (lookup, allowed) in self.filters.items():
            value = self.request.query_params.get(param)
            if value is None or value == "":
                continue
            if allowed is not None and value not in allowed:
                errors[param] = [f"must be one of {', '.join(allowed)}"]
                continue
            queryset = queryset.filter(**{lookup: value})
        if errors:
            raise ValidationError(errors)
        return queryset


@_filters("site", "status")
class LineViewSet(PlantReadViewSet):
    queryset = Line.objects.select_related("site")
    serializer_class = serializers.LineSerializer
    lookup_field = "code"
    filters = {"site": ("site__code", None), "status": ("status", Line.Status.values)}


@_filters("site", "line", "status", "customer")
class OrderViewSet(PlantReadViewSet):
    queryset = Order.objects.select_related("site", "customer", "item")
    serializer_class = serializers.OrderSerializer
    lookup_field = "number"
    filters = {
        "site": ("site__code", None),
        "line": ("jobs__line__code", None),
        "status": ("status", Order.Status.values),
        "customer": ("customer__code", None),
    }

    def get_queryset(self):
        return super().get_queryset().distinct()


@_filters("site", "line", "status", "order")
class JobViewSet(PlantReadViewSet):
    queryset = Job.objects.select_related("order", "line", "item")
    serializer_class = serializers.JobSerializer
    lookup_field = "number"
    filters = {
        "site": ("line__site__code", None),
        "line": ("line__code", None),
        "status": ("status", Job.Status.values),
        "order": ("order__number", None),
    }

    def get_queryset(self):
        if self.request.query_params.get("order") and not self.request.user.has_perm(
            serializers.VIEW_ORDER
        ):
            # Filtering by order would tell which jobs serve it: the same rule as /orders/.
            raise PermissionDenied("order: your role may not read orders")
        return super().get_queryset()


@_filters("site", "line", "status", "item")
class LotViewSet(PlantReadViewSet):
    queryset = Lot.objects.select_related("item", "location__site", "job")
    serializer_class = serializers.LotSerializer
    lookup_field = "code"
    filters = {
        "site": ("location__site__code", None),
        "line": ("job__line__code", None),
        "status": ("status", Lot.Status.values),
        "item": ("item__code", None),
    }
