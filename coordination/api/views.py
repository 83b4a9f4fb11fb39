"""Read API of the operational picture: objects addressed by plant code, filterable."""

from rest_framework.exceptions import PermissionDenied

from kernel.viewsets import FilteredReadViewSet, filter_parameters

from ..models import Job, Line, Lot, Order
from . import serializers


@filter_parameters("site", "status")
class LineViewSet(FilteredReadViewSet):
    queryset = Line.objects.select_related("site")
    serializer_class = serializers.LineSerializer
    lookup_field = "code"
    filters = {"site": ("site__code", None), "status": ("status", Line.Status.values)}


@filter_parameters("site", "line", "status", "customer")
class OrderViewSet(FilteredReadViewSet):
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


@filter_parameters("site", "line", "status", "order")
class JobViewSet(FilteredReadViewSet):
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


@filter_parameters("site", "line", "status", "item")
class LotViewSet(FilteredReadViewSet):
    queryset = Lot.objects.select_related("item", "location__site", "job")
    serializer_class = serializers.LotSerializer
    lookup_field = "code"
    filters = {
        "site": ("location__site__code", None),
        "line": ("job__line__code", None),
        "status": ("status", Lot.Status.values),
        "item": ("item__code", None),
    }
