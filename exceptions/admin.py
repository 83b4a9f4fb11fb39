"""Admin: rules, thresholds, policy and taxonomy are edited here; exceptions are read-only
(their state changes only through the board, the exception page or the API, which audit it)."""

from django.contrib import admin

from kernel.admin import ReadOnlyAdmin

from . import models


@admin.register(models.RaiseRule)
class RaiseRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "event_type", "action", "kind", "base_severity", "active"]
    list_filter = ["event_type", "action", "kind", "active"]
    list_editable = ["base_severity", "active"]
    search_fields = ["name", "event_type", "description"]


@admin.register(models.SeverityThreshold)
class SeverityThresholdAdmin(admin.ModelAdmin):
    list_display = ["measure", "at_least", "raise_by", "active"]
    list_editable = ["at_least", "raise_by", "active"]
    list_display_links = ["measure"]


@admin.register(models.ExceptionPolicy)
class ExceptionPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "horizon_hours",
        "default_outage_hours",
        "repeat_window_days",
        "board_limit",
    ]

    def has_add_permission(self, request):
        return not models.ExceptionPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class RootCauseInline(admin.TabularInline):
    model = models.RootCause
    extra = 1


@admin.register(models.RootCauseCategory)
class RootCauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    list_editable = ["active"]
    inlines = [RootCauseInline]


@admin.register(models.RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "active"]
    list_filter = ["category", "active"]
    search_fields = ["name", "category__name"]


class CaseEventInline(admin.TabularInline):
    model = models.ExceptionCaseEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "summary", "actor", "via", "event_type", "inbox_id"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.ExceptionCase)
class ExceptionCaseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "kind",
        "severity",
        "status",
        "condition_active",
        "event_count",
        "opened_at",
        "owner_user",
        "owner_group",
    ]
    list_filter = ["status", "kind", "severity", "condition_active", "site", "line"]
    search_fields = ["title", "key"]
    list_select_related = ["owner_user", "owner_group"]
    date_hierarchy = "opened_at"
    inlines = [CaseEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.ExceptionCaseEvent)
class ExceptionCaseEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "case", "kind", "summary", "actor", "via"]
    list_filter = ["kind", "via"]
    search_fields = ["summary", "event_type"]
    list_select_related = ["case", "actor"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.BoardVersion)
class BoardVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__"]
