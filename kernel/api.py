"""The API's shared pieces: one router and the one error handler."""

from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import exception_handler

from .errors import DomainError, InvalidInputError


class Router(SimpleRouter):
    """Every ``/api/v1`` route answers with or without the trailing slash (other systems post
    to both); one router for every app, so the API has one URL convention."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


def api_exception_handler(exc, context):
    """One shape for every domain error: ``{"code", "detail", "extra"}`` with its status.

    Bad input a service found (``InvalidInputError``) answers like the serializers' own
    field errors, ``{"<field>": ["<why>"]}``, so a client reads one 400 shape.
    """
    if isinstance(exc, InvalidInputError):
        return Response({exc.field: [exc.detail]}, status=exc.status)
    if isinstance(exc, DomainError):
        return Response(
            {"code": exc.code, "detail": exc.detail, "extra": exc.extra}, status=exc.status
        )
    if isinstance(exc, ConcurrentTransition | TransitionNotAllowed):
        # Services translate these; this is the safety net so a raw FSM error never leaks.
        return Response({"code": "conflict", "detail": str(exc), "extra": {}}, status=409)
    return exception_handler(exc, context)
