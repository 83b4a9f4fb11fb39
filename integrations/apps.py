from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (ERP, MES, machines)"

    def ready(self) -> None:
        from kernel.roles import grant_after_migrate

        grant_after_migrate(self, "integrations.roles.INTEGRATIONS_PERMISSIONS")
