from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from .selectors import line_overview_list, plant_counts, worker_seen_at


@permission_required("coordination.view_line", raise_exception=True)
def overview(request):
    """The plant at a glance: every line, its status, what runs now and what comes next."""
    template = "coordination/overview.html"
    if request.htmx:
        template += "#lines"
    context = {
        "lines": line_overview_list(site_code=request.GET.get("site")),
        "counts": plant_counts(),
        "worker_seen_at": worker_seen_at(),
    }
    return render(request, template, context)
