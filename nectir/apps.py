from django.contrib.admin.apps import AdminConfig


class NectirAdminConfig(AdminConfig):
    """Replaces the default admin site with the workspace-scoped one."""

    default_site = "nectir.admin_site.NectirAdminSite"
