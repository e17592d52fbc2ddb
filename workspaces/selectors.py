"""Tenant-scoped reads. Objects of another workspace look exactly like missing ones."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from workspaces.models import (
    Group,
    GroupMembership,
    GroupRole,
    RoleMapping,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)

ADMIN_ROLES = (WorkspaceRole.OWNER, WorkspaceRole.EDITOR)
_CACHE_ATTR = "_nectir_admin_roles"


def workspace_admin_roles_for_user(*, user) -> dict[int, str]:
    """{workspace id: role} for the workspaces where ``user`` is Owner or Editor.

    Memoised on the user object, so one admin request asks the database once.
    """
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = dict(
            WorkspaceMembership.objects.filter(user=user, role__in=ADMIN_ROLES).values_list("workspace_id", "role")
        )
        setattr(user, _CACHE_ATTR, cached)
    return cached


def workspace_ids_with_role(*, user, roles: tuple[str, ...]) -> list[int]:
    return [ws for ws, role in workspace_admin_roles_for_user(user=user).items() if role in roles]


def workspace_list_for_user(*, user) -> QuerySet[Workspace]:
    if user.is_superuser:
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user)


def role_mapping_for_workspace(*, workspace_id: int) -> dict[str, tuple[str, str]]:
    """{LMS role category: (workspace role, group role)} as configured for the workspace."""
    return {
        lms_role: (ws_role, group_role)
        for lms_role, ws_role, group_role in RoleMapping.objects.filter(workspace_id=workspace_id).values_list(
            "lms_role", "workspace_role", "group_role"
        )
    }


def group_get_for_user(*, user, group_uuid) -> tuple[Group, GroupMembership | None]:
    """The group and the user's membership in it; 404 when missing or not theirs.

    A person sees a group they are an active member of (one query); workspace Owners
    and Editors see every group of their workspace; superusers see all.
    """
    if not user.is_authenticated:
        raise Http404("No such group")
    try:
        membership = (
            GroupMembership.objects.select_related("group__workspace", "group__parent")
            .filter(group__uuid=group_uuid, group__is_active=True, user=user, is_active=True)
            .first()
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such group") from exc
    if membership is not None:
        return membership.group, membership
    group = Group.objects.select_related("workspace", "parent").filter(uuid=group_uuid, is_active=True).first()
    if group is None or not (user.is_superuser or group.workspace_id in workspace_admin_roles_for_user(user=user)):
        raise Http404("No such group")
    return group, None


def group_role_label(membership: GroupMembership | None) -> str:
    return GroupRole(membership.role).label if membership else "Workspace administrator"
