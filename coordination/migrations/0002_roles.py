"""Create the plant's roles as Django groups with the permissions of the operational picture."""

from django.db import migrations

from coordination.roles import COORDINATION_PERMISSIONS
from kernel.roles import ROLES, grant


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    grant(apps, "coordination", COORDINATION_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
