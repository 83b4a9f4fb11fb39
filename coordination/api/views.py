"""Read API of the operational picture: objects addressed by plant code, filterable; the
quality actions on lots (hold, disposition) through the same action table as the pages."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from kernel.errors import NotFoundError, PermissionDeniedError
from kernel.viewsets import FilteredReadViewSet, filter_parameters

from .. import quality
from ..actions import LOT_ACTIONS
from ..models import Job, Line, Lot, Order, StateChange
from . import serializers
from .quality import DispositionInput, HoldInput, LotActionResult


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

    def _act(self, request, name: str, code: str, permission: str, what: str) -> Response:
        # The role first: another role learns nothing about the input or the lot (403).
        if not request.user.has_perm(permission):
            raise PermissionDeniedError(f"your role may not {what}")
        lot = Lot.objects.filter(code=code).only("pk").first()
        if lot is None:
            raise NotFoundError(f"lot {code} does not exist")
        done = LOT_ACTIONS.api_run(name, lot.pk, request=request, via=StateChange.Via.API)
        done = Lot.objects.select_related("split_from", "rework_job").get(pk=done.pk)
        return Response(
            {
                "lot": done.code,
                "status": done.status,
                "quantity": str(done.quantity),
                "split_from": done.split_from.code if done.split_from_id else None,
                "rework_job": done.rework_job.number if done.rework_job_id else None,
                "still_on_hold": str(done.split_from.quantity) if done.split_from_id else None,
            }
        )

    @extend_schema(request=HoldInput, responses=LotActionResult)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def hold(self, request, code=None):
        """Put a lot on hold (supervisor, quality): ``reason`` required, ``defect_code``."""
        return self._act(request, "hold", code, quality.HOLD_PERMISSION, "put lots on hold")

    @extend_schema(request=DispositionInput, responses=LotActionResult)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def disposition(self, request, code=None):
        """Disposition a held lot (quality): release, rework, scrap or use_as_is; a partial
        ``quantity`` splits it. 400 names the field, 403 another role, 409 a lot not on hold."""
        return self._act(
            request, "disposition", code, quality.DISPOSITION_PERMISSION, "disposition lots"
        )
