from django.db import migrations, models

from workflows.defaults import CONNECTIVITY_TEMPLATES, sync_defaults_add


def forwards(apps, schema_editor):
    sync_defaults_add(apps, CONNECTIVITY_TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0007_typed_decision_values"),
        ("exceptions", "0006_connectivity"),
    ]

    operations = [
        migrations.AlterField(
            model_name="routingrule",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("downtime", "line down"),
                    ("shortage", "material shortage"),
                    ("labour", "labour short"),
                    ("quality_hold", "quality hold"),
                    ("order_change", "order change"),
                    ("scrap", "scrap above threshold"),
                    ("sync_divergence", "ERP/MES disagree with us"),
                    ("andon", "andon call from the line"),
                    ("manual", "raised by hand"),
                    ("connectivity", "edge node offline"),
                ],
                help_text="Any.",
                max_length=20,
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
