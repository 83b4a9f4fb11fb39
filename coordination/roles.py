"""The plant's roles (Django groups) and what each may do. Permissions follow the job."""

SUPERVISOR = "supervisor"
QUALITY = "quality"
PLANNER = "planner"
PROCUREMENT = "procurement"
SALES = "sales"
MAINTENANCE = "maintenance"
ADMIN = "admin"
ROLES = (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT, SALES, MAINTENANCE, ADMIN)
FLOOR_ROLES = (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT, SALES, MAINTENANCE)

# codename -> roles, for the operational picture. The admin role gets every permission.
COORDINATION_PERMISSIONS = {
    **{
        f"view_{model}": FLOOR_ROLES
        for model in ("site", "line", "asset", "item", "shift", "location", "job", "customer")
    },
    "view_changeovermatrix": (SUPERVISOR, PLANNER, MAINTENANCE),
    # Maintenance works on lines, not on customer orders.
    "view_order": (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT, SALES),
    # Lots and stock are for those who move, hold or plan material.
    "view_lot": (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT),
    "view_stock": (SUPERVISOR, QUALITY, PLANNER, PROCUREMENT),
    "hold_lot": (SUPERVISOR, QUALITY),
    "disposition_lot": (QUALITY,),
    "approve_sequence": (PLANNER,),
}


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
