"""Who sees the integrations page, the inbox and the outbox: supervisors (admin gets everything)."""

from kernel.roles import SUPERVISOR

INTEGRATIONS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_integration": (SUPERVISOR,),
    "view_inboxevent": (SUPERVISOR,),
}

# Added after 0002 (granted by 0004): who sees outbound targets and deliveries, and retries dead
# ones.
OUTBOX_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_outboxtarget": (SUPERVISOR,),
    "view_outboxdelivery": (SUPERVISOR,),
    "change_outboxdelivery": (SUPERVISOR,),
}

ALL_PERMISSIONS = {**INTEGRATIONS_PERMISSIONS, **OUTBOX_PERMISSIONS}
