"""Errors of the workflows app: the shared domain errors plus bad input naming its field."""

from coordination.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
)
from exceptions.errors import InvalidInputError

__all__ = [
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "TransitionError",
]
