"""Exceptions API: list/read with filters, and the actions (by id or by correlation key)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from coordination.models import StateChange

from .. import selectors, services
from ..actions import CASE_ACTIONS
from ..models import ExceptionCase, RootCause
from . import serializers


def _act(request, name: str, case_id) -> Response:
    """The action table's API door (same services and rules as the pages)."""
    case = CASE_ACTIONS.api_run(name, case_id, request=request, via=StateChange.Via.API)
    case = selectors.case_list(user=request.user).get(pk=case.pk)
    return Response(serializers.ExceptionCaseSerializer(case, context={"request": request}).data)


FILTERS = [
    OpenApiParameter("status", str, description="open, acknowledged, resolved, dismissed, "
                     "active (open+acknowledged); comma-separated"),
    OpenApiParameter("kind", str, description="downtime, shortage, labour, quality_hold, "
                     "order_change, scrap, sync_divergence"),
    OpenApiParameter("severity", str, description="low, medium, high, critical (or 1-4)"),
    OpenApiParameter("line", str, description="line code"),
    OpenApiParameter("since", str, description="changed at or after (ISO 8601)"),
]  # fmt: skip


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class ExceptionCaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Exceptions of the kinds your role acts on (supervisors: all)."""

    queryset = ExceptionCase.objects.all()
    serializer_class = serializers.ExceptionCaseSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        filters = selectors.CaseFilters.parse(self.request.query_params, strict=True)
        return selectors.case_list(user=self.request.user, filters=filters)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.ExceptionCaseDetailSerializer
        return serializers.ExceptionCaseSerializer

    @extend_schema(
        request=serializers.AcknowledgeInput, responses=serializers.ExceptionCaseSerializer
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request, pk=None):
        return _act(request, "acknowledge", pk)

    @extend_schema(request=serializers.ResolveInput, responses=serializers.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def resolve(self, request, pk=None):
        return _act(request, "resolve", pk)

    @extend_schema(request=serializers.DismissInput, responses=serializers.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def dismiss(self, request, pk=None):
        return _act(request, "dismiss", pk)

    @extend_schema(request=serializers.AssignInput, responses=serializers.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def assign(self, request, pk=None):
        return _act(request, "assign", pk)


class ByKeyActionView(APIView):
    """Act on the open exception of a correlation key (kind + key): an MES keeps no ids."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.ByKeyInput, responses=serializers.ExceptionCaseSerializer)
    def post(self, request, action: str):
        target = serializers.ByKeyInput(data=request.data)
        target.is_valid(raise_exception=True)
        case = selectors.case_by_key(**target.validated_data)
        services.case_authorize(request.user, case)
        return _act(request, action, case.pk)


class RootCauseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The active root-cause taxonomy (category → cause) for resolving."""

    queryset = RootCause.objects.filter(active=True, category__active=True).select_related(
        "category"
    )
    serializer_class = serializers.RootCauseSerializer
    pagination_class = None
