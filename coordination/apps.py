from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _grant_roles(sender, apps=global_apps, **kwargs):
    from .roles import COORDINATION_PERMISSIONS, grant

    grant(apps, "coordination", COORDINATION_PERMISSIONS)


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Plant operational picture"

    def ready(self) -> None:
        # Keeps role groups complete after a flush (transactional tests) or a new permission.
        post_migrate.connect(_grant_roles, sender=self, dispatch_uid="coordination-roles")
