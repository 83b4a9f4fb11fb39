"""The default "Line in maintenance (MES status)" rule was seeded inactive, contrary to the
README (issue 15, item 12): a line the MES reports in maintenance is a downtime exception."""

from django.db import migrations

NAME = "Line in maintenance (MES status)"


def forwards(apps, schema_editor):
    RaiseRule = apps.get_model("exceptions", "RaiseRule")
    RaiseRule.objects.filter(name=NAME, event_type="equipment.status", active=False).update(
        active=True
    )


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0004_andon_and_manual_kinds")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
