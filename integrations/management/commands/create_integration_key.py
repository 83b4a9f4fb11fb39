from django.core.management.base import BaseCommand, CommandError

from integrations.services import integration_key_create
from kernel.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create an integration (or reuse one of that name) and print a new API key as the last "
        "line. The key is stored hashed: copy it now, it cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="integration name, e.g. mes-riverside")
        parser.add_argument(
            "--types", help="comma-separated event types it may send (default: all types)"
        )
        parser.add_argument("--site", help="default site code for its events")

    def handle(self, *args, name: str, types: str | None, site: str | None, **options):
        type_list = [t.strip() for t in types.split(",") if t.strip()] if types else None
        try:
            integration, key = integration_key_create(name=name, types=type_list, site_code=site)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        allowed = ", ".join(integration.allowed_types) or "all event types"
        where = integration.site.code if integration.site else "no default site"
        self.stdout.write(f"Integration {integration.name!r} ({where}; {allowed}). New key:")
        self.stdout.write(key)
