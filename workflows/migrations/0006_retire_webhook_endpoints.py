"""The hand-signed webhooks are retired: their endpoints became outbox targets (with their
pending deliveries) in ``integrations.0005``; the tables go."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_andon_routing"),
        ("integrations", "0005_webhook_endpoints_to_outbox_targets"),
    ]

    operations = [
        migrations.DeleteModel(name="WebhookDelivery"),
        migrations.DeleteModel(name="WebhookEndpoint"),
    ]
