from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "LMS integrations"

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        # An LTI launch records when the person was last seen on their memberships (and
        # sets last_login when it creates the user), so Django's per-login UPDATE of
        # last_login is skipped for launches only: one query less on the launch hot path.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(_update_last_login_unless_lti, dispatch_uid="nectir_update_last_login")


def _update_last_login_unless_lti(sender, user, request=None, **kwargs):
    from django.contrib.auth.models import update_last_login

    if not getattr(request, "lti_launch", False):
        update_last_login(sender, user, **kwargs)
