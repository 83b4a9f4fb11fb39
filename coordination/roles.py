"""What each role may see and do on the operational picture. Permissions follow the job."""

from kernel.roles import FLOOR_ROLES, MAINTENANCE, PLANNER, PROCUREMENT, QUALITY, SALES, SUPERVISOR

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

# Resequencing proposals (migration 0008): planners approve (approve_sequence above); every
# function reads them. A separate dict: migration 0002 grants the one above, before these exist.
PROPOSAL_PERMISSIONS = {
    "view_proposal": FLOOR_ROLES,
    "view_sequencedecision": FLOOR_ROLES,
    "view_planningpolicy": (SUPERVISOR, PLANNER),
}
ALL_PERMISSIONS = {**COORDINATION_PERMISSIONS, **PROPOSAL_PERMISSIONS}
