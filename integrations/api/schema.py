from ..cloudevents import openapi_components


def add_event_schemas(result, generator, request, public):
    """drf-spectacular hook: publish the ``data`` schema of every canonical event type."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for event_type, schema in openapi_components().items():
        schemas[f"EventData.{event_type}"] = schema
    return result


def outbox_components() -> dict[str, dict]:
    """One schema per outbox message type (from ``TOPICS``) and the envelope they travel in."""
    from coordination.outbox import TOPICS

    schemas = {
        "OutboxEnvelope": {
            "type": "object",
            "description": (
                "What every target receives: an HTTP POST of this JSON with the Standard "
                "Webhooks headers webhook-id (= id, the same on every retry: de-duplicate on "
                "it), webhook-timestamp and webhook-signature (v1, HMAC-SHA256 with the "
                "target's whsec_ secret). Answer 2xx once applied; 5xx, 408, 425, 429 or no "
                "answer are retried with backoff; any other 4xx parks the message as dead."
            ),
            "required": ["type", "id", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "enum": list(TOPICS)},
                "id": {"type": "string", "format": "uuid"},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {
                    "oneOf": [{"$ref": f"#/components/schemas/OutboxData.{t}"} for t in TOPICS]
                },
            },
        }
    }
    for topic, (meaning, fields) in TOPICS.items():
        schemas[f"OutboxData.{topic}"] = {
            "type": "object",
            "description": meaning,
            "required": list(fields),
            "additionalProperties": False,
            "properties": {
                name: {"type": "string", "description": description}
                for name, description in fields.items()
            },
        }
    return schemas


def add_outbox_schemas(result, generator, request, public):
    """drf-spectacular hook: publish the outbound contract (every message type) as components."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(outbox_components())
    return result
