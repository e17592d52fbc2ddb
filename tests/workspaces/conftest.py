"""Fixtures for the workspaces tests: an LTI registration and deployment per tenant."""

import pytest

from integrations.models import LtiDeployment, LtiRegistration


def make_deployment(workspace, *, client_id: str, deployment_id: str = "1:abc", status=LtiDeployment.Status.APPROVED):
    registration = LtiRegistration.objects.create(
        workspace=workspace,
        name=f"{workspace.name} Canvas",
        client_id=client_id,
        issuer="https://canvas.instructure.com",
        auth_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
        token_url="https://sso.canvaslms.com/login/oauth2/token",
    )
    return LtiDeployment.objects.create(
        workspace=workspace,
        registration=registration,
        deployment_id=deployment_id,
        status=status,
        platform_name=f"{workspace.name} Canvas",
        canvas_url=f"https://{workspace.slug}.instructure.com",
    )


@pytest.fixture
def deployments(tenants):
    """(alpha deployment, beta deployment), each under its own registration."""
    a, b = tenants
    return (
        make_deployment(a.workspace, client_id="10000000000001", deployment_id="7:alpha"),
        make_deployment(b.workspace, client_id="10000000000002", deployment_id="9:beta"),
    )
