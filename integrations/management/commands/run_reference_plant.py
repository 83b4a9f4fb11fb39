from django.core.management.base import BaseCommand, CommandError

from integrations.reference.cli import add_arguments, run


class Command(BaseCommand):
    help = (
        "Run the reference ERP/MES service (its own store, no access to our database): the "
        "peer the outbox delivers to in the demo and the tests."
    )

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        try:
            run(options)
        except ValueError as exc:
            raise CommandError(f"{exc}: pass --secrets-file or REFERENCE_*_SECRET") from exc
        except KeyboardInterrupt:
            pass
