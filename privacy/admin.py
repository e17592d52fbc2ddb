"""Audit log (Owners: read, filter, search, export CSV), retention settings and share links."""

from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from privacy import services
from privacy.models import AuditEntry, DataAccessLink, RetentionPolicy
from workspaces.admin_scoping import OWNER, ReadOnlyScopedAdmin, WorkspaceScopedAdmin


def _privacy_links(workspace) -> str:
    return format_html(
        '<a href="{}">Data-access page</a> · <a href="{}">Privacy tools</a>',
        reverse("privacy:data-access", kwargs={"workspace_uuid": workspace.uuid}),
        reverse("privacy:tools", kwargs={"workspace_uuid": workspace.uuid}),
    )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "action", "actor_label", "target", "workspace", "details"]
    list_filter = ["action", ("workspace", RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["action", "target", "actor_label"]
    date_hierarchy = "created_at"
    fields = ["created_at", "workspace", "action", "actor_id", "actor_label", "target", "details"]
    readonly_fields = fields
    view_roles = OWNER
    actions = ["export_csv"]
    list_select_related = ["workspace"]

    @admin.action(description="Export selected entries as CSV")
    def export_csv(self, request, queryset):
        queryset = self.get_queryset(request).filter(pk__in=queryset.values("pk")).order_by("created_at", "id")
        workspace_ids = set(queryset.values_list("workspace_id", flat=True))
        if len(workspace_ids) != 1 or None in workspace_ids:
            self.message_user(request, "Select the entries of one workspace to export.", messages.ERROR)
            return None
        workspace = queryset.first().workspace
        if not request.user.is_superuser and workspace.pk not in self.ws_ids(request, self.view_roles):
            raise PermissionDenied
        body = services.audit_log_csv(workspace=workspace, entries=queryset, actor=request.user)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{workspace.slug}.csv"'
        return response


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(WorkspaceScopedAdmin):
    list_display = ["workspace", "launch_event_days", "audit_entry_days", "inactive_membership_days", "privacy"]
    fields = ["workspace", "launch_event_days", "audit_entry_days", "inactive_membership_days", "privacy"]
    readonly_fields = ["privacy"]
    change_roles = OWNER
    actions = []

    @admin.display(description="Privacy pages")
    def privacy(self, obj):
        return _privacy_links(obj.workspace) if obj.pk else "(save first)"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.retention_policy_save(policy=obj, actor=request.user)


@admin.register(DataAccessLink)
class DataAccessLinkAdmin(ReadOnlyScopedAdmin):
    """Share links (made and revoked on the privacy tools page; revocable here too)."""

    list_display = ["__str__", "workspace", "created_at", "created_by", "revoked_at", "revoked_by", "privacy"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter)]
    fields = ["workspace", "token_hint", "created_at", "created_by", "revoked_at", "revoked_by"]
    readonly_fields = fields
    view_roles = OWNER
    actions = ["revoke"]

    @admin.display(description="Privacy pages")
    def privacy(self, obj):
        return _privacy_links(obj.workspace)

    @admin.action(description="Revoke the selected links")
    def revoke(self, request, queryset):
        owned = set(self.ws_ids(request, OWNER))
        workspaces = {link.workspace for link in queryset.select_related("workspace") if link.is_active}
        if not request.user.is_superuser and any(w.pk not in owned for w in workspaces):
            raise PermissionDenied
        for workspace in workspaces:
            services.data_access_link_revoke(workspace=workspace, actor=request.user)
        self.message_user(request, f"{len(workspaces)} link(s) revoked.", messages.SUCCESS)
