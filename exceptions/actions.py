"""The people's actions on exceptions, one table for the pages and the API (``kernel.actions``).

``case_actions_offered`` decides once which actions an exception offers in its state; the
board rows, the exception page and the API all follow it.
"""

from kernel.actions import Action, ActionTable

from . import services
from .api import serializers
from .forms import AcknowledgeForm, AssignForm, DismissForm, ResolveForm
from .models import OPEN_STATES, CaseStatus, ExceptionCase


def _still_open(case) -> bool:
    # Board rows are plain values, not models: the state, not ``is_open``.
    return case.status in OPEN_STATES


CASE_ACTIONS = ActionTable(
    "case_id",
    {
        "acknowledge": Action(
            perform=services.case_acknowledge,
            form=AcknowledgeForm,
            input=serializers.AcknowledgeInput,
            done=lambda case: f"#{case.pk} acknowledged.",
            when=lambda case: case.status == CaseStatus.OPEN,
        ),
        "assign": Action(
            perform=services.case_assign,
            form=AssignForm,
            input=serializers.AssignInput,
            done=lambda case: f"#{case.pk} assigned.",
            when=_still_open,
        ),
        "resolve": Action(
            perform=services.case_resolve,
            form=ResolveForm,
            input=serializers.ResolveInput,
            done=lambda case: f"#{case.pk} resolved.",
            when=_still_open,
        ),
        "dismiss": Action(
            perform=services.case_dismiss,
            form=DismissForm,
            input=serializers.DismissInput,
            done=lambda case: f"#{case.pk} dismissed.",
            when=_still_open,
        ),
    },
)


def case_actions_offered(case: ExceptionCase) -> list[str]:
    """The actions ``case`` offers in its state, in button order (none once closed)."""
    return CASE_ACTIONS.offered(case)
