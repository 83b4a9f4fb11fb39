from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.b2mml.importer import b2mml_import, import_integration
from integrations.b2mml.reader import B2mmlError
from kernel.errors import DomainError


class _Refused(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import B2MML files (V0600 or V0401): ProductionSchedule (orders, jobs), "
        "MaterialInformation / MaterialDefinition / MaterialLot (items, lots, stock), "
        "ProductionPerformance (progress events). All files or none: any problem in any file "
        "and nothing is written; each problem names the file, element path, line and reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="B2MML XML files, in order")
        parser.add_argument(
            "--integration",
            default="b2mml-import",
            help="the integration the import runs as (created if new; default b2mml-import)",
        )

    def handle(self, *args, files: list[Path], integration: str, **options):
        problems: list[str] = []
        try:
            with transaction.atomic():
                source = import_integration(integration)
                for path in files:
                    problems += self._one(path, source)
                if problems:
                    raise _Refused  # roll back the files that did import
        except _Refused:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(
                f"{len(problems)} problem(s): nothing was imported from {len(files)} file(s)"
            ) from None

    def _one(self, path: Path, source) -> list[str]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return [f"{path}: cannot be read: {exc.strerror or exc}"]
        try:
            result = b2mml_import(data, integration=source, filename=path.name)
        except B2mmlError as exc:
            return [f"{path}: {problem}" for problem in exc.problems]
        except DomainError as exc:
            return [f"{path}: {exc.detail}"]
        summary = result.as_dict()
        done = ", ".join(
            f"{what} {kind} {count}"
            for what in ("created", "updated", "unchanged")
            for kind, count in summary[what].items()
        )
        events = summary["events"]
        if events["accepted"] or events["duplicate"]:
            done += f"{', ' if done else ''}events accepted {events['accepted']}, "
            done += f"duplicate {events['duplicate']}"
        self.stdout.write(f"{path}: {result.message} {result.version}: {done or 'nothing to do'}")
        for note in result.notes:
            self.stdout.write(f"  note {note}")
        return []
