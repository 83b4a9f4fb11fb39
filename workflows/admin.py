"""Admin: routing rules (with a preview), templates and steps, escalation policies (webhook
receivers are outbox targets: Integrations → Outbox targets).

Runs, tasks and decisions are shown read-only: they change only through the services.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from exceptions.models import ExceptionCase
from kernel.admin import ReadOnlyAdmin
from kernel.filters import FilterError, integer_param

from . import models
from .routing import rule_preview


@admin.register(models.RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "active",
        "kind",
        "key_pattern",
        "min_severity",
        "max_severity",
        "site",
        "line",
        "item_family",
        "customer_tier",
        "template",
    )
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("active", "kind", "template")
    change_list_template = "workflows/admin/routing_changelist.html"

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="workflows_routingrule_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """Which rule would an existing exception match? Every rule in order, first match marked."""
        case, rows, error = None, [], ""
        raw = request.GET.get("case", "").strip().lstrip("#")
        if raw:
            try:
                case = ExceptionCase.objects.filter(pk=integer_param(raw, "case")).first()
            except FilterError:  # "²" passes isdigit(); a huge number overflows bigint
                case = None
            if case is None:
                error = f"case: no exception #{raw}"
            else:
                first = None
                for rule, matches in rule_preview(case):
                    chosen = matches and first is None
                    first = rule if chosen else first
                    rows.append({"rule": rule, "matches": matches, "chosen": chosen})
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview routing",
            "case": case,
            "rows": rows,
            "error": error,
            "value": raw,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "workflows/admin/routing_preview.html", context)


class StepInline(admin.StackedInline):
    model = models.StepTemplate
    extra = 0
    filter_horizontal = ("after",)
    fields = (
        ("position", "title"),
        ("assignee", "group"),
        ("due_minutes", "stall_minutes", "escalation"),
        "after",
        "options",
        "instructions",
    )


@admin.register(models.WorkflowTemplate)
class WorkflowTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "description")
    inlines = [StepInline]


class LevelInline(admin.TabularInline):
    model = models.EscalationLevel
    extra = 0


@admin.register(models.EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    inlines = [LevelInline]


@admin.register(models.WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "case", "template", "status", "started_at", "ended_at")
    list_filter = ("status", "template")


class TaskEventInline(admin.TabularInline):
    model = models.TaskEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "kind", "seq", "scheduled_at", "actor", "summary")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("pk", "title", "case_link", "status", "owner_group", "assignee", "due_at")
    list_filter = ("status", "owner_group")
    inlines = [TaskEventInline]

    @admin.display(description="exception")
    def case_link(self, obj):
        return format_html(
            '<a href="{}">#{}</a>', reverse("exception-detail", args=[obj.case_id]), obj.case_id
        )


@admin.register(models.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("decided_at", "case", "task", "chosen_label", "decided_by")


@admin.register(models.NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "in_app", "email", "collapse_minutes")
