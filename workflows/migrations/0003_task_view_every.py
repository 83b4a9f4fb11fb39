"""Reading every task is a permission (supervisors); everyone else reads their groups' own."""

from django.db import migrations

from kernel.roles import grant
from workflows.roles import READ_EVERY_PERMISSIONS


def forwards(apps, schema_editor):
    grant(apps, "workflows", READ_EVERY_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_roles_and_defaults")]

    operations = [
        migrations.AlterModelOptions(
            name="task",
            options={
                "ordering": ["due_at", "id"],
                "permissions": [("view_every_task", "Can read every task and decision")],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
