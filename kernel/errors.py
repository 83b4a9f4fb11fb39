"""Domain errors: each carries a stable code and the HTTP status the API maps it to."""


class DomainError(Exception):
    code = "domain_error"
    status = 409

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFoundError(DomainError):
    code = "not_found"
    status = 404


class TransitionError(DomainError):
    """The transition is not allowed from the object's current state."""

    code = "transition_not_allowed"


class ConflictError(DomainError):
    """Someone else changed the object first; nothing was overwritten."""

    code = "conflict"


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status = 403


class InvalidInputError(DomainError):
    """The request names something wrong; ``field`` says which (a 400 naming it)."""

    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, field: str, **extra):
        super().__init__(detail, field=field, **extra)
        self.field = field
