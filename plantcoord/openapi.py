"""drf-spectacular hook: the error answers every operation can give, in the document.

The server answers 400 (bad input: field → messages, or ``{"code", "detail", "extra"}``),
401 (no or a bad credential), 403 (a role without the permission), 404 (absent, or another
function's object) and 409 (a stale state or a lost race, on actions). Operations document
their success bodies themselves; this adds the errors they do not name already.
"""

ERROR = {
    "type": "object",
    "description": "An error. Domain errors always carry `code` and `extra`; authentication "
    "and permission errors carry `detail`.",
    "properties": {
        "code": {"type": "string", "description": "machine-readable, e.g. conflict"},
        "detail": {"type": "string", "description": "for people"},
        "extra": {"type": "object", "additionalProperties": True},
    },
    "additionalProperties": True,
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Bad input: each parameter or field named, with its messages "
    '(e.g. `{"since": ["since must be an ISO 8601 date-time…"]}`), or an `Error`.',
    "additionalProperties": True,
}

_REF = "#/components/schemas/"


def _response(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": _REF + schema}}}}  # fmt: skip


def add_error_responses(result, generator, request, public):
    """Add 400/401/403/404/409 to each operation that does not document them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            add = {
                "401": _response("no credential, or an unknown or revoked one", "Error"),
                "403": _response("your role may not do this", "Error"),
            }
            # Any parameter may be refused (a NUL anywhere is, before any view runs).
            add["400"] = _response("a parameter or field is invalid (named)", "FieldErrors")
            if "{" in path:
                add["404"] = _response("absent, or not yours to read", "Error")
            if any(p.get("name") == "page" for p in operation.get("parameters", [])):
                add["404"] = _response("a page beyond the last", "Error")
            if (method == "post" and "{" in path) or "by-key" in path:
                add["404"] = _response("absent, or not yours to read", "Error")
                add["409"] = _response("the state changed meanwhile (stale or lost race)", "Error")
            for status, response in add.items():
                responses.setdefault(status, response)
    return result
