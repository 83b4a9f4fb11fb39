from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework.response import Response
from rest_framework.views import exception_handler

from coordination.errors import DomainError


def api_exception_handler(exc, context):
    """One shape for every domain error: ``{"code", "detail", "extra"}`` with its status."""
    if isinstance(exc, DomainError):
        return Response(
            {"code": exc.code, "detail": exc.detail, "extra": exc.extra}, status=exc.status
        )
    if isinstance(exc, ConcurrentTransition | TransitionNotAllowed):
        # Services translate these; this is the safety net so a raw FSM error never leaks.
        return Response({"code": "conflict", "detail": str(exc), "extra": {}}, status=409)
    return exception_handler(exc, context)
