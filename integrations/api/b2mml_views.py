"""B2MML over HTTP: ``POST /api/v1/b2mml`` (import, integration key) and the V0600
``ProductionSchedule`` downloads of a line's sequence and an order's jobs."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from coordination.models import StateChange

from ..authentication import IntegrationKeyAuthentication, IntegrationPrincipal
from ..b2mml.export import line_schedule_xml, order_schedule_xml
from ..b2mml.importer import b2mml_import
from ..b2mml.reader import MAX_BYTES, B2mmlError
from .views import IsIntegration, _body_read, _problem

XML_TYPES = ("application/xml", "text/xml")
B2MML_XML = "application/xml"
VIEW_JOB, VIEW_ORDER = "coordination.view_job", "coordination.view_order"


class B2mmlImportView(APIView):
    authentication_classes = [IntegrationKeyAuthentication]
    permission_classes = [IsIntegration]
    parser_classes = []  # the body is the XML file itself, read here with its size first

    @extend_schema(
        operation_id="b2mml_import",
        summary="Import one B2MML file (V0600 or V0401)",
        description=(
            "The body is the XML file (`application/xml` or `text/xml`, at most 5 MiB). "
            "ProductionSchedule → orders and jobs; MaterialInformation / MaterialDefinition / "
            "MaterialLot / MaterialSubLot → items, lots and stock; ProductionPerformance → "
            "`production.progress` events in the inbox. All or nothing: 200 with what was "
            "created, updated and left unchanged, or 400 with every problem as "
            "`{path, line, reason}` and nothing written. Importing a file again changes "
            "nothing. The key must be allowed `order.changed` (schedules), `inventory.level` "
            "(material) or `production.progress` (performance)."
        ),
        request={"application/xml": {"type": "string", "format": "binary"}},
        responses={
            200: OpenApiResponse(description="imported: created / updated / unchanged counts"),
            400: OpenApiResponse(description="refused: errors with element path, line, reason"),
            401: OpenApiResponse(description="missing, unknown or revoked key"),
            403: OpenApiResponse(description="this key may not import that message"),
            413: OpenApiResponse(description="body over 5 MiB"),
            415: OpenApiResponse(description="not XML"),
        },
        tags=["b2mml"],
    )
    def post(self, request):
        media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if media_type not in XML_TYPES:
            return _problem(
                415,
                "unsupported_media_type",
                f"content type must be {' or '.join(XML_TYPES)}",
                content_type=media_type,
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BYTES:
            return _problem(413, "payload_too_large", f"body is over {MAX_BYTES} bytes")
        body = _body_read(request._request, MAX_BYTES + 1)  # never more than the limit
        try:
            result = b2mml_import(
                body, integration=request.user.integration, via=StateChange.Via.API
            )
        except B2mmlError as exc:
            return Response(
                {
                    "code": "b2mml_refused",
                    "detail": "nothing was imported: " + str(exc.problems[0]),
                    "errors": [problem.as_dict() for problem in exc.problems],
                },
                status=413 if len(body) > MAX_BYTES else 400,
            )
        return Response(result.as_dict())


class CanReadSchedule(permissions.BasePermission):
    """An integration key (ERP/MES pull the schedule), or a person who may read jobs (and
    orders, for an order's schedule)."""

    def has_permission(self, request, view):
        if isinstance(request.user, IntegrationPrincipal):
            return True
        return request.user.is_authenticated and all(
            request.user.has_perm(perm) for perm in view.needs
        )


class _ScheduleXmlView(APIView):
    authentication_classes = [
        TokenAuthentication,
        IntegrationKeyAuthentication,
        SessionAuthentication,
    ]
    permission_classes = [CanReadSchedule]
    needs: tuple[str, ...] = ()

    def _xml(self, content: bytes, filename: str) -> HttpResponse:
        response = HttpResponse(content, content_type=f"{B2MML_XML}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class LineScheduleXmlView(_ScheduleXmlView):
    needs = (VIEW_JOB,)

    @extend_schema(
        operation_id="line_schedule_xml",
        summary="A line's current sequence as a B2MML V0600 ProductionSchedule",
        description=(
            "The line's open jobs (planned, released, running) in sequence order, one "
            "`ProductionRequest` per job; validated against the V0600 XSD. Order numbers "
            "appear only for readers who may read orders."
        ),
        responses={
            (200, B2MML_XML): OpenApiResponse(description="the XML document"),
            404: OpenApiResponse(description="no such line"),
        },
        tags=["b2mml"],
    )
    def get(self, request, code: str):
        orders = isinstance(request.user, IntegrationPrincipal) or request.user.has_perm(VIEW_ORDER)
        return self._xml(line_schedule_xml(code, orders=orders), f"schedule-{code}.xml")


class OrderScheduleXmlView(_ScheduleXmlView):
    needs = (VIEW_JOB, VIEW_ORDER)

    @extend_schema(
        operation_id="order_schedule_xml",
        summary="An order's jobs as a B2MML V0600 ProductionSchedule",
        responses={
            (200, B2MML_XML): OpenApiResponse(description="the XML document"),
            404: OpenApiResponse(description="no such order"),
        },
        tags=["b2mml"],
    )
    def get(self, request, number: str):
        return self._xml(order_schedule_xml(number), f"schedule-{number}.xml")
