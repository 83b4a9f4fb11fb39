"""People's actions: one table per app, two front doors (pages and API).

An action (acknowledge, resolve, claim, complete…) is written once: the service that performs
it, the form a page shows, the serializer the API documents and validates, the states it is
offered in and the message a page confirms it with. The page views and the API views both
look it up by name; neither has its own if/elif. The service locks the row once, checks who
may act and the transition, and audits.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404

from .errors import DomainError, InvalidInputError


class ActionForm(forms.Form):
    """A page's input for one action on one object (``target``: the object acted on)."""

    def __init__(self, *args, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target

    @classmethod
    def initial_for(cls, target) -> dict:
        """What the page remembers it showed, so acting on a stale page conflicts."""
        if "expected_state" in cls.base_fields:
            return {"expected_state": target.status}
        return {}


@dataclass(frozen=True)
class Action:
    perform: Callable[..., Any]  # the service: perform(<key>=pk, actor=, via=, **input)
    form: type[ActionForm]  # pages
    input: type  # the API's serializer (validated and published in the schema)
    done: Callable[[Any], str]  # the page's confirmation, from the service's result
    when: Callable[[Any], bool] = lambda target: True  # offered on ``target`` in its state


class ActionTable:
    """The actions on one kind of object; ``key`` is the services' id argument."""

    def __init__(self, key: str, actions: dict[str, Action]):
        self.key = key
        self.actions = actions

    def __getitem__(self, name: str) -> Action:
        try:
            return self.actions[name]
        except KeyError:
            raise Http404("no such action") from None

    def __contains__(self, name: str) -> bool:
        return name in self.actions

    def offered(self, target) -> list[str]:
        """Names of the actions ``target`` offers in its state, in table order: the one
        answer the pages' buttons follow (the services still check on their own)."""
        return [name for name, action in self.actions.items() if action.when(target)]

    def run(self, name: str, *, pk, actor, via: str, data: dict):
        """Perform an action on validated input; raises the service's ``DomainError``."""
        return self[name].perform(**{self.key: pk}, actor=actor, via=via, **data)

    def form(self, name: str, target, data=None) -> ActionForm:
        form_class = self[name].form
        if data is None:
            return form_class(target=target, initial=form_class.initial_for(target))
        return form_class(data, target=target)

    def submit(self, name: str, target, *, data, actor, via: str) -> "Submission":
        """The page's front door: validate the form, run the action, keep the outcome.

        Bad input lands on its field (or on the form); other domain errors (a conflict, not
        allowed) are kept to show; nothing is changed in either case.
        """
        form = self.form(name, target, data)
        if not form.is_valid():
            return Submission(form)
        try:
            result = self.run(name, pk=target.pk, actor=actor, via=via, data=form.cleaned_data)
        except InvalidInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            return Submission(form)
        except DomainError as exc:
            return Submission(form, error=exc)
        return Submission(form, ok=True, result=result, message=self[name].done(result))

    def api_run(self, name: str, pk, *, request, via: str):
        """The API's front door: the serializer validates (400 with fields), then the same
        service; its ``InvalidInputError`` becomes field errors in the one error handler."""
        serializer = self[name].input(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.run(name, pk=pk, actor=request.user, via=via, data=serializer.validated_data)


@dataclass
class Submission:
    form: ActionForm
    ok: bool = False
    result: Any = None
    error: DomainError | None = None
    message: str = ""
