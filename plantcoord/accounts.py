"""Sign-in: Django's view, plus the demo users on the embedded default only."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views

from coordination.demo import DEMO_PASSWORD
from kernel.roles import ROLES


def demo_users() -> list[str]:
    """The demo users ``seed_demo`` made (a username per role), in role order; none in
    production, whatever accounts exist there."""
    if not settings.EMBEDDED:
        return []
    found = set(
        get_user_model()
        .objects.filter(username__in=ROLES, is_active=True)
        .values_list("username", flat=True)
    )
    return [r for r in ROLES if r in found]


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demo_users"] = demo_users()
        context["demo_password"] = DEMO_PASSWORD
        return context
