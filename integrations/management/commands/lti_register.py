from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations.models import LtiRegistration
from integrations.services import deployment_create, registration_save
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Create an LTI 1.3 registration (and optionally an approved deployment) for a workspace."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--auth-url", required=True)
        parser.add_argument("--jwks-url", required=True)
        parser.add_argument("--token-url", required=True)
        parser.add_argument("--deployment-id", default="")
        parser.add_argument("--name", default="Canvas")

    def handle(self, *args, **opts):
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {opts['workspace']!r}")
        registration = LtiRegistration.objects.filter(issuer=opts["issuer"], client_id=opts["client_id"]).first()
        if registration is not None and registration.workspace_id != workspace.pk:
            raise CommandError("This client ID is already registered for this issuer by another workspace.")
        registration = registration or LtiRegistration(workspace=workspace)
        registration.name = opts["name"]
        registration.preset = LtiRegistration.Preset.OTHER
        registration.issuer = opts["issuer"]
        registration.client_id = opts["client_id"]
        registration.auth_url = opts["auth_url"]
        registration.jwks_url = opts["jwks_url"]
        registration.token_url = opts["token_url"]
        try:
            registration_save(registration=registration)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"Registration {registration.uuid} ({registration.issuer}, {registration.client_id})")
        if opts["deployment_id"]:
            deployment = deployment_create(registration=registration, deployment_id=opts["deployment_id"])
            self.stdout.write(f"Deployment {deployment.deployment_id} approved")
