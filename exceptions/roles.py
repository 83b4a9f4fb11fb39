"""Who may see and act on exceptions. Every floor role views the board of its functions."""

from kernel.roles import FLOOR_ROLES

from .kinds import KIND_ROLES

EXCEPTIONS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_exceptioncase": FLOOR_ROLES,
    "view_exceptioncaseevent": FLOOR_ROLES,
    "view_rootcause": FLOOR_ROLES,
    "view_rootcausecategory": FLOOR_ROLES,
    **{f"act_on_{kind}": tuple(roles) for kind, roles in KIND_ROLES.items()},
}
