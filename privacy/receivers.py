"""Admin sign-ins into the audit log.

The admin login view belongs to Django (and the admin site to nectir/admin_site.py), so
Django's ``user_logged_in`` / ``user_login_failed`` signals are the one place to observe
it. The receivers only decide whether the sign-in was the admin's and delegate the
write to ``privacy.services``; LTI launches also sign people in but are audited as
launches, so they are skipped here.
"""

from django.urls import reverse


def _is_admin_login(request) -> bool:
    return request is not None and request.path == reverse("admin:login") and not getattr(request, "lti_launch", False)


def on_user_logged_in(sender, request, user, **kwargs):
    if _is_admin_login(request):
        from privacy.services import admin_sign_in_record

        admin_sign_in_record(user=user, ip=request.META.get("REMOTE_ADDR", ""))


def on_user_login_failed(sender, credentials, request=None, **kwargs):
    if _is_admin_login(request):
        from privacy.services import admin_sign_in_failed_record

        admin_sign_in_failed_record(ip=request.META.get("REMOTE_ADDR", ""))
