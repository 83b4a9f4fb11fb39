from django.db import migrations, models

from exceptions.defaults import CONNECTIVITY_RULES, sync_rules_add
from exceptions.roles import EXCEPTIONS_PERMISSIONS
from kernel.roles import grant

KINDS = [
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
]


def forwards(apps, schema_editor):
    grant(apps, "exceptions", EXCEPTIONS_PERMISSIONS)  # act_on_connectivity
    sync_rules_add(apps, CONNECTIVITY_RULES)  # by name: a plant seeded before them gets them


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0005_mes_maintenance_rule_active"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="exceptioncase",
            options={
                "ordering": ["-severity", "opened_at"],
                "permissions": [
                    (f"act_on_{k}", f"Can act on {label} exceptions") for k, label in KINDS
                ],
                "verbose_name": "exception",
            },
        ),
        migrations.AlterField(
            model_name="exceptioncase",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=20),
        ),
        migrations.AlterField(
            model_name="raiserule",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=20),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
