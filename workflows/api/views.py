"""Workflows API: my inbox, a task, its actions (same rules as the pages), decisions."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.response import Response

from coordination.models import StateChange
from plantcoord.filters import FilterError, integer_param

from .. import selectors, services
from ..errors import InvalidInputError
from ..models import Decision, Task
from . import serializers as s


class ViewPermission(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}
    perms_map["POST"] = ["%(app_label)s.view_%(model_name)s"]  # acting is checked per task


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``GET /tasks/``: my inbox (my tasks and my groups' unclaimed ones, overdue first)."""

    serializer_class = s.TaskSerializer
    permission_classes = [ViewPermission]
    queryset = Task.objects.select_related("owner_group", "assignee")
    pagination_class = None  # the inbox is one array (at most 200, overdue first)

    def get_queryset(self):
        # A detail sees no more than the reader may: another group's task is a 404, as if
        # absent. Acting on one is a 403 naming who may (the services check it).
        return super().get_queryset().filter(selectors.task_readable_q(self.request.user))

    def list(self, request):
        tasks = selectors.inbox_tasks(user=request.user)
        return Response(self.get_serializer(tasks, many=True).data)

    def _act(self, request, pk, name):
        data = s.INPUTS[name](data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        common = {"task_id": pk, "actor": request.user}
        try:
            if name == "complete":
                decision = services.task_complete(**common, via=StateChange.Via.API, **v)
                ctx = self.get_serializer_context()
                return Response(s.DecisionSerializer(decision, context=ctx).data, status=201)
            if name == "claim":
                services.task_claim(**common, via=StateChange.Via.API, **v)
            elif name == "release":
                services.task_release(**common, via=StateChange.Via.API, **v)
            elif name == "pause":
                services.task_pause(**common, reason=v["reason"])
            elif name == "resume":
                services.task_resume(**common)
            else:
                services.task_note(**common, note=v["note"])
        except InvalidInputError as exc:
            raise ValidationError({exc.field: [exc.detail]}) from None
        task = selectors.task_get(pk=pk)
        return Response(s.TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ExpectedStateInput, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.ExpectedStateInput)
    def claim(self, request, pk=None):
        return self._act(request, pk, "claim")

    @extend_schema(request=s.ExpectedStateInput, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.ExpectedStateInput)
    def release(self, request, pk=None):
        return self._act(request, pk, "release")

    @extend_schema(request=s.CompleteInput, responses={201: s.DecisionSerializer})
    @action(detail=True, methods=["post"], serializer_class=s.CompleteInput)
    def complete(self, request, pk=None):
        return self._act(request, pk, "complete")

    @extend_schema(request=s.PauseInput, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.PauseInput)
    def pause(self, request, pk=None):
        return self._act(request, pk, "pause")

    @extend_schema(request=s.ExpectedStateInput, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.ExpectedStateInput)
    def resume(self, request, pk=None):
        return self._act(request, pk, "resume")

    @extend_schema(request=s.NoteInput, responses=s.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.NoteInput)
    def note(self, request, pk=None):
        return self._act(request, pk, "note")


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Decisions, newest first; ``?case=<id>`` for one exception's."""

    serializer_class = s.DecisionSerializer
    permission_classes = [ViewPermission]
    queryset = Decision.objects.none()  # the model, for the schema; rows: get_queryset

    def get_queryset(self):
        qs = selectors.decision_list(user=self.request.user)
        case = self.request.query_params.get("case")
        if case:
            try:
                qs = qs.filter(case_id=integer_param(case, "case"))
            except FilterError as exc:
                detail = f"must be an exception number: {exc.message}"
                raise ValidationError({"case": [detail]}) from None

        return qs
