from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Issue the API token of a user (a person or a service account) and print it as the "
        "last line; use it as 'Authorization: Token <key>'. The token acts with that user's "
        "roles. --rotate replaces an existing token (the old one stops at once); --revoke "
        "deletes it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rotate", action="store_true", help="replace an existing token")
        group.add_argument("--revoke", action="store_true", help="delete the token")

    def handle(self, *args, username: str, rotate: bool, revoke: bool, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"username: no user {username!r}")
        if not user.is_active:
            raise CommandError(f"username: {username!r} is inactive")
        with transaction.atomic():
            existing = Token.objects.select_for_update().filter(user=user).first()
            if revoke:
                if existing is None:
                    raise CommandError(f"{username!r} has no token")
                existing.delete()
                self.stdout.write(f"Token of {username!r} revoked.")
                return
            if existing is not None and not rotate:
                raise CommandError(
                    f"{username!r} already has a token; --rotate replaces it, --revoke deletes it"
                )
            if existing is not None:
                existing.delete()
            token = Token.objects.create(user=user)
        roles = ", ".join(user.groups.values_list("name", flat=True)) or "no role"
        self.stdout.write(f"API token for {username!r} ({roles}); send 'Authorization: Token …':")
        self.stdout.write(token.key)
