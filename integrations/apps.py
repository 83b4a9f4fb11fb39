from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate

PERMISSIONS = {
    "view_integration": ("supervisor",),
    "view_inboxevent": ("supervisor",),
}


def _grant_roles(sender, apps=global_apps, **kwargs):
    from coordination.roles import grant

    grant(apps, "integrations", PERMISSIONS)


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (ERP, MES, machines)"

    def ready(self) -> None:
        post_migrate.connect(_grant_roles, sender=self, dispatch_uid="integrations-roles")
