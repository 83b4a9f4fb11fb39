from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import connection
from django.db.models.signals import post_migrate


def _after_migrate(sender, apps=global_apps, **kwargs):
    from coordination.roles import grant

    from .defaults import defaults_seed
    from .roles import READ_EVERY_PERMISSIONS, WORKFLOWS_PERMISSIONS

    grant(apps, "workflows", {**WORKFLOWS_PERMISSIONS, **READ_EVERY_PERMISSIONS})
    if "workflows_workflowtemplate" not in connection.introspection.table_names():
        return  # migrated only part of the way
    # A flush (transactional tests) empties the seeded templates too; put the defaults back.
    defaults_seed(apps)


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from exceptions.hooks import case_observer

        from .services import case_changed

        case_observer(case_changed)
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="workflows-roles")
