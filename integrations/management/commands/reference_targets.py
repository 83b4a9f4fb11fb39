import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coordination.outbox import NOTIFICATION_TOPICS, TOPICS
from integrations.delivery import target_ensure
from kernel.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create or re-point the ERP and MES outbox targets at the reference service "
        "(idempotent) and write their secrets to a file it reads (mode 0600). They get every "
        "message type but the workflow notifications (task.*, decision.*)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8100")
        parser.add_argument("--secrets-file", required=True)

    def handle(self, *args, base_url, secrets_file, **options):
        secrets = {}
        # Computed on every start: a message type added since is subscribed to as well.
        plant_topics = [t for t in TOPICS if t not in NOTIFICATION_TOPICS]
        try:
            for name, system in (("ERP", "erp"), ("MES", "mes")):
                target, created = target_ensure(
                    name=name, url=f"{base_url.rstrip('/')}/{system}/messages", topics=plant_topics
                )
                secrets[system] = target.secret
                verb = "created" if created else "points at"
                self.stdout.write(f"{name}: {verb} {target.url}")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        path = Path(secrets_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(secrets))
