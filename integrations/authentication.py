from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import Integration
from .services import integration_authenticate


class IntegrationPrincipal:
    """``request.user`` for a call made with an integration key (not a person)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, integration: Integration):
        self.integration = integration
        self.pk = None

    def __str__(self) -> str:
        return f"integration:{self.integration.name}"

    def has_perm(self, perm, obj=None) -> bool:
        return False


class IntegrationKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``; a revoked key fails on its very next request."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <key>'")
        raw = header[1].decode("latin-1")
        integration = integration_authenticate(raw)
        if integration is None:
            raise exceptions.AuthenticationFailed("unknown or revoked integration key")
        return IntegrationPrincipal(integration), integration

    def authenticate_header(self, request):
        return 'Bearer realm="events"'


class IntegrationKeyScheme(OpenApiAuthenticationExtension):
    """Documents the integration key as a bearer scheme in the OpenAPI document."""

    target_class = "integrations.authentication.IntegrationKeyAuthentication"
    name = "integrationKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "an integration key"}
