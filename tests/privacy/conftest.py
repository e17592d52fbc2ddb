"""Privacy tests reuse the test LTI platform (real signed launches into workspace alpha)."""

import pytest
from django.test import Client

from integrations.models import LtiIdentity
from tests.integrations.conftest import jwks_server, platform, platform_key  # noqa: F401

STUDENT_SUB = "848b3a11-c7b6-4c05-9fb3-782a0c34ee43"


@pytest.fixture
def student(platform):  # noqa: F811
    """A person who launched into alpha through the test platform (the fixture's student)."""
    response, _ = platform.full_launch(Client())
    assert response.status_code == 302
    return LtiIdentity.objects.get(sub=STUDENT_SUB).user


def owner_client(client, user):
    client.force_login(user)
    return client
