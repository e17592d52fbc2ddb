from django import forms
from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.urls import reverse
from django.utils.html import format_html

from integrations import services
from integrations.lti.tool_keys import tool_key_rotate
from integrations.models import LaunchEvent, LtiDeployment, LtiIdentity, LtiRegistration, ToolKey
from workspaces.admin_scoping import OWNER, ReadOnlyScopedAdmin, WorkspaceScopedAdmin


class RegistrationForm(forms.ModelForm):
    class Meta:
        model = LtiRegistration
        fields = [
            "workspace",
            "name",
            "preset",
            "client_id",
            "issuer",
            "auth_url",
            "jwks_url",
            "token_url",
            "extra_frame_origins",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        for field, value in services.CANVAS_PRESETS.get(cleaned.get("preset"), {}).items():
            cleaned[field] = value
        return cleaned


@admin.register(LtiRegistration)
class LtiRegistrationAdmin(WorkspaceScopedAdmin):
    form = RegistrationForm
    list_display = ["name", "workspace", "client_id", "issuer", "is_active"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "preset", "is_active"]
    search_fields = ["name", "client_id", "issuer"]
    # A registration's issuer and key-set URL vouch for every launch (and so for the roles
    # launches grant, Owner included): only Owners may add or change one. Editors can view.
    change_roles = OWNER
    readonly_fields = ["tool_urls"]
    fieldsets = [
        (None, {"fields": ["workspace", "name", "preset", "client_id", "is_active"]}),
        (
            "Platform endpoints (filled from a Canvas preset; enter them for 'Other LMS')",
            {"fields": ["issuer", "auth_url", "jwks_url", "token_url"]},
        ),
        ("Framing", {"fields": ["extra_frame_origins"]}),
        ("Tool URLs to give the LMS", {"fields": ["tool_urls"]}),
    ]

    @admin.display(description="Tool URLs")
    def tool_urls(self, obj):
        from django.conf import settings

        base = settings.PUBLIC_BASE_URL
        config = (
            f"{base}{reverse('lti:canvas-config', kwargs={'registration_uuid': obj.uuid})}"
            if obj.pk
            else "(save first)"
        )
        return format_html(
            "<table><tr><th>OIDC login initiation</th><td><code>{}</code></td></tr>"
            "<tr><th>Launch / redirect URI</th><td><code>{}</code></td></tr>"
            "<tr><th>Tool JWKS</th><td><code>{}</code></td></tr>"
            "<tr><th>Canvas developer-key JSON URL</th><td><code>{}</code></td></tr></table>",
            f"{base}/lti/login/",
            f"{base}/lti/launch/",
            f"{base}/.well-known/jwks.json",
            config,
        )

    def save_model(self, request, obj, form, change):
        services.registration_save(registration=obj, actor=request.user, changed_fields=form.changed_data)


@admin.register(LtiDeployment)
class LtiDeploymentAdmin(WorkspaceScopedAdmin):
    list_display = [
        "deployment_id",
        "registration",
        "status",
        "platform_name",
        "canvas_url",
        "first_seen_at",
        "approved_by",
    ]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "status"]
    search_fields = ["deployment_id", "platform_name", "platform_guid", "canvas_url"]
    fields = [
        "workspace",
        "registration",
        "deployment_id",
        "status",
        "platform_guid",
        "platform_name",
        "canvas_url",
        "launch_origin",
        "first_seen_at",
        "approved_at",
        "approved_by",
    ]
    readonly_fields = [
        "registration",
        "deployment_id",
        "status",
        "platform_guid",
        "platform_name",
        "canvas_url",
        "launch_origin",
        "first_seen_at",
        "approved_at",
        "approved_by",
    ]
    change_roles = OWNER
    actions = ["approve", "disable"]

    def has_add_permission(self, request):
        return False  # deployments are proven by a signed launch, or added by lti_register

    def _set(self, request, queryset, status):
        editable = self.filter_editable(request, queryset)
        if editable.count() != queryset.count():
            self.message_user(
                request, "You can only approve or disable deployments of workspaces you own.", messages.ERROR
            )
            return
        for deployment in editable:
            services.deployment_set_status(deployment=deployment, status=status, actor=request.user)
        self.message_user(request, f"{editable.count()} deployment(s) {status}.", messages.SUCCESS)

    @admin.action(description="Approve selected deployments")
    def approve(self, request, queryset):
        self._set(request, queryset, LtiDeployment.Status.APPROVED)

    @admin.action(description="Disable selected deployments")
    def disable(self, request, queryset):
        self._set(request, queryset, LtiDeployment.Status.DISABLED)


@admin.register(LaunchEvent)
class LaunchEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "outcome", "reason", "workspace", "deployment_id", "user", "group", "detail"]
    list_filter = ["outcome", "reason", ("workspace", RelatedOnlyFieldListFilter)]
    search_fields = ["reason", "detail", "deployment_id", "context_id"]
    view_roles = OWNER


@admin.register(LtiIdentity)
class LtiIdentityAdmin(ReadOnlyScopedAdmin):
    list_display = ["name", "email", "lms_user_id", "registration", "workspace", "created_at"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter)]
    search_fields = ["name", "email", "sub", "lms_user_id"]
    view_roles = OWNER


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    """Platform-wide signing keys: superusers only. The private key is never shown."""

    list_display = ["kid", "status", "created_at", "activated_at", "retired_at"]
    fields = ["kid", "status", "public_jwk", "created_at", "activated_at", "retired_at"]
    readonly_fields = fields
    actions = ["rotate"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Rotate tool keys (one staged step)")
    def rotate(self, request, queryset):
        result = tool_key_rotate()
        self.message_user(request, "Key rotation: " + ", ".join(f"{k} {v}" for k, v in result.items()))


from integrations.canvas import admin as canvas_admin  # noqa: E402,F401
