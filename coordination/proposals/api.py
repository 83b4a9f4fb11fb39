"""Proposals API: read (every function), approve / reject (planners, through the action
table), ask for one on a line (202 with its id), the line's ranked priorities."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from coordination.models import Line, StateChange
from coordination.priorities import line_priorities, priorities_json
from kernel.errors import NotFoundError, PermissionDeniedError
from kernel.filters import FilterError, integer_param
from kernel.viewsets import FilteredReadViewSet, filter_parameters

from . import services
from .actions import PROPOSAL_ACTIONS
from .models import Proposal
from .serializers import (
    ApprovedSerializer,
    ApproveInput,
    ProposalSerializer,
    RejectInput,
    ResequenceInput,
)


@filter_parameters("line", "status", "case")
class ProposalViewSet(FilteredReadViewSet):
    queryset = Proposal.objects.select_related("line")
    serializer_class = ProposalSerializer
    filters = {"line": ("line__code", None), "status": ("status", Proposal.Status.values)}

    def get_queryset(self):
        queryset = super().get_queryset()
        case = self.request.query_params.get("case")
        if case:
            try:
                queryset = queryset.filter(case_id=integer_param(case, "case"))
            except FilterError as exc:
                raise ValidationError({exc.param: [exc.message]}) from None
        return queryset

    def get_object(self):
        pk = self.kwargs.get("pk", "")
        try:
            integer_param(str(pk), "id")
        except FilterError:
            raise NotFoundError(f"proposal {pk} does not exist") from None
        return super().get_object()

    def _act(self, request, name: str, pk) -> object:
        if not request.user.has_perm(services.APPROVE_PERMISSION):
            raise PermissionDeniedError(f"only planners may {name} proposals")
        try:
            key = integer_param(str(pk), "id")
        except FilterError:
            raise NotFoundError(f"proposal {pk} does not exist") from None
        return PROPOSAL_ACTIONS.api_run(name, key, request=request, via=StateChange.Via.API)

    @extend_schema(request=ApproveInput, responses=ApprovedSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def approve(self, request, pk=None):
        """Approve one alternative (planners): 409 ``proposal_stale`` when the plant changed
        since it was built (re-run it), ``proposal_closed`` when it is no longer open."""
        decision = self._act(request, "approve", pk)
        return Response(ApprovedSerializer(decision).data)

    @extend_schema(request=RejectInput, responses=ProposalSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reject(self, request, pk=None):
        """Reject (planners): the plan stays; the rationale is kept on the audit."""
        proposal = self._act(request, "reject", pk)
        return Response(ProposalSerializer(proposal).data)


LINE_CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="line code, e.g. L1")


@extend_schema(
    parameters=[LINE_CODE],
    request=ResequenceInput,
    responses={202: inline_serializer("ResequenceAccepted", {"id": drf.IntegerField(),
                                                             "status": drf.CharField()})},
)  # fmt: skip
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def line_resequence(request, code: str):
    """Ask for a proposal on a line (planners): 202 with its id; the worker builds it in
    seconds (``ready_seconds``), optionally around ``pins``."""
    if not request.user.has_perm(services.APPROVE_PERMISSION):
        raise PermissionDeniedError("only planners ask for resequencing proposals")
    data = ResequenceInput(data=request.data)
    data.is_valid(raise_exception=True)
    pins = [
        {"job": p["job"], "line": p.get("line") or None, "position": p.get("position")}
        for p in data.validated_data["pins"]
    ]
    proposal = services.proposal_request(
        line_code=code,
        actor=request.user,
        via=StateChange.Via.API,
        pins=pins,
        based_on=data.validated_data["based_on"],
    )
    return Response({"id": proposal.pk, "status": proposal.status}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    parameters=[LINE_CODE],
    responses=OpenApiResponse(description="the line's jobs, ranked, with reasons"),
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def line_priorities_view(request, code: str):
    """Run next / expedite / defer per open job of the line, each with its reasons."""
    if not request.user.has_perm("coordination.view_line"):
        raise PermissionDeniedError("your role may not read lines")
    if not Line.objects.filter(code=code).exists():
        raise NotFoundError(f"line {code} does not exist")
    rows = line_priorities(code)
    visible = request.user.has_perm("coordination.view_order")
    return Response({"line": code, "jobs": priorities_json(rows, orders_visible=visible)})
