"""Exceptions API: list/read with filters, and the actions (by id or by correlation key)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from coordination.models import StateChange

from .. import selectors, services
from ..errors import InvalidInputError
from ..models import ExceptionCase, RootCause
from . import serializers as s


def _act(request, name: str, case_id) -> ExceptionCase:
    """Validate the action's input, run its service; the same rules as the pages."""
    data = s.INPUTS[name](data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    common = {"case_id": case_id, "actor": request.user, "via": StateChange.Via.API}
    try:
        if name == "acknowledge":
            return services.case_acknowledge(**common, expected_state=v.get("expected_state"))
        if name == "dismiss":
            return services.case_dismiss(
                **common, reason=v["reason"], expected_state=v.get("expected_state")
            )
        if name == "resolve":
            return services.case_resolve(
                **common,
                root_cause_id=v["root_cause"],
                note=v["note"],
                confirm_active=v["confirm_active"],
                expected_state=v.get("expected_state"),
            )
        return services.case_assign(
            **common,
            user=v.get("user"),
            group=v.get("group"),
            expected_owner=v.get("expected_owner"),
        )
    except InvalidInputError as exc:
        # Bad input is a 400 naming the field, like the serializer's own errors.
        raise ValidationError({exc.field: [exc.detail]}) from None


FILTERS = [
    OpenApiParameter("status", str, description="open, acknowledged, resolved, dismissed, "
                     "active (open+acknowledged); comma-separated"),
    OpenApiParameter("kind", str, description="downtime, shortage, labour, quality_hold, "
                     "order_change, scrap"),
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
    serializer_class = s.ExceptionCaseSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        try:
            return selectors.case_list(user=self.request.user, params=self.request.query_params)
        except InvalidInputError as exc:
            raise ValidationError({exc.field: [exc.detail]}) from None

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.ExceptionCaseDetailSerializer
        return s.ExceptionCaseSerializer

    def _do(self, request, pk, name):
        case = _act(request, name, pk)
        case = selectors.case_list(user=request.user, params={}).get(pk=case.pk)
        return Response(s.ExceptionCaseSerializer(case, context={"request": request}).data)

    @extend_schema(request=s.AcknowledgeInput, responses=s.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request, pk=None):
        return self._do(request, pk, "acknowledge")

    @extend_schema(request=s.ResolveInput, responses=s.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def resolve(self, request, pk=None):
        return self._do(request, pk, "resolve")

    @extend_schema(request=s.DismissInput, responses=s.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def dismiss(self, request, pk=None):
        return self._do(request, pk, "dismiss")

    @extend_schema(request=s.AssignInput, responses=s.ExceptionCaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def assign(self, request, pk=None):
        return self._do(request, pk, "assign")


class ByKeyActionView(APIView):
    """Act on the open exception of a correlation key (kind + key): an MES keeps no ids."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.ByKeyInput, responses=s.ExceptionCaseSerializer)
    def post(self, request, action: str):
        target = s.ByKeyInput(data=request.data)
        target.is_valid(raise_exception=True)
        try:
            case = services.case_by_key(**target.validated_data)
        except InvalidInputError as exc:
            raise ValidationError({exc.field: [exc.detail]}) from None
        services.case_authorize(request.user, case)
        case = _act(request, action, case.pk)
        case = selectors.case_list(user=request.user, params={}).get(pk=case.pk)
        return Response(s.ExceptionCaseSerializer(case, context={"request": request}).data)


class RootCauseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The active root-cause taxonomy (category → cause) for resolving."""

    queryset = RootCause.objects.filter(active=True, category__active=True).select_related(
        "category"
    )
    serializer_class = s.RootCauseSerializer
    pagination_class = None
