"""Admin for the Canvas API connection (imported by integrations/admin.py).

Owners and Editors of a workspace: connection (three inputs, the secret write-only), the
redirect URI and scopes to copy, Authorize / Test connection / Sync now / Disconnect, course
links with progress, last success and last error, and the content each import stored.
Every door is scoped by ``WorkspaceScopedAdmin``; custom views start from ``get_object``
(404 for another workspace) and check the change permission (403 for too low a role).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from integrations.canvas import client as canvas
from integrations.canvas import selectors, services
from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection, CanvasCourseSync
from workspaces.admin_scoping import OWNER, OWNER_EDITOR, ReadOnlyScopedAdmin, WorkspaceScopedAdmin


class CanvasConnectionForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The developer key's client secret. Write-only: it is encrypted and never shown again. "
        "Leave blank to keep the stored one; enter it again when the Canvas address or client ID changes.",
    )

    class Meta:
        model = CanvasConnection
        fields = ["workspace", "instance_url", "client_id", "use_pkce"]

    def clean_instance_url(self):
        try:
            url = canvas.normalize_instance_url(self.cleaned_data["instance_url"])
            canvas.instance_url_check_public(url)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean_client_id(self):
        value = self.cleaned_data["client_id"].strip()
        if not value.replace("~", "").isalnum():
            raise forms.ValidationError("The client ID is the developer key's ID (digits), e.g. 10000000000042.")
        return value

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("new_client_secret"):
            self.add_error("new_client_secret", "Enter the developer key's client secret.")
        elif (
            self.instance.pk
            and not cleaned.get("new_client_secret")
            and "instance_url" in cleaned
            and "client_id" in cleaned
            and (cleaned["instance_url"], cleaned["client_id"]) != (self.instance.instance_url, self.instance.client_id)
        ):
            # The stored secret is never sent to a new address or with a new client ID.
            self.add_error("new_client_secret", services.SECRET_AGAIN)
        return cleaned


class _PostActionsMixin:
    """Admin views for one object's buttons: scoped fetch (404), change permission (403), POST."""

    def _object_for_action(self, request, object_id):
        obj = self.get_object(request, object_id)  # 404 for missing and another workspace's
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _back(self, obj):
        meta = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))


@admin.register(CanvasConnection)
class CanvasConnectionAdmin(_PostActionsMixin, WorkspaceScopedAdmin):
    form = CanvasConnectionForm
    change_form_template = "canvas/connection_change_form.html"
    change_roles = OWNER_EDITOR
    list_display = ["workspace", "instance_url", "status", "canvas_user_name", "last_refresh_at", "last_error"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "status"]
    search_fields = ["instance_url", "client_id", "canvas_user_name"]
    readonly_fields = [
        "redirect_uri",
        "scopes_to_copy",
        "status",
        "connected_as",
        "granted_scopes",
        "token_expires_at",
        "last_refresh_at",
        "last_error",
        "last_error_at",
    ]
    fieldsets = [
        (
            "Canvas API developer key",
            {"fields": ["workspace", "instance_url", "client_id", "new_client_secret", "use_pkce"]},
        ),
        (
            "Put these on the developer key (Admin › Developer Keys › + API Key, Enforce Scopes on)",
            {"fields": ["redirect_uri", "scopes_to_copy"]},
        ),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "connected_as",
                    "granted_scopes",
                    "token_expires_at",
                    "last_refresh_at",
                    "last_error",
                    "last_error_at",
                ]
            },
        ),
    ]

    @admin.display(description="Redirect URI")
    def redirect_uri(self, obj):
        return format_html("<code>{}</code>", services.redirect_uri())

    @admin.display(description="Scopes to enable (copy them all)")
    def scopes_to_copy(self, obj):
        return format_html(
            '<textarea readonly rows="{}" cols="80" style="font-family:monospace">{}</textarea>',
            len(canvas.SCOPES),
            "\n".join(canvas.SCOPES),
        )

    @admin.display(description="Connected as")
    def connected_as(self, obj):
        if not obj or not obj.canvas_user_id:
            return "—"
        return f"{obj.canvas_user_name} (Canvas user {obj.canvas_user_id})"

    @admin.display(description="Scopes of the current token")
    def granted_scopes(self, obj):
        if not obj or not obj.scopes:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li><code>{}</code></li>", ((s,) for s in obj.scopes)))

    def save_model(self, request, obj, form, change):
        try:
            services.canvas_connection_save(
                connection=obj, new_secret=form.cleaned_data.get("new_client_secret", ""), actor=request.user
            )
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def delete_model(self, request, obj):
        services.canvas_connection_delete(connection=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in self.filter_editable(request, queryset):
            services.canvas_connection_delete(connection=obj, actor=request.user)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/authorize/", wrap(self.authorize_view), name="integrations_canvas_authorize"),
            path("<path:object_id>/test/", wrap(self.test_view), name="integrations_canvas_test"),
            path("<path:object_id>/disconnect/", wrap(self.disconnect_view), name="integrations_canvas_disconnect"),
            path("<path:object_id>/sync/", wrap(self.sync_view), name="integrations_canvas_sync_all"),
            *super().get_urls(),
        ]

    def authorize_view(self, request, object_id):
        connection = self._object_for_action(request, object_id)  # 404 / 403 before anything else
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        url = services.canvas_oauth_start(connection=connection, user=request.user, session=request.session)
        return HttpResponseRedirect(url)

    def test_view(self, request, object_id):
        connection = self._object_for_action(request, object_id)  # 404 / 403 before anything else
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        outcome = services.canvas_connection_test(connection=connection, actor=request.user)
        self.message_user(request, outcome.message, messages.SUCCESS if outcome.ok else messages.ERROR)
        return self._back(connection)

    def disconnect_view(self, request, object_id):
        connection = self._object_for_action(request, object_id)  # 404 / 403 before anything else
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        outcome = services.canvas_disconnect(connection=connection, actor=request.user)
        self.message_user(request, outcome.message, messages.SUCCESS if outcome.ok else messages.WARNING)
        return self._back(connection)

    def sync_view(self, request, object_id):
        connection = self._object_for_action(request, object_id)  # 404 / 403 before anything else
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if connection.status != CanvasConnection.Status.CONNECTED:
            self.message_user(request, "Authorize with Canvas before syncing.", messages.ERROR)
            return self._back(connection)
        count = services.connection_sync_request(connection=connection, actor=request.user)
        self.message_user(request, f"Sync queued for {count} linked course(s).", messages.SUCCESS)
        return self._back(connection)


class CourseSyncForm(forms.ModelForm):
    class Meta:
        model = CanvasCourseSync
        fields = ["group", "picked_course_id", "enabled"]

    def clean_picked_course_id(self):
        value = self.cleaned_data["picked_course_id"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError("A Canvas course id is a number (or use “Pick course”).")
        return value


@admin.register(CanvasCourseSync)
class CanvasCourseSyncAdmin(_PostActionsMixin, WorkspaceScopedAdmin):
    form = CourseSyncForm
    change_form_template = "canvas/coursesync_change_form.html"
    change_roles = OWNER_EDITOR
    list_display = ["group", "course", "state", "progress", "last_success_at", "last_error", "enabled"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "state", "enabled"]
    search_fields = ["group__name", "course_name", "picked_course_id", "group__canvas_course_id"]
    readonly_fields = [
        "course",
        "state",
        "progress",
        "started_at",
        "finished_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "last_stats",
    ]
    fieldsets = [
        (None, {"fields": ["group", "picked_course_id", "course", "enabled"]}),
        (
            "Sync",
            {
                "fields": [
                    "state",
                    "progress",
                    "started_at",
                    "finished_at",
                    "last_success_at",
                    "last_error",
                    "last_error_at",
                    "last_stats",
                ]
            },
        ),
    ]
    actions = ["sync_now"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "group"] if obj is not None else fields

    @admin.display(description="Canvas course")
    def course(self, obj):
        if not obj or not obj.course_id:
            return "— (launch from the course, or pick one)"
        source = "picked" if obj.picked_course_id else "from the LTI launch"
        return f"{obj.course_name or 'Course'} ({obj.course_id}, {source})"

    @admin.display(description="Progress")
    def progress(self, obj):
        if not obj or obj.state == CanvasCourseSync.State.IDLE:
            return "—"
        return f"{obj.phase or obj.state}: {obj.items_done} of {obj.items_total} items"

    def save_model(self, request, obj, form, change):
        link = services.course_link_create(
            group=obj.group, picked_course_id=obj.picked_course_id, enabled=obj.enabled, actor=request.user
        )
        obj.pk = link.pk

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        editable = self.filter_editable(request, queryset)
        if editable.count() != queryset.count():
            raise PermissionDenied
        queued = sum(services.course_sync_request(course_sync=link, actor=request.user) for link in editable)
        self.message_user(request, f"Sync queued for {queued} course(s); others were already running.")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/sync/", wrap(self.sync_view), name="integrations_canvascoursesync_sync"),
            path("<path:object_id>/pick/", wrap(self.pick_view), name="integrations_canvascoursesync_pick"),
            path("<path:object_id>/content/", wrap(self.content_view), name="integrations_canvascoursesync_content"),
            *super().get_urls(),
        ]

    def sync_view(self, request, object_id):
        link = self._object_for_action(request, object_id)  # 404 / 403 before anything else
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if services.course_sync_request(course_sync=link, actor=request.user):
            self.message_user(request, "Sync queued.", messages.SUCCESS)
        else:
            self.message_user(request, "A sync of this course is already running.", messages.WARNING)
        return self._back(link)

    def pick_view(self, request, object_id):
        link = self._object_for_action(request, object_id)
        connection = selectors.connection_for_workspace(workspace_id=link.workspace_id)
        if connection is None or connection.status != CanvasConnection.Status.CONNECTED:
            self.message_user(request, "Connect and authorize Canvas for this workspace first.", messages.ERROR)
            return self._back(link)
        try:
            courses = services.canvas_course_list(connection=connection)
        except canvas.CanvasError as exc:
            self.message_user(request, f"Could not list courses: {exc}", messages.ERROR)
            return self._back(link)
        if request.method == "POST":
            chosen = {c["id"]: c for c in courses}.get(request.POST.get("course_id", ""))
            if chosen is None:
                self.message_user(request, "Pick a course from the list.", messages.ERROR)
            else:
                services.course_link_set(
                    group=link.group, course_id=chosen["id"], course_name=chosen["name"], actor=request.user
                )
                self.message_user(request, f"{link.group} is linked to {chosen['name']}.", messages.SUCCESS)
                return self._back(link)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pick the Canvas course for {link.group}",
            "opts": self.model._meta,
            "original": link,
            "courses": courses,
        }
        return TemplateResponse(request, "canvas/course_pick.html", context)

    def content_view(self, request, object_id):
        link = self.get_object(request, object_id)  # 404 for another workspace
        if not self.has_view_permission(request, link):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Imported from Canvas for {link.group}",
            "opts": self.model._meta,
            "original": link,
            "items": selectors.knowledge_items_for_course_sync(course_sync=link),
        }
        return TemplateResponse(request, "canvas/course_content.html", context)


@admin.register(CanvasApiRequestCount)
class CanvasApiRequestCountAdmin(ReadOnlyScopedAdmin):
    """What was read from Canvas: requests per endpoint template and day (no bodies)."""

    list_display = ["day", "endpoint", "count", "workspace"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "day"]
    search_fields = ["endpoint"]
    view_roles = OWNER

    def has_delete_permission(self, request, obj=None):
        return False
