"""The API's default permission class (its own module: DRF loads it while importing its views)."""

from rest_framework.permissions import DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Model permissions granted to role groups; reading needs the view permission too.

    DRF's default lets any signed-in user read; a plant's roles do not all see everything
    (sales does not browse lots), so GET requires ``view_<model>``.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
