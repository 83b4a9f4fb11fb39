from ..cloudevents import openapi_components


def add_event_schemas(result, generator, request, public):
    """drf-spectacular hook: publish the ``data`` schema of every canonical event type."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for event_type, schema in openapi_components().items():
        schemas[f"EventData.{event_type}"] = schema
    return result
