"""Base viewsets for the read API."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError


def filter_parameters(*names: str):
    """Document a list's filters (class decorator) as free-text query parameters."""
    return extend_schema_view(
        list=extend_schema(
            parameters=[
                OpenApiParameter(name, str, description=f"filter by {name}") for name in names
            ]
        )
    )


class FilteredReadViewSet(viewsets.ReadOnlyModelViewSet):
    """A list filterable by query parameters; unknown values are a 400 naming the field."""

    # query parameter -> (lookup, allowed values or None for free text)
    filters: dict[str, tuple[str, list[str] | None]] = {}

    def get_queryset(self):
        queryset = super().get_queryset()
        errors = {}
        for param, (lookup, allowed) in self.filters.items():
            value = self.request.query_params.get(param)
            if value is None or value == "":
                continue
            if allowed is not None and value not in allowed:
                errors[param] = [f"must be one of {', '.join(allowed)}"]
                continue
            queryset = queryset.filter(**{lookup: value})
        if errors:
            raise ValidationError(errors)
        return queryset
