from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exceptions"

    def ready(self) -> None:
        from coordination.events import event_observers
        from coordination.quality import lot_observers
        from kernel.roles import grant_after_migrate

        from .holds import lot_dispositioned
        from .services import event_observe, events_observe

        event_observers.register(event_observe, batch=events_observe)
        lot_observers.register(lot_dispositioned)  # resolve a hold's exception when all is decided
        # A flush (transactional tests) empties the seeded rules too; put the defaults back.
        grant_after_migrate(
            self,
            "exceptions.roles.EXCEPTIONS_PERMISSIONS",
            seed="exceptions.defaults.defaults_seed",
            seed_table="exceptions_raiserule",
        )
