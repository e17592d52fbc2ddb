"""The base every admin in the Owners' and Editors' console inherits.

It scopes every door of the Django admin by the user's role in each workspace:
changelist and search (get_queryset), change/delete/history views (get_object -> 404
for another workspace's object, exactly like a missing one), foreign-key dropdowns and
raw-id/autocomplete lookups (related querysets), list filters (RelatedOnlyFieldListFilter
over the scoped queryset), bulk actions (a scoped delete_selected) and the index
(has_module_permission). Too low a role gets 403. Superusers see everything.
"""

from django.contrib import admin
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404

from workspaces.models import Workspace, WorkspaceRole
from workspaces.selectors import workspace_ids_with_role

OWNER = (WorkspaceRole.OWNER,)
OWNER_EDITOR = (WorkspaceRole.OWNER, WorkspaceRole.EDITOR)
NOBODY: tuple[str, ...] = ()


def users_known_to_workspaces(workspace_ids):
    """People who belong to (or have launched into) one of these workspaces."""
    return (
        get_user_model()
        .objects.filter(
            Q(workspace_memberships__workspace__in=workspace_ids) | Q(lti_identities__workspace__in=workspace_ids)
        )
        .distinct()
    )


# Named like Django's site-wide action so that it replaces it (one "Delete selected" entry),
# and offered only to those who may delete.
@admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
def delete_selected(modeladmin, request, queryset):
    allowed = modeladmin.filter_editable(request, queryset)
    if allowed.count() != queryset.count():
        raise PermissionDenied
    return django_delete_selected(modeladmin, request, queryset)


class WorkspaceScopedAdmin(admin.ModelAdmin):
    #: Lookup from this model to its workspace id.
    workspace_lookup = "workspace"
    view_roles: tuple[str, ...] = OWNER_EDITOR
    change_roles: tuple[str, ...] = OWNER
    add_roles: tuple[str, ...] | None = None  # defaults to change_roles
    actions = [delete_selected]

    # --- which workspaces --------------------------------------------------------------
    def ws_ids(self, request, roles) -> list[int]:
        return workspace_ids_with_role(user=request.user, roles=roles)

    def obj_workspace_id(self, obj) -> int:
        return obj.workspace_id

    def _allowed(self, request, roles, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        ids = self.ws_ids(request, roles)
        if obj is None:
            return bool(ids)
        return self.obj_workspace_id(obj) in ids

    def filter_editable(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.workspace_lookup}__in": self.ws_ids(request, self.change_roles)})

    # --- doors -------------------------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.workspace_lookup}__in": self.ws_ids(request, self.view_roles)})

    def get_object(self, request, object_id, from_field=None):
        # Looked up among every workspace the user administers (not only those whose rows
        # this admin lists), so an object of their own workspace that their role may not
        # open is 403, while another workspace's object is 404 exactly like a missing one.
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(**{f"{self.workspace_lookup}__in": self.ws_ids(request, OWNER_EDITOR)})
        field = self.model._meta.pk if from_field is None else self.model._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            raise Http404("No such object") from None

    def has_module_permission(self, request):
        return self._allowed(request, self.view_roles)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_roles, obj) or self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, self.change_roles, obj)

    def has_add_permission(self, request):
        roles = self.change_roles if self.add_roles is None else self.add_roles
        return self._allowed(request, roles)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, self.change_roles, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "workspace" not in fields and self.workspace_lookup == "workspace":
            fields.append("workspace")
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            ids = self.ws_ids(request, self.change_roles)
            related = db_field.related_model
            if related is Workspace:
                kwargs["queryset"] = Workspace.objects.filter(pk__in=ids)
            elif related is get_user_model():
                kwargs["queryset"] = users_known_to_workspaces(ids)
            elif any(f.name == "workspace" for f in related._meta.fields):
                kwargs["queryset"] = related._default_manager.filter(workspace__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        # Autocomplete asks the *related* admin; its queryset is already scoped here.
        return super().get_search_results(request, queryset, search_term)


class ReadOnlyScopedAdmin(WorkspaceScopedAdmin):
    """Append-only records: visible to the given roles, never edited in the admin."""

    actions = []
    change_roles = NOBODY

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
