from django.db import migrations

from integrations.roles import INTEGRATIONS_PERMISSIONS
from kernel.roles import grant


def grant_roles(apps, schema_editor):
    grant(apps, "integrations", INTEGRATIONS_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial"), ("coordination", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
