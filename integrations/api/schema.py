from ..cloudevents import EVENT_TYPES, MAX_ID, openapi_components

REF = "#/components/schemas/"
ENVELOPE = {
    "type": "object",
    "description": "A CloudEvents 1.0 event in JSON structured mode. Attributes other than "
    "these are extension attributes, stored with the event.",
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID,
               "description": "unique per source: the same source + id again is a duplicate"},
        "source": {"type": "string", "minLength": 1, "maxLength": MAX_ID,
                   "description": "the sending system, e.g. mes/riverside/L1"},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "time": {"type": "string", "format": "date-time",
                 "description": "when it happened at the plant (RFC 3339 with offset); "
                 "defaults to the arrival time"},
        "datacontenttype": {"type": "string", "enum": ["application/json"]},
        "subject": {"type": "string"},
        "data": {"type": "object", "description": "the signal: see EventData.<type>"},
    },
    "required": ["specversion", "id", "source", "type", "data"],
    "additionalProperties": True,
}  # fmt: skip


def _oas30(schema: dict) -> dict:
    """OpenAPI 3.0 spells an exclusive bound as ``minimum`` + ``exclusiveMinimum: true``."""
    properties = {}
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        bound = prop.get("exclusiveMinimum")
        if bound is not None and not isinstance(bound, bool):
            prop.update(minimum=bound, exclusiveMinimum=True)
        properties[name] = prop
    return {**schema, "properties": properties}


def _event_ref(event_type: str) -> dict:
    return {"$ref": f"{REF}CloudEvent.{event_type}"}


def add_event_schemas(result, generator, request, public):
    """drf-spectacular hook: publish the ``data`` schema of every canonical event type, the
    CloudEvents envelope per type, and use them as the request body of ``POST /events``."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["CloudEvent"] = ENVELOPE
    for event_type, schema in openapi_components().items():
        schemas[f"EventData.{event_type}"] = _oas30(schema)
        schemas[f"CloudEvent.{event_type}"] = {
            "allOf": [
                {"$ref": f"{REF}CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": [event_type]},
                        "data": {"$ref": f"{REF}EventData.{event_type}"},
                    },
                },
            ]
        }
    one = {"oneOf": [_event_ref(t) for t in EVENT_TYPES]}
    operation = result.get("paths", {}).get("/api/v1/events", {}).get("post")
    if operation is not None:
        # 200 is a single event's "duplicate" or a batch's results.
        ok = operation.setdefault("responses", {}).setdefault("200", {"description": ""})
        ok["description"] = "a single event already seen (duplicate), or a batch's results"
        ok["content"] = {"application/json": {"schema": {"oneOf": [
            {"$ref": f"{REF}EventResult"}, {"$ref": f"{REF}BatchResult"}]}}}  # fmt: skip
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/cloudevents+json": {"schema": one},
                "application/json": {"schema": one},
                "application/cloudevents-batch+json": {
                    "schema": {"type": "array", "items": one, "minItems": 1, "maxItems": 1000}
                },
            },
        }
    return result


def outbox_components() -> dict[str, dict]:
    """One schema per outbox message type (from ``TOPICS``) and the envelope they travel in."""
    from coordination.outbox import FIELD_SCHEMAS, TOPICS

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
                name: {
                    **FIELD_SCHEMAS.get((topic, name), {"type": "string"}),
                    "description": description,
                }
                for name, description in fields.items()
            },
        }
    return schemas


def add_outbox_schemas(result, generator, request, public):
    """drf-spectacular hook: publish the outbound contract (every message type) as components."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(outbox_components())
    return result
