from django.db import migrations

from integrations.roles import OUTBOX_PERMISSIONS
from kernel.roles import grant


def grant_roles(apps, schema_editor):
    grant(apps, "integrations", OUTBOX_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_outbox_delivery")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
