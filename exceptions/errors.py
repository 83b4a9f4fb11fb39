"""Errors only the exceptions app raises (the shared ones are in ``kernel.errors``)."""

from kernel.errors import InvalidInputError


class ConditionActiveError(InvalidInputError):
    """Resolving while the condition is still active needs an explicit confirmation."""

    code = "condition_active"
