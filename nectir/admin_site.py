from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def _may_use_console(user) -> bool:
    if not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    from workspaces.selectors import workspace_admin_roles_for_user

    return bool(workspace_admin_roles_for_user(user=user))


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    """The admin login form, admitting Workspace Owners and Editors instead of ``is_staff`` users."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct %(username)s and password of a workspace Owner or Editor. "
        "Note that both fields may be case-sensitive.",
    }

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)
        if not _may_use_console(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class NectirAdminSite(admin.AdminSite):
    """The Workspace Owners' and Editors' console.

    Anyone active who is Owner or Editor of a workspace may sign in; Django's ``is_staff``
    flag is not needed (giving someone the role is all it takes). Superusers see everything.
    """

    site_header = "Nectir administration"
    site_title = "Nectir admin"
    index_title = "Your workspaces"
    login_form = ConsoleAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return _may_use_console(request.user)
