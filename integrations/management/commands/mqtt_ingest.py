from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.mqtt.client import ConfigError, Subscriber


class Command(BaseCommand):
    help = (
        "Subscribe to the MQTT broker (MQTT_URL) by the topic mappings in Django admin and "
        "store every message in the event inbox before acknowledging it. Runs until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.MQTT_URL, help="default: MQTT_URL")
        parser.add_argument(
            "--client-id",
            default=settings.MQTT_CLIENT_ID,
            help="the persistent session's name: keep it stable across restarts",
        )
        parser.add_argument("--batch", type=int, default=settings.MQTT_BATCH)
        parser.add_argument("--host-id", default=settings.MQTT_SPARKPLUG_HOST_ID)

    def handle(self, *args, url, client_id, batch, host_id, **options):
        if not url:
            raise CommandError("set MQTT_URL (e.g. mqtt://127.0.0.1:1883) or pass --url")
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        try:
            subscriber = Subscriber(
                url,
                client_id=client_id,
                batch=batch,
                reconnect_max=settings.MQTT_RECONNECT_MAX,
                session_expiry=settings.MQTT_SESSION_EXPIRY,
                host_id=host_id,
            )
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        subscriber.install_signal_handlers()
        self.stdout.write(f"mqtt_ingest: {url} as {client_id}; Ctrl-C stops")
        subscriber.run()
