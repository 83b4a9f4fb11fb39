"""``POST /api/v1/events`` (CloudEvents in), the inbox and the outbox read APIs for people."""

import json

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.permissions import RoleModelPermissions
from kernel.viewsets import FilteredReadViewSet

from ..authentication import IntegrationKeyAuthentication, IntegrationPrincipal
from ..cloudevents import BinaryModeError, binary_event, binary_field, is_binary
from ..delivery import delivery_retry
from ..models import InboxEvent, OutboxDelivery
from ..services import events_accept, inbox_event_reprocess
from . import serializers

MAX_BODY = 1024 * 1024
MAX_BATCH = 1000
SINGLE_TYPES = ("application/cloudevents+json", "application/json")
BATCH_TYPE = "application/cloudevents-batch+json"


class IsIntegration(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, IntegrationPrincipal)


def _problem(status_code: int, code: str, detail: str, **extra) -> Response:
    return Response({"code": code, "detail": detail, "extra": extra}, status=status_code)


def _body_read(request, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body. A chunked body (``Transfer-Encoding: chunked``, no
    ``Content-Length``) is decoded by gunicorn, which marks the stream as ending by itself
    (``wsgi.input_terminated``); Django reads such a body as empty, so read the stream."""
    environ = getattr(request, "environ", {})
    if not request.META.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
        return environ["wsgi.input"].read(limit)
    return request.read(limit)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


EXAMPLE = {
    "specversion": "1.0",
    "id": "mes-000123",
    "source": "mes/riverside/L1",
    "type": "equipment.status",
    "time": "2026-11-27T08:14:00Z",
    "data": {"line": "L1", "status": "down", "reason": "filler jam"},
}


class EventsView(APIView):
    authentication_classes = [IntegrationKeyAuthentication]
    permission_classes = [IsIntegration]
    parser_classes = []  # the body is read and checked here, size first

    @extend_schema(
        operation_id="events_ingest",
        summary="Send one CloudEvent or a batch",
        description=(
            "CloudEvents 1.0 over the HTTP protocol binding. Structured mode: "
            "`application/cloudevents+json` or `application/json`: one event (202 accepted, "
            "200 duplicate, 400 rejected, 403 type not allowed for the key). "
            "`application/cloudevents-batch+json`: up to 1,000 events, 200 with one result "
            "per event in order. Binary mode: the attributes as `ce-specversion`, `ce-id`, "
            "`ce-source`, `ce-type`, `ce-time`… headers (percent-encoded) and the `data` as "
            "the JSON body (`Content-Type: application/json`, or none); answered as a single "
            "structured event, errors naming the header (`ce-type`) or `body`. The `data` "
            "schema of each type is in components: `EventData.<type>`. Authenticate with "
            "`Authorization: Bearer <integration key>`."
        ),
        request={"application/cloudevents+json": {"type": "object"}},
        responses={
            202: serializers.EventResultSerializer,
            200: serializers.BatchResultSerializer,
            400: OpenApiResponse(description="rejected, with errors naming each field"),
            401: OpenApiResponse(description="missing, unknown or revoked key"),
            403: OpenApiResponse(description="event type not allowed for this key"),
            413: OpenApiResponse(description="body over 1 MiB"),
            415: OpenApiResponse(description="unsupported content type"),
        },
        examples=[OpenApiExample("equipment down", value=EXAMPLE, request_only=True)],
        tags=["events"],
    )
    def post(self, request):
        media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        binary = is_binary(request.META, media_type)
        if not binary and media_type not in (*SINGLE_TYPES, BATCH_TYPE):
            return _problem(
                415,
                "unsupported_media_type",
                f"content type must be {', '.join((*SINGLE_TYPES, BATCH_TYPE))}",
                content_type=media_type,
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return _problem(413, "payload_too_large", f"body is over {MAX_BODY} bytes")
        body = _body_read(request._request, MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _problem(413, "payload_too_large", f"body is over {MAX_BODY} bytes")
        if binary:
            return self._binary(request, body, media_type)
        try:
            payload = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            return _problem(400, "malformed_json", f"body is not valid JSON: {exc}")
        integration = request.user.integration
        if media_type == BATCH_TYPE:
            return self._batch(integration, payload)
        if isinstance(payload, list):
            return _problem(
                400,
                "not_an_event",
                f"a single event must be a JSON object; send a list as {BATCH_TYPE}",
            )
        return self._single(integration, payload)

    def _single(self, integration, payload, *, field_name=None) -> Response:
        [result] = events_accept(integration=integration, raw_events=[payload])
        code = {"accepted": 202, "duplicate": 200}.get(result["status"])
        if code is None:
            code = 403 if result.pop("forbidden", False) else 400
        if field_name is not None:
            for error in result.get("errors", []):
                error["field"] = field_name(error["field"])
        return Response(result, status=code)

    def _binary(self, request, body: bytes, media_type: str) -> Response:
        """Binary content mode: the same acceptance as a structured event; only the names
        in errors differ (the header or the body the value came in)."""
        try:
            event = binary_event(request.META, body, media_type)
        except BinaryModeError as exc:
            return _problem(exc.status, exc.code, exc.detail, field=exc.field)
        return self._single(request.user.integration, event, field_name=binary_field)

    def _batch(self, integration, payload) -> Response:
        if not isinstance(payload, list):
            return _problem(400, "not_a_batch", "a batch must be a JSON array of events")
        if not payload:
            return _problem(400, "empty_batch", "a batch must hold at least one event")
        if len(payload) > MAX_BATCH:
            return _problem(
                400,
                "batch_too_large",
                f"a batch holds at most {MAX_BATCH} events",
                size=len(payload),
            )
        results = events_accept(integration=integration, raw_events=payload)
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for result in results:
            counts[result["status"]] += 1
        return Response({**counts, "results": results}, status=status.HTTP_200_OK)


class InboxEventViewSet(FilteredReadViewSet):
    """What arrived and what became of it; ``?status=failed`` lists parked events."""

    queryset = InboxEvent.objects.select_related("integration")
    serializer_class = serializers.InboxEventSerializer
    filters = {
        "status": ("status", InboxEvent.Status.values),
        "type": ("type", None),
        "source": ("source", None),
        "integration": ("integration__name", None),
    }

    @extend_schema(request=None, responses=serializers.InboxEventSerializer)
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        """Queue a failed event again once its cause is fixed (admins)."""
        event = self.get_object()
        event = inbox_event_reprocess(event_id=event.pk, actor=request.user, via="api")
        return Response(self.get_serializer(event).data)


class OutboxPermission(RoleModelPermissions):
    """Reading needs ``view_outboxdelivery``; the retry action (a POST) needs
    ``change_outboxdelivery`` (supervisors and admins), not ``add``."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class OutboxDeliveryViewSet(FilteredReadViewSet):
    """What left (or must leave) for ERP, MES and webhooks; ``?status=dead`` lists the parked
    deliveries a person retries."""

    queryset = OutboxDelivery.objects.select_related("message", "target").order_by("-id")
    serializer_class = serializers.OutboxDeliverySerializer
    permission_classes = [OutboxPermission]
    filters = {
        "status": ("status", OutboxDelivery.Status.values),
        "target": ("target__name", None),
        "type": ("message__topic", None),
        "aggregate": ("aggregate", None),
    }

    @extend_schema(
        request=None,
        responses={
            200: serializers.OutboxDeliverySerializer,
            403: OpenApiResponse(description="only supervisors and admins retry"),
            404: OpenApiResponse(description="no such delivery"),
            409: OpenApiResponse(description="the delivery is not dead"),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send a dead delivery again (a fresh set of attempts, audited)."""
        delivery = delivery_retry(delivery_id=pk, actor=request.user, via="api")
        return Response(self.get_serializer(self.get_queryset().get(pk=delivery.pk)).data)
