"""Workflows API: my inbox, a task, its actions (same rules as the pages), decisions."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.response import Response

from coordination.models import StateChange
from kernel.filters import FilterError, integer_param

from .. import selectors
from ..actions import TASK_ACTIONS
from ..models import Decision, Task
from . import serializers


class ViewPermission(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}
    perms_map["POST"] = ["%(app_label)s.view_%(model_name)s"]  # acting is checked per task


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``GET /tasks/``: my inbox (my tasks and my groups' unclaimed ones, overdue first)."""

    serializer_class = serializers.TaskSerializer
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
        """The action table's API door (same services and rules as the inbox pages)."""
        result = TASK_ACTIONS.api_run(name, pk, request=request, via=StateChange.Via.API)
        context = self.get_serializer_context()
        if isinstance(result, Decision):
            return Response(
                serializers.DecisionSerializer(result, context=context).data, status=201
            )
        task = selectors.task_get(pk=pk)
        return Response(serializers.TaskSerializer(task, context=context).data)

    @extend_schema(request=serializers.ExpectedStateInput, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def claim(self, request, pk=None):
        return self._act(request, pk, "claim")

    @extend_schema(request=serializers.ExpectedStateInput, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def release(self, request, pk=None):
        return self._act(request, pk, "release")

    @extend_schema(
        request=serializers.CompleteInput, responses={201: serializers.DecisionSerializer}
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.CompleteInput)
    def complete(self, request, pk=None):
        return self._act(request, pk, "complete")

    @extend_schema(request=serializers.PauseInput, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.PauseInput)
    def pause(self, request, pk=None):
        return self._act(request, pk, "pause")

    @extend_schema(request=serializers.ExpectedStateInput, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def resume(self, request, pk=None):
        return self._act(request, pk, "resume")

    @extend_schema(request=serializers.NoteInput, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.NoteInput)
    def note(self, request, pk=None):
        return self._act(request, pk, "note")


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Decisions, newest first; ``?case=<id>`` for one exception's."""

    serializer_class = serializers.DecisionSerializer
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
