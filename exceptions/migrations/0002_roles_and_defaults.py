"""Role permissions on exceptions, and the default rules, thresholds and root-cause taxonomy."""

from django.db import migrations

from exceptions.defaults import defaults_seed
from exceptions.roles import EXCEPTIONS_PERMISSIONS
from kernel.roles import grant


def forwards(apps, schema_editor):
    # act_on_sync_divergence exists from 0003 on, which grants it; andon and manual from 0004.
    later = ("act_on_sync_divergence", "act_on_andon", "act_on_manual")
    older = {k: v for k, v in EXCEPTIONS_PERMISSIONS.items() if k not in later}
    grant(apps, "exceptions", older)
    defaults_seed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0001_initial"),
        ("coordination", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
