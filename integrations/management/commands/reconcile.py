from django.core.management.base import BaseCommand, CommandError

from integrations.reconcile import SYSTEMS, reconcile_run


class Command(BaseCommand):
    help = (
        "Compare the ERP and MES targets' view of lots on hold and order status with ours; "
        "raise, join or clear sync_divergence exceptions and print what was found. Exit 0 "
        "whatever was found (an unreachable target is reported, not a failure)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--system", action="append", default=[], help="only this one (erp or mes); repeatable"
        )

    def handle(self, *args, system, **options):
        wanted = {s.strip().lower() for s in system}
        unknown = sorted(wanted - set(SYSTEMS))
        if unknown:
            raise CommandError(f"--system: unknown {', '.join(unknown)}; choose erp or mes")
        reports = reconcile_run(systems=wanted or None)
        if not reports:
            self.stdout.write("no enabled ERP or MES outbox target: nothing to compare")
        for r in reports:
            if r.unreachable:
                self.stdout.write(f"{r.system}: unreachable, skipped ({r.unreachable})")
                continue
            self.stdout.write(
                f"{r.system} ({r.base_url}): {r.compared} compared, "
                f"{len(r.divergences)} divergent, {len(r.agreed)} agree again, "
                f"{len(r.in_flight)} skipped with messages not yet delivered"
            )
            for d in r.divergences:
                self.stdout.write(f"  divergent {d.describe()}")
            for key in r.agreed:
                self.stdout.write(f"  agrees again {key}")
            for key in r.in_flight:
                self.stdout.write(f"  skipped {key} (still in the outbox)")
