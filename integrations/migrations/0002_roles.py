from django.db import migrations

from coordination.roles import grant
from integrations.apps import PERMISSIONS


def grant_roles(apps, schema_editor):
    grant(apps, "integrations", PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial"), ("coordination", "0002_roles")]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
