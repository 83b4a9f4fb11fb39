from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (ERP, MES, machines)"

    def ready(self) -> None:
        from coordination.outbox import outbox_written, subscriptions_from
        from kernel.roles import grant_after_migrate

        from .delivery import deliveries_fan_out, topics_subscribed

        grant_after_migrate(self, "integrations.roles.ALL_PERMISSIONS")
        # Delivery rows are written in the message's own transaction: nothing is lost between
        # commit and enqueue.
        outbox_written.register(deliveries_fan_out)
        # Notifications nobody subscribes to are not written at all (a row per task otherwise).
        subscriptions_from(topics_subscribed)
