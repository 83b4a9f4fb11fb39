from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from coordination.quality import lot_observers
        from exceptions.hooks import case_observers
        from kernel.roles import grant_after_migrate

        from .holds import lot_dispositioned
        from .runs import case_changed, cases_changed

        case_observers.register(case_changed, batch=cases_changed)
        lot_observers.register(lot_dispositioned)  # a disposition decides the hold's tasks
        # A flush (transactional tests) empties the seeded templates too; put them back.
        grant_after_migrate(
            self,
            "workflows.roles.GRANTED_AFTER_MIGRATE",
            seed="workflows.defaults.defaults_seed",
            seed_table="workflows_workflowtemplate",
        )
