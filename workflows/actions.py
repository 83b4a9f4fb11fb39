"""The people's task actions, one table for the inbox pages and the API (``kernel.actions``)."""

from kernel.actions import Action, ActionTable

from . import task_actions
from .api import serializers
from .forms import ClaimForm, CompleteForm, NoteForm, PauseForm
from .models import Task

TASK_ACTIONS = ActionTable(
    "task_id",
    {
        "claim": Action(
            perform=task_actions.task_claim,
            form=ClaimForm,
            input=serializers.ExpectedStateInput,
            done=lambda task: f"You took “{task.title}”.",
            when=lambda task: task.status == Task.Status.OPEN,
        ),
        "release": Action(
            perform=task_actions.task_release,
            form=ClaimForm,
            input=serializers.ExpectedStateInput,
            done=lambda task: f"“{task.title}” is back with its group.",
            when=lambda task: task.status == Task.Status.CLAIMED and bool(task.owner_group_id),
        ),
        "complete": Action(
            perform=task_actions.task_complete,
            form=CompleteForm,
            input=serializers.CompleteInput,
            done=lambda decision: f"Decided “{decision.chosen_label}” on “{decision.task.title}”.",
        ),
        "pause": Action(
            perform=task_actions.task_pause,
            form=PauseForm,
            input=serializers.PauseInput,
            done=lambda task: f"“{task.title}” paused: the clock is stopped.",
            when=lambda task: task.is_active and not task.paused_at,
        ),
        "resume": Action(
            perform=task_actions.task_resume,
            form=ClaimForm,
            input=serializers.ExpectedStateInput,
            done=lambda task: f"“{task.title}” resumed.",
            when=lambda task: task.is_active and bool(task.paused_at),
        ),
        "note": Action(
            perform=task_actions.task_note,
            form=NoteForm,
            input=serializers.NoteInput,
            done=lambda task: "Progress noted.",
            when=lambda task: task.is_active,
        ),
    },
)
