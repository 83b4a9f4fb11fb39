from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from coordination.models import StateChange
from coordination.outbox import TOPICS
from kernel.admin import ReadOnlyAdmin
from kernel.errors import DomainError

from .cloudevents import EVENT_TYPES
from .delivery import deliveries_retry, target_secret_rotate
from .models import InboxEvent, Integration, IntegrationKey, OutboxDelivery, OutboxTarget
from .services import (
    inbox_reprocess,
    integration_key_issue,
    integration_key_revoke,
    integration_keys_rotate,
)


class IntegrationForm(forms.ModelForm):
    allowed_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: it may send every type.",
    )

    class Meta:
        model = Integration
        fields = ["name", "site", "allowed_types", "active", "description"]


class IntegrationKeyInline(admin.TabularInline):
    model = IntegrationKey
    extra = 0
    can_delete = False
    fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # keys are issued by the action, which shows the clear key once


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationForm
    list_display = ["name", "site", "types", "active", "created_at"]
    list_filter = ["active", "site"]
    search_fields = ["name", "description"]
    inlines = [IntegrationKeyInline]
    actions = ["issue_key", "rotate_keys", "import_b2mml"]

    @admin.display(description="event types")
    def types(self, obj):
        return ", ".join(obj.allowed_types) or "all"

    def _show(self, request, integration, key):
        self.log_change(request, integration, f"Issued key {key[:10]}…")
        self.message_user(
            request,
            f"New key for {integration.name} (copy it now, it is shown only once): {key}",
            messages.WARNING,
        )

    @admin.action(description="Issue a new key (shown once)")
    def issue_key(self, request, queryset):
        for integration in queryset:
            self._show(request, integration, integration_key_issue(integration))

    @admin.action(description="Rotate: issue a new key and revoke the old ones")
    def rotate_keys(self, request, queryset):
        for integration in queryset:
            key = integration_keys_rotate(integration_id=integration.pk)
            self.log_change(request, integration, "Rotated: older keys revoked")
            self._show(request, integration, key)

    # --- B2MML file import in the browser (the same import as the command and the API) -----

    @admin.action(description="Import a B2MML file as this integration…")
    def import_b2mml(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one integration.", messages.ERROR)
            return None
        return redirect("admin:integrations_integration_import_b2mml", queryset.get().pk)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_b2mml_view)
        return [
            path("<int:pk>/import-b2mml/", view, name="integrations_integration_import_b2mml"),
            *super().get_urls(),
        ]

    def import_b2mml_view(self, request, pk: int):
        from .b2mml.importer import b2mml_import
        from .b2mml.reader import MAX_BYTES, B2mmlError

        integration = get_object_or_404(Integration, pk=pk)
        if not self.has_change_permission(request, integration):
            raise PermissionDenied
        form = B2mmlUploadForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "integration": integration}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(MAX_BYTES + 1)
            try:
                result = b2mml_import(
                    data, integration=integration, actor=request.user,
                    via=StateChange.Via.ADMIN, filename=upload.name,
                )  # fmt: skip
            except B2mmlError as exc:
                context["problems"] = exc.problems
            except DomainError as exc:
                context["problems"] = [exc.detail]
            else:
                context["result"] = result.as_dict()
                self.log_change(request, integration, f"Imported B2MML {upload.name}")
        context.update(form=form, title=f"Import a B2MML file as {integration.name}")
        return render(request, "admin/integrations/integration/import_b2mml.html", context)


class B2mmlUploadForm(forms.Form):
    file = forms.FileField(
        help_text="B2MML V0600 or V0401: ProductionSchedule, MaterialInformation / "
        "MaterialDefinition / MaterialLot, ProductionPerformance (at most 5 MiB). All or "
        "nothing: any problem and nothing is imported."
    )


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(admin.ModelAdmin):
    list_display = ["integration", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["integration", ("revoked_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "integration",
        "prefix",
        "digest",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys (they stop working at once)")
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            integration_key_revoke(key_id=key.pk)
            self.log_change(request, key, "Revoked")
        self.message_user(request, f"Revoked {len(keys)} key(s).")


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):
    """The inbox is a record of what arrived: read-only, except reprocessing parked events."""

    list_display = ["received_at", "type", "source", "event_id", "site", "status", "error"]
    list_filter = ["status", "type", "integration"]
    search_fields = ["source", "event_id", "error"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    readonly_fields = [f.name for f in InboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Reprocess selected failed events")
    def reprocess(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = inbox_reprocess(ids=ids, actor=request.user, via="admin")
        self.message_user(request, f"Queued {count} failed event(s) again.")


class OutboxTargetForm(forms.ModelForm):
    topics = forms.MultipleChoiceField(
        choices=[(t, t) for t in TOPICS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: it gets every message type.",
    )

    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text="Where messages are POSTed."
    )

    class Meta:
        model = OutboxTarget
        fields = ["name", "url", "topics", "timeout", "enabled"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("must be an http:// or https:// URL")
        return url


@admin.register(OutboxTarget)
class OutboxTargetAdmin(admin.ModelAdmin):
    """Where the outbox goes. The signing secret is shown once, when created or rotated."""

    form = OutboxTargetForm
    list_display = ["name", "url", "types", "timeout", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]
    actions = ["rotate_secret"]

    @admin.display(description="message types")
    def types(self, obj):
        return ", ".join(obj.topics) or "all"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self._show(request, obj, obj.secret)

    def _show(self, request, target, secret):
        self.message_user(
            request,
            f"Signing secret for {target.name} (give it to the receiver now, it is shown only "
            f"once): {secret}",
            messages.WARNING,
        )

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secret(self, request, queryset):
        for target in queryset:
            secret = target_secret_rotate(target_id=target.pk)
            self.log_change(request, target, "Rotated the signing secret")
            self._show(request, target, secret)


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(ReadOnlyAdmin):
    """Deliveries are the relay's record: read-only, except retrying dead ones."""

    list_display = ["id", "topic", "aggregate", "target", "status", "attempts", "last_error"]
    list_filter = ["status", "target"]
    search_fields = ["aggregate", "last_error", "message__key"]
    list_select_related = ["message", "target"]
    actions = ["retry"]

    @admin.display(description="type")
    def topic(self, obj):
        return obj.message.topic

    def has_change_permission(self, request, obj=None):
        # Needed for the action; every field stays read-only.
        return request.user.has_perm("integrations.change_outboxdelivery")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OutboxDelivery._meta.fields]

    @admin.action(description="Retry selected dead deliveries")
    def retry(self, request, queryset):
        ids = list(queryset.filter(status="dead").values_list("pk", flat=True))
        count = deliveries_retry(ids=ids, actor=request.user, via="admin")
        skipped = queryset.count() - count
        self.message_user(
            request,
            f"Queued {count} dead deliveries again."
            + (f" {skipped} selected were not dead and were left as they are." if skipped else ""),
        )
