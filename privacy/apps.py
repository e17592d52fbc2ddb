from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy and audit"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from privacy import receivers

        user_logged_in.connect(receivers.on_user_logged_in, dispatch_uid="privacy-admin-sign-in")
        user_login_failed.connect(receivers.on_user_login_failed, dispatch_uid="privacy-admin-sign-in-failed")
