"""MQTT ingestion (plant Unified Namespace topics and Sparkplug B) into the event inbox.

``mapping.py`` turns a message into CloudEvents by an admin-configured topic mapping,
``sparkplug.py`` tracks Sparkplug B edge nodes (births, aliases, sequence numbers, deaths),
``ingest.py`` stores a batch of messages through the inbox's own service (``events_accept``)
and ``client.py`` is the paho-mqtt subscriber that acknowledges a message only once stored.
"""
