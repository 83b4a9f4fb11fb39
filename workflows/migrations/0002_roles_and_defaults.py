"""Role permissions on workflows, and the default escalation policies, templates and rules."""

from django.db import migrations

from kernel.roles import grant
from workflows.defaults import defaults_seed
from workflows.roles import WORKFLOWS_PERMISSIONS


def forwards(apps, schema_editor):
    grant(apps, "workflows", WORKFLOWS_PERMISSIONS)
    defaults_seed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0001_initial"),
        ("coordination", "0002_roles"),
        ("exceptions", "0002_roles_and_defaults"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
