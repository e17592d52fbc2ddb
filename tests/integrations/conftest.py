import pytest

from integrations.models import LtiDeployment, LtiRegistration
from integrations.services import deployment_create, workspace_frame_origins_refresh
from tests.integrations.platform import JwksServer, SigningKey, TestPlatform
from workspaces.models import Workspace


@pytest.fixture(scope="session")
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def platform_key():
    return SigningKey("2026-11-01T00:00:00Z")


@pytest.fixture
def platform(db, tenants, jwks_server, platform_key):
    """A registered Canvas-like platform for workspace 'alpha', deployment approved."""
    jwks_server.keys = [platform_key]
    jwks_server.fetches = 0
    jwks_server.cache_control = "max-age=3600"
    alpha = tenants[0].workspace
    registration = LtiRegistration.objects.create(
        workspace=alpha,
        name="Canvas",
        preset=LtiRegistration.Preset.OTHER,
        issuer="https://canvas.home.russfeld.me",
        client_id="10000000000002",
        auth_url="https://canvas.home.russfeld.me/api/lti/authorize_redirect",
        jwks_url=jwks_server.url,
        token_url="https://canvas.home.russfeld.me/login/oauth2/token",
    )
    deployment = deployment_create(
        registration=registration, deployment_id="7:d3a2504bba5184799a38f141e8df2335cfa8206d"
    )
    LtiDeployment.objects.filter(pk=deployment.pk).update(canvas_url="https://canvas.home.russfeld.me")
    workspace_frame_origins_refresh(workspace_id=alpha.pk)
    Workspace.objects.filter(pk=alpha.pk).update(deployment_approval=Workspace.DeploymentApproval.MANUAL)
    return TestPlatform(
        jwks=jwks_server,
        key=platform_key,
        issuer=registration.issuer,
        client_id=registration.client_id,
        deployment_id=deployment.deployment_id,
    )
