from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from kernel.roles import ROLES

# (label, url name, permission needed) — later apps add the board, inbox, holds, proposals.
NAVIGATION = [
    ("Plant", "overview", "coordination.view_line"),
    ("Board", "board", "exceptions.view_exceptioncase"),
    ("Inbox", "inbox", "workflows.view_task"),
    ("Holds", "quality", "coordination.view_lot"),
    ("Plan", "plan", "coordination.view_proposal"),
    ("Integrations", "integrations", "integrations.view_integration"),
    ("Metrics", "metrics", "coordination.metrics_views.metrics_may_view"),
]


def navigation(request):
    """Navigation entries the signed-in user's roles may open; nothing for anonymous."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "groups"):
        return {}  # anonymous, or an integration key reading the API docs: no person's menu
    entries = []
    for label, name, perm in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:  # that page's app is not built yet
            continue
        # A dotted path names a check function (a page for some roles, not one permission).
        allowed = import_string(perm)(user) if perm.count(".") > 1 else user.has_perm(perm)
        if allowed:
            entries.append({"label": label, "url": url, "active": request.path == url})
    roles = [g for g in user.groups.values_list("name", flat=True) if g in ROLES]
    context = {"nav_entries": entries, "user_roles": roles}
    if user.has_perm("workflows.view_task") and not getattr(request, "htmx", False):
        # Full pages only: htmx partials (the board's refresh) don't show the bar.
        from workflows.selectors import inbox_counts

        context["wf_counts"] = inbox_counts(user)  # the bell and the inbox count
    return context
