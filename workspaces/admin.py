from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter

from workspaces import services
from workspaces.admin_scoping import OWNER, OWNER_EDITOR, ReadOnlyScopedAdmin, WorkspaceScopedAdmin
from workspaces.models import Group, GroupMembership, RoleChange, RoleMapping, Workspace, WorkspaceMembership


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_lookup = "pk"
    list_display = ["name", "slug", "role_mapping_policy", "deployment_approval"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "uuid", "role_mapping_policy", "deployment_approval", "frame_origins"]
    readonly_fields = ["uuid", "frame_origins"]
    add_roles = ()  # only superusers create workspaces

    def obj_workspace_id(self, obj):
        return obj.pk

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("slug")
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            services.workspace_update(workspace=obj, fields=[f for f in form.changed_data if f != "uuid"] or ["name"])
        else:
            created = services.workspace_create(
                name=obj.name,
                slug=obj.slug,
                role_mapping_policy=obj.role_mapping_policy,
                deployment_approval=obj.deployment_approval,
            )
            obj.pk = created.pk


@admin.register(WorkspaceMembership)
class WorkspaceMembershipAdmin(WorkspaceScopedAdmin):
    list_display = ["user", "workspace", "role", "role_pinned", "source", "created_at"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "role", "source"]
    search_fields = ["user__username", "user__email", "user__first_name"]
    fields = ["workspace", "user", "role", "role_pinned", "source"]
    readonly_fields = ["source"]
    change_roles = OWNER

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "user"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        services.workspace_membership_save(membership=obj, changed_by=request.user)


class ChildGroupInline(admin.TabularInline):
    model = Group
    fk_name = "parent"
    fields = ["name", "lms_section_id", "is_active"]
    readonly_fields = ["lms_section_id"]
    extra = 0
    show_change_link = True
    verbose_name = "section (sub-group)"
    verbose_name_plural = "sections (sub-groups)"

    def has_add_permission(self, request, obj=None):
        return False

    # Django's inline permissions come from model permissions (is_staff users); here they
    # follow the parent group's admin: the user's role in the group's workspace.
    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(Group).has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(Group).has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(Group).has_delete_permission(request, obj)


@admin.register(Group)
class GroupAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "parent", "lms_course_label", "is_active", "updated_at"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "is_active"]
    search_fields = ["name", "lms_course_label", "lms_context_id", "canvas_course_id"]
    fields = [
        "workspace",
        "name",
        "parent",
        "is_active",
        "lms_context_id",
        "lms_section_id",
        "lms_course_label",
        "canvas_course_id",
        "lms_deployment",
        "uuid",
    ]
    readonly_fields = ["uuid", "lms_context_id", "lms_section_id", "lms_deployment"]
    change_roles = OWNER_EDITOR
    inlines = [ChildGroupInline]

    def save_model(self, request, obj, form, change):
        services.group_save(group=obj)

    def save_formset(self, request, form, formset, change):
        for child in formset.save(commit=False):
            services.group_save(group=child)
        for deleted in formset.deleted_objects:
            deleted.delete()


@admin.register(GroupMembership)
class GroupMembershipAdmin(WorkspaceScopedAdmin):
    list_display = ["user", "group", "role", "role_pinned", "source", "is_active", "last_seen_at"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "role", "source", "is_active"]
    search_fields = ["user__username", "user__email", "user__first_name", "group__name"]
    fields = ["group", "user", "role", "role_pinned", "is_active", "lms_roles", "source", "last_seen_at"]
    readonly_fields = ["lms_roles", "source", "last_seen_at"]
    autocomplete_fields = ["group"]
    change_roles = OWNER_EDITOR

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "group", "user"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        services.group_membership_save(membership=obj, changed_by=request.user)


@admin.register(RoleMapping)
class RoleMappingAdmin(WorkspaceScopedAdmin):
    list_display = ["lms_role", "workspace_role", "group_role", "workspace"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter)]
    fields = ["workspace", "lms_role", "workspace_role", "group_role"]
    readonly_fields = ["lms_role"]
    change_roles = OWNER
    actions = []

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.role_mapping_update(mapping=obj, changed_by=request.user)


@admin.register(RoleChange)
class RoleChangeAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "user", "scope", "group", "from_role", "to_role", "reason", "changed_by"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "scope"]
    search_fields = ["user__username", "user__email", "reason"]
    view_roles = OWNER
