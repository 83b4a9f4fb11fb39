from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Plant operational picture"

    def ready(self) -> None:
        from kernel.roles import grant_after_migrate

        grant_after_migrate(self, "coordination.roles.COORDINATION_PERMISSIONS")
