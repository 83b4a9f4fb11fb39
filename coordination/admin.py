"""Admin for the operational picture. FSM states are read-only here: they change only
through transitions (pages, API, events), which audit who and why."""

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

from kernel.admin import ReadOnlyAdmin

from . import models


class StateChangeInline(GenericTabularInline):
    model = models.StateChange
    extra = 0
    can_delete = False
    fields = ["at", "transition", "from_state", "to_state", "actor", "via", "reason"]
    readonly_fields = fields
    ct_field = "content_type"
    ct_fk_field = "object_id"

    def has_add_permission(self, request, obj=None):
        return False


class FSMAdmin(admin.ModelAdmin):
    readonly_fields = ["status"]
    inlines = [StateChangeInline]


@admin.register(models.Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(models.Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "site"]
    list_filter = ["site", "kind"]
    search_fields = ["code", "name"]


class AssetInline(admin.TabularInline):
    model = models.Asset
    extra = 0


class ChangeoverInline(admin.TabularInline):
    model = models.ChangeoverMatrix
    extra = 0


@admin.register(models.Line)
class LineAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "status", "status_since", "status_reason"]
    list_filter = ["site", "status"]
    search_fields = ["code", "name"]
    inlines = [AssetInline, ChangeoverInline]


@admin.register(models.Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "line"]
    list_filter = ["line"]
    search_fields = ["code", "name"]


@admin.register(models.Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["code", "description", "kind", "family", "uom", "rate_per_hour"]
    list_filter = ["kind", "family"]
    search_fields = ["code", "description"]


@admin.register(models.ChangeoverMatrix)
class ChangeoverMatrixAdmin(admin.ModelAdmin):
    list_display = ["line", "from_family", "to_family", "minutes"]
    list_filter = ["line"]
    search_fields = ["from_family", "to_family"]


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "tier"]
    list_filter = ["tier"]
    search_fields = ["code", "name"]


@admin.register(models.Order)
class OrderAdmin(FSMAdmin):
    list_display = ["number", "customer", "item", "quantity", "due_at", "priority", "status"]
    list_filter = ["status", "site", "priority", "customer__tier"]
    search_fields = ["number", "customer__name", "customer__code", "item__code"]
    date_hierarchy = "due_at"
    list_select_related = ["customer", "item"]
    autocomplete_fields = ["customer", "item"]


@admin.register(models.Job)
class JobAdmin(FSMAdmin):
    list_display = [
        "number",
        "line",
        "sequence",
        "order",
        "item",
        "quantity",
        "planned_start",
        "planned_end",
        "status",
    ]
    list_filter = ["status", "line"]
    search_fields = ["number", "order__number", "item__code"]
    list_select_related = ["line", "order", "item"]
    autocomplete_fields = ["order", "item"]


@admin.register(models.Lot)
class LotAdmin(FSMAdmin):
    list_display = ["code", "item", "quantity", "location", "status", "hold_reason"]
    list_filter = ["status", "location__site", "location"]
    search_fields = ["code", "item__code", "job__number"]
    list_select_related = ["item", "location"]
    readonly_fields = ["status", "hold_reason"]
    autocomplete_fields = ["item", "job"]


@admin.register(models.Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["item", "location", "quantity", "updated_at"]
    list_filter = ["location"]
    search_fields = ["item__code", "location__code"]
    list_select_related = ["item", "location"]


@admin.register(models.Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "starts", "ends", "crew_size"]
    list_filter = ["site"]


@admin.register(models.StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    """The audit trail: readable, never editable."""

    list_display = [
        "at",
        "content_type",
        "object_id",
        "transition",
        "from_state",
        "to_state",
        "actor",
        "via",
    ]
    list_filter = ["content_type", "via", "transition"]
    search_fields = ["reason", "actor__username"]
    date_hierarchy = "at"


@admin.register(models.Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at", "token"]
    readonly_fields = ["name", "seen_at", "token"]


@admin.register(models.PlanningPolicy)
class PlanningPolicyAdmin(admin.ModelAdmin):
    """Tier weights, frozen horizon and estimates of resequencing proposals (plant, per line)."""

    list_display = (
        "__str__",
        "frozen_minutes",
        "repair_minutes",
        "material_minutes",
        "strategic_weight",
        "key_weight",
        "standard_weight",
        "changeover_weight",
    )


@admin.register(models.Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "line", "trigger", "status", "created_at", "ready_seconds")
    list_filter = ("status", "trigger", "line")


@admin.register(models.SequenceDecision)
class SequenceDecisionAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "chosen_label", "decided_by", "decided_at", "actual_at")
