"""Errors of the exceptions app: the shared domain errors plus bad input naming its field."""

from coordination.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
)

__all__ = [
    "ConditionActiveError",
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "TransitionError",
]


class InvalidInputError(DomainError):
    """The request names something wrong; ``extra["field"]`` says which field."""

    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, field: str, **extra):
        super().__init__(detail, field=field, **extra)
        self.field = field


class ConditionActiveError(InvalidInputError):
    """Resolving while the condition is still active needs an explicit confirmation."""

    code = "condition_active"
