"""``manage.py bench_sequencing``: the sequencing core on public benchmark files."""

from django.core.management.base import BaseCommand, CommandError

from coordination.scheduling import bench


class Command(BaseCommand):
    help = "Run the sequencing core on OR-Library wt, wtsds or Vallada-Ruiz benchmark files."

    def add_arguments(self, parser) -> None:
        bench.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            bench.run(options, self.stdout)
        except bench.BenchError as exc:
            raise CommandError(str(exc), returncode=2) from exc
