"""Who sees tasks and decisions: every floor role has an inbox. Acting is decided per task
(owning group or assignee), not by a model permission; admin edits the configuration."""

from kernel.roles import FLOOR_ROLES

WORKFLOWS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_task": FLOOR_ROLES,
    "view_decision": FLOOR_ROLES,
    "view_workflowrun": FLOOR_ROLES,
    "view_notification": FLOOR_ROLES,
}
