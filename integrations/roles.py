"""Who sees the integrations page and the inbox: supervisors (admin gets everything)."""

from kernel.roles import SUPERVISOR

INTEGRATIONS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_integration": (SUPERVISOR,),
    "view_inboxevent": (SUPERVISOR,),
}
