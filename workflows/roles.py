"""Who sees tasks and decisions: every floor role has an inbox. Acting is decided per task
(owning group or assignee), not by a model permission; admin edits the configuration."""

from kernel.roles import FLOOR_ROLES, SUPERVISOR

WORKFLOWS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_task": FLOOR_ROLES,
    "view_decision": FLOOR_ROLES,
    "view_workflowrun": FLOOR_ROLES,
    "view_notification": FLOOR_ROLES,
}

# Granted from migration 0003 on (the permission does not exist in 0002's model state).
# Everyone else reads only the tasks of their groups and their own, and those decisions.
READ_EVERY_PERMISSIONS: dict[str, tuple[str, ...]] = {"view_every_task": (SUPERVISOR,)}

# What every migrate re-grants (``kernel.roles.grant_after_migrate``).
GRANTED_AFTER_MIGRATE = {**WORKFLOWS_PERMISSIONS, **READ_EVERY_PERMISSIONS}
