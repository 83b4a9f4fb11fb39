"""Workflows API: my inbox, a task, its actions (same rules as the pages), decisions."""

from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.response import Response

from coordination.models import StateChange

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

    def list(self, request):
        tasks = selectors.inbox_tasks(user=request.user)
        return Response(serializers.TaskSerializer(tasks, many=True).data)

    def _act(self, request, pk, name):
        """The action table's API door (same services and rules as the inbox pages)."""
        result = TASK_ACTIONS.api_run(name, pk, request=request, via=StateChange.Via.API)
        if isinstance(result, Decision):
            return Response(serializers.DecisionSerializer(result).data, status=201)
        return Response(serializers.TaskSerializer(selectors.task_get(pk=pk)).data)

    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def claim(self, request, pk=None):
        return self._act(request, pk, "claim")

    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def release(self, request, pk=None):
        return self._act(request, pk, "release")

    @action(detail=True, methods=["post"], serializer_class=serializers.CompleteInput)
    def complete(self, request, pk=None):
        return self._act(request, pk, "complete")

    @action(detail=True, methods=["post"], serializer_class=serializers.PauseInput)
    def pause(self, request, pk=None):
        return self._act(request, pk, "pause")

    @action(detail=True, methods=["post"], serializer_class=serializers.ExpectedStateInput)
    def resume(self, request, pk=None):
        return self._act(request, pk, "resume")

    @action(detail=True, methods=["post"], serializer_class=serializers.NoteInput)
    def note(self, request, pk=None):
        return self._act(request, pk, "note")


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Decisions, newest first; ``?case=<id>`` for one exception's."""

    serializer_class = serializers.DecisionSerializer
    permission_classes = [ViewPermission]

    def get_queryset(self):
        qs = Decision.objects.select_related("decided_by").order_by("-decided_at")
        case = self.request.query_params.get("case")
        if case:
            if not case.isdigit():
                raise ValidationError({"case": ["must be an exception number"]})
            qs = qs.filter(case_id=int(case))
        return qs
