from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Plant operational picture"

    def ready(self) -> None:
        from kernel.roles import grant_after_migrate

        grant_after_migrate(self, "coordination.roles.ALL_PERMISSIONS")

        from exceptions.hooks import case_observers

        from .proposals.triggers import case_changed

        # A constraint on a line (downtime, shortage, labour, order change) → a proposal.
        case_observers.register(case_changed)
