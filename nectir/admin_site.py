from django.contrib import admin
from django.http import HttpRequest


class NectirAdminSite(admin.AdminSite):
    """The Workspace Owners' and Editors' console.

    Anyone active who is Owner or Editor of a workspace may sign in; Django's ``is_staff``
    flag is not needed (giving someone the role is all it takes). Superusers see everything.
    """

    site_header = "Nectir administration"
    site_title = "Nectir admin"
    index_title = "Your workspaces"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        from workspaces.selectors import workspace_admin_roles_for_user

        return bool(workspace_admin_roles_for_user(user=user))
