from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import connection
from django.db.models.signals import post_migrate


def _after_migrate(sender, apps=global_apps, **kwargs):
    from coordination.roles import grant

    from .defaults import defaults_seed
    from .roles import EXCEPTIONS_PERMISSIONS

    grant(apps, "exceptions", EXCEPTIONS_PERMISSIONS)
    if "exceptions_raiserule" not in connection.introspection.table_names():
        return  # migrated only part of the way (e.g. ``migrate coordination``)
    # A flush (transactional tests) empties the seeded rules too; put the defaults back.
    defaults_seed(apps)


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exceptions"

    def ready(self) -> None:
        from coordination.events import event_observer

        from .services import event_observe

        event_observer(event_observe)
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="exceptions-roles")
