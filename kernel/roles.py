"""The plant's roles (Django groups, created by migrations) and how apps grant them.

Permissions follow the job: each app says which roles get which of its permissions (its
``roles.py``); the admin role gets every permission.
"""

from django.apps import apps as global_apps
from django.db import connection
from django.db.models.signals import post_migrate
from django.utils.module_loading import import_string

SUPERVISOR = "supervisor"
QUALITY = "quality"
PLANNER = "planner"
PROCUREMENT = "procurement"
SALES = "sales"
MAINTENANCE = "maintenance"
ADMIN = "admin"
ROLES = (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT, SALES, MAINTENANCE, ADMIN)
FLOOR_ROLES = (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT, SALES, MAINTENANCE)


def grant(apps, app_label: str, permissions: dict[str, tuple[str, ...]]) -> None:
    """Give role groups their permissions of one app (idempotent).

    Called from each app's data migration (with the migration state's ``apps``) and again on
    every ``post_migrate`` (with the real registry), so a flushed test database or a newly
    added permission ends up granted too. Permissions are normally created after all
    migrations; create this app's now so the groups are complete as soon as it is migrated.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    stub = getattr(app_config, "models_module", None) is None  # migration state stand-in
    if stub:
        app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    if stub:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_perms = Permission.objects.filter(content_type__app_label=app_label)
    by_codename = {p.codename: p for p in app_perms}
    for codename, roles in permissions.items():
        for role in roles:
            Group.objects.get_or_create(name=role)[0].permissions.add(by_codename[codename])
    Group.objects.get_or_create(name=ADMIN)[0].permissions.add(*app_perms)


def grant_after_migrate(
    app_config, permissions: str, *, seed: str = "", seed_table: str = ""
) -> None:
    """Keep an app's role grants (and its seeded defaults) complete after every migrate.

    A flush (transactional tests) empties the groups' permissions and the seeded rows; a new
    permission appears only after its migration. Call from ``AppConfig.ready()`` with dotted
    paths (imported late, once the models are loaded): ``permissions`` names the app's
    codename -> roles dict; ``seed(apps)`` runs only once ``seed_table`` exists (a partial
    ``migrate <app>``).
    """

    def after_migrate(sender, apps=global_apps, **kwargs):
        grant(apps, app_config.label, import_string(permissions))
        if seed and seed_table in connection.introspection.table_names():
            import_string(seed)(apps)

    post_migrate.connect(
        after_migrate, sender=app_config, weak=False, dispatch_uid=f"{app_config.label}-roles"
    )
