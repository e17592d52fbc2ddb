import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from workspaces.models import Workspace, WorkspaceMembership, WorkspaceRole
from workspaces.services import workspace_create, workspace_membership_save


class Command(BaseCommand):
    help = "Create the demo workspace (slug 'demo') and a demo admin whose password is printed once."

    def handle(self, *args, **options):
        User = get_user_model()
        with transaction.atomic():
            workspace = Workspace.objects.filter(slug="demo").first()
            if workspace is None:
                workspace = workspace_create(
                    name="Demo University", slug="demo", deployment_approval=Workspace.DeploymentApproval.AUTOMATIC
                )
                self.stdout.write("Created the demo workspace (slug 'demo').")
            if settings.LTI_TEST_PLATFORM_ENABLED:
                self._test_platform(workspace)
            if User.objects.filter(username="demo-admin").exists():
                self.stdout.write("Demo admin 'demo-admin' exists; its password was printed when it was created.")
                return
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username="demo-admin", password=password, is_staff=True)
            workspace_membership_save(
                membership=WorkspaceMembership(workspace=workspace, user=user, role=WorkspaceRole.OWNER),
                changed_by=None,
                reason="demo setup",
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo admin created: sign in at /admin/ as 'demo-admin' with password "
                f"{password}\n(This password is shown only once. Reset it with "
                "`python manage.py changepassword demo-admin`.)"
            )
        )

    def _test_platform(self, workspace):
        from integrations.lti import test_platform
        from integrations.models import LtiRegistration
        from integrations.services import deployment_create, registration_save

        base = settings.PUBLIC_BASE_URL
        registration = LtiRegistration.objects.filter(client_id=test_platform.CLIENT_ID).first()
        if registration is None:
            registration = registration_save(
                registration=LtiRegistration(
                    workspace=workspace,
                    name="Built-in test platform",
                    preset=LtiRegistration.Preset.OTHER,
                    issuer=test_platform.issuer(),
                    client_id=test_platform.CLIENT_ID,
                    auth_url=f"{base}/lti/test-platform/authorize/",
                    jwks_url=f"{base}/lti/test-platform/jwks.json",
                    token_url=f"{base}/lti/test-platform/token/",
                )
            )
            deployment_create(registration=registration, deployment_id=test_platform.DEPLOYMENT_ID)
            self.stdout.write(f"Test platform registered: launch at {base}/lti/test-platform/")
