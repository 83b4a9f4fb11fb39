from django.conf import settings
from django.core.management.base import BaseCommand

from coordination.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create the demo plant (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument("--no-users", action="store_true", help="do not create the demo users")

    def handle(self, *args, seed: int, no_users: bool, **options):
        # Demo users with a known password exist only in the embedded default.
        with_users = settings.EMBEDDED and not no_users
        report = demo_seed(seed=seed, users=with_users)
        what = "Created" if report.created else "Already present:"
        counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
        self.stdout.write(f"{what} demo plant ({counts}).")
        if report.users:
            self.stdout.write(f"Demo users (password '{DEMO_PASSWORD}'): {', '.join(report.users)}")
