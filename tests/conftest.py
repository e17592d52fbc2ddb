"""Shared fixtures: two workspaces, each with an owner, an editor, a member and an outsider."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from workspaces.models import WorkspaceMembership, WorkspaceRole
from workspaces.services import workspace_create


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@dataclass
class Tenant:
    workspace: object
    owner: object
    editor: object
    member: object
    outsider: object


def make_tenant(slug: str) -> Tenant:
    User = get_user_model()
    workspace = workspace_create(name=f"{slug.title()} University", slug=slug)
    people = {}
    for role in ("owner", "editor", "member", "outsider"):
        people[role] = User.objects.create_user(
            username=f"{slug}-{role}", password="pw-" + role, email=f"{role}@{slug}.edu"
        )
    for role, ws_role in (
        ("owner", WorkspaceRole.OWNER),
        ("editor", WorkspaceRole.EDITOR),
        ("member", WorkspaceRole.MEMBER),
    ):
        WorkspaceMembership.objects.create(workspace=workspace, user=people[role], role=ws_role)
    return Tenant(workspace=workspace, **people)


@pytest.fixture
def tenants(db):
    """(a, b): two workspaces with an owner, an editor, a member and an outsider each."""
    return make_tenant("alpha"), make_tenant("beta")
