"""The demo plant's topic mappings (Riverside, site RIV), documented in the README (MQTT).

Seeded by the migration and again after every migrate while the table is empty (a flushed
test database); never overwrites what an admin changed.
"""

MAPPINGS = [
    # name, format, topic filter, event type, fields, description
    ("Riverside line status", "json", "riverside/+/status", "equipment.status",
     {"line": "topic:2", "status": "payload:status", "reason": "payload:reason",
      "asset": "payload:asset", "expected_up_at": "payload:expected_up_at",
      "time": "payload:time"},
     'riverside/<line>/status, payload {"status": "down", "reason": "jam"}'),
    ("Riverside job counts", "json", "riverside/+/counts", "production.progress",
     {"line": "topic:2", "job": "payload:job", "good": "payload:good",
      "scrap": "payload:scrap", "time": "payload:time"},
     'riverside/<line>/counts, payload {"job": "WO-60001", "good": 1200, "scrap": 14}'),
    ("Riverside maintenance", "json", "riverside/+/maintenance", "maintenance.event",
     {"line": "topic:2", "work_order": "payload:work_order", "kind": "payload:kind",
      "status": "payload:status", "asset": "payload:asset",
      "expected_end": "payload:expected_end", "time": "payload:time"},
     "riverside/<line>/maintenance, from the CMMS"),
    ("Riverside Sparkplug line state", "sparkplug", "spBv1.0/riverside/+/+/+", "equipment.status",
     {"line": "topic:5", "status": "metric:Line/State", "reason": "metric:Line/Reason"},
     "Sparkplug B group riverside, one device per line (device id = line code)"),
    ("Riverside Sparkplug counts", "sparkplug", "spBv1.0/riverside/+/+/+", "production.progress",
     {"line": "topic:5", "job": "metric:Job", "good": "metric:Count/Good",
      "scrap": "metric:Count/Scrap"},
     "Sparkplug B group riverside: the running job's cumulative good and scrap counts"),
]  # fmt: skip


def mappings_seed(apps) -> None:
    """Create the default mappings when there are none (idempotent)."""
    Mapping = apps.get_model("integrations", "MqttMapping")
    if Mapping.objects.exists():
        return
    Mapping.objects.bulk_create(
        Mapping(
            name=name,
            format=fmt,
            topic_filter=topic_filter,
            event_type=event_type,
            fields=fields,
            description=description,
        )
        for name, fmt, topic_filter, event_type, fields, description in MAPPINGS
    )
