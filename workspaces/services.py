"""Writes for workspaces, groups, memberships and role mapping.

Each service owns its transaction and says what it changes.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from privacy.audit import audit_record
from workspaces.models import (
    Group,
    GroupMembership,
    MembershipSource,
    RoleChange,
    RoleMapping,
    Workspace,
    WorkspaceMembership,
)
from workspaces.roles import DEFAULT_ROLE_MAPPING, MappedRoles

User = get_user_model()


def _role_mapping_cache_key(workspace_id: int) -> str:
    return f"role-mapping:v1:{workspace_id}"


def workspace_create(*, name: str, slug: str, **settings) -> Workspace:
    """Create a workspace with the default LMS role mapping."""
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name, slug=slug, **settings)
        RoleMapping.objects.bulk_create(
            RoleMapping(workspace=workspace, lms_role=str(lms_role), workspace_role=str(ws), group_role=str(gr))
            for lms_role, (ws, gr) in DEFAULT_ROLE_MAPPING.items()
        )
    return workspace


def workspace_update(*, workspace: Workspace, fields: list[str]) -> Workspace:
    """Save edited workspace settings (the admin form has set the attributes)."""
    workspace.full_clean()
    workspace.save(update_fields=fields)
    audit_record(
        workspace_id=workspace.pk,
        action="workspace.settings.changed",
        target=f"workspace:{workspace.pk}",
        details={"fields": fields},
    )
    return workspace


def role_mapping_update(*, mapping: RoleMapping, changed_by) -> RoleMapping:
    """Save one LMS role mapping and drop the cached copy used by launches."""
    mapping.full_clean()
    with transaction.atomic():
        mapping.save()
        audit_record(
            workspace_id=mapping.workspace_id,
            action="workspace.role_mapping.changed",
            actor=changed_by,
            target=f"role_mapping:{mapping.lms_role}",
            details={
                "lms_role": mapping.lms_role,
                "workspace_role": mapping.workspace_role,
                "group_role": mapping.group_role,
            },
        )
        transaction.on_commit(lambda: cache.delete(_role_mapping_cache_key(mapping.workspace_id)))
    return mapping


def role_mapping_get(*, workspace_id: int) -> dict[str, tuple[str, str]]:
    """The workspace's mapping, from the shared cache when possible (launch hot path)."""
    key = _role_mapping_cache_key(workspace_id)
    mapping = cache.get(key)
    if mapping is None:
        from workspaces.selectors import role_mapping_for_workspace

        mapping = role_mapping_for_workspace(workspace_id=workspace_id)
        cache.set(key, mapping, 3600)
    return mapping


def _record(*, workspace_id, user_id, scope, from_role, to_role, reason, changed_by=None, group_id=None):
    return RoleChange(
        workspace_id=workspace_id,
        user_id=user_id,
        group_id=group_id,
        scope=scope,
        from_role=from_role or "",
        to_role=to_role,
        reason=reason,
        changed_by=changed_by,
    )


def _membership_save_by_hand(*, membership, scope: str, changed_by, reason: str) -> None:
    """Save a workspace or group membership edited by hand.

    A role set by hand is pinned (launches and roster syncs then leave it alone); a
    change of role is recorded in RoleChange and the audit log.
    """
    membership.full_clean()
    group_id = getattr(membership, "group_id", None)
    with transaction.atomic():
        previous = None
        if membership.pk:
            previous = type(membership).objects.select_for_update().values_list("role", flat=True).get(pk=membership.pk)
        if previous != membership.role:
            membership.role_pinned = True
        membership.save()
        if previous == membership.role:
            return
        _record(
            workspace_id=membership.workspace_id,
            user_id=membership.user_id,
            group_id=group_id,
            scope=scope,
            from_role=previous,
            to_role=membership.role,
            reason=reason,
            changed_by=changed_by,
        ).save()
        details = {"scope": str(scope), "from_role": previous or "", "to_role": membership.role, "reason": reason}
        if group_id:
            details["group"] = group_id
        audit_record(
            workspace_id=membership.workspace_id,
            action="workspace.role.changed",
            actor=changed_by,
            target=f"user:{membership.user_id}",
            details=details,
        )


def workspace_membership_save(*, membership: WorkspaceMembership, changed_by, reason: str = "set by hand") -> None:
    """Create or change a workspace membership from the admin (role pinned, change recorded)."""
    _membership_save_by_hand(
        membership=membership, scope=RoleChange.Scope.WORKSPACE, changed_by=changed_by, reason=reason
    )


def group_membership_save(*, membership: GroupMembership, changed_by, reason: str = "set by hand") -> None:
    """Create or change a group membership from the admin (role pinned, change recorded)."""
    membership.workspace_id = membership.group.workspace_id
    _membership_save_by_hand(membership=membership, scope=RoleChange.Scope.GROUP, changed_by=changed_by, reason=reason)


def group_save(*, group: Group) -> Group:
    """Create or edit a group by hand (validated: the parent is in the same workspace)."""
    group.full_clean()
    group.save()
    return group


@dataclass(frozen=True)
class LmsGroupRef:
    """A course (section_id == "") or one of its sections, as the LMS describes it."""

    context_id: str
    name: str
    section_id: str = ""
    label: str = ""
    canvas_course_id: str = ""


_UPSERT_GROUP = """
INSERT INTO workspaces_group AS g
    (workspace_id, uuid, name, parent_id, lms_deployment_id, lms_context_id, lms_section_id, lms_course_label,
     canvas_course_id, is_active, created_at, updated_at)
SELECT %s, gen_random_uuid(), n, %s, %s, %s, s, %s, %s, true, %s, %s FROM unnest(%s::text[], %s::text[]) AS t(n, s)
ON CONFLICT (workspace_id, lms_deployment_id, lms_context_id, lms_section_id) DO UPDATE SET
    name = CASE WHEN g.lms_section_id = '' THEN EXCLUDED.name ELSE g.name END,
    lms_course_label = EXCLUDED.lms_course_label,
    canvas_course_id = COALESCE(NULLIF(EXCLUDED.canvas_course_id, ''), g.canvas_course_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, uuid, name, lms_section_id, is_active
"""


def groups_upsert_from_lms(
    *, workspace_id: int, deployment_id: int, course: LmsGroupRef, sections: list[LmsGroupRef]
) -> list[Group]:
    """Create or update the course group and its section sub-groups (one upsert each).

    Matched on (workspace, deployment, context id, section id); the course title is
    kept current (section names are left as an admin may have set them). Concurrent
    first launches converge on the same rows (ON CONFLICT). Returns
    [course group, *section groups]. Must run inside the caller's transaction.
    """
    now = timezone.now()
    label, canvas_id = course.label[:255], course.canvas_course_id[:64]

    def upsert(parent_id, names, section_ids):
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT_GROUP,
                [
                    workspace_id,
                    parent_id,
                    deployment_id,
                    course.context_id,
                    label,
                    canvas_id,
                    now,
                    now,
                    names,
                    section_ids,
                ],
            )
            rows = cursor.fetchall()
        return [
            Group(
                pk=pk,
                uuid=uuid,
                name=name,
                workspace_id=workspace_id,
                parent_id=parent_id,
                lms_deployment_id=deployment_id,
                lms_context_id=course.context_id,
                lms_section_id=section_id,
                is_active=is_active,
            )
            for pk, uuid, name, section_id, is_active in rows
        ]

    (course_group,) = upsert(None, [course.name[:500]], [""])
    groups = [course_group]
    if sections:
        groups += upsert(course_group.pk, [s.name[:500] for s in sections], [s.section_id[:255] for s in sections])
    return groups


# Hot path of every launch: touch and read the person's memberships in one statement.
_TOUCH_GROUP_MEMBERSHIPS = """
UPDATE workspaces_groupmembership SET last_seen_at = %s
WHERE user_id = %s AND group_id = ANY(%s)
RETURNING id, group_id, role, role_pinned, is_active, lms_roles
"""

_INSERT_WORKSPACE_MEMBERSHIP = """
INSERT INTO workspaces_workspacemembership (workspace_id, user_id, role, role_pinned, source, created_at)
VALUES (%s, %s, %s, false, %s, %s)
ON CONFLICT (workspace_id, user_id) DO NOTHING
RETURNING id
"""

_INSERT_GROUP_MEMBERSHIPS = """
INSERT INTO workspaces_groupmembership
    (workspace_id, group_id, user_id, role, role_pinned, lms_roles, source, is_active, last_seen_at, created_at)
SELECT %s, g, %s, %s, false, %s, %s, true, %s, %s FROM unnest(%s::bigint[]) AS g
ON CONFLICT (workspace_id, group_id, user_id) DO NOTHING
RETURNING group_id
"""


def memberships_sync_from_lms(
    *,
    workspace: Workspace,
    user_id: int,
    current_workspace_role: str | None,
    workspace_role_pinned: bool,
    groups: list[Group],
    mapped: MappedRoles,
    source: str = MembershipSource.LTI_LAUNCH,
    seen_at: datetime | None = None,
    new_person: bool = False,
) -> str:
    """Give a person the workspace and group memberships their LMS roles map to.

    Under the "keep in sync" policy roles are upgraded and downgraded (except pinned
    ones); under "new members only" they are set once. Every change is recorded in
    RoleChange. ``current_workspace_role`` is what the caller already read (None: no
    membership yet). Inserts use ON CONFLICT so simultaneous first launches converge on
    one row each. ``new_person`` (a user created in this transaction) skips reading
    group memberships that cannot exist yet. Must run inside the caller's transaction.
    Returns the workspace role.
    """
    seen_at = seen_at or timezone.now()
    sync = workspace.role_mapping_policy == Workspace.RoleMappingPolicy.KEEP_IN_SYNC
    categories = list(mapped.categories)
    reason = f"LMS roles: {', '.join(categories)}"
    changes: list[RoleChange] = []

    def change(scope, from_role, to_role, group_id=None):
        changes.append(
            _record(
                workspace_id=workspace.pk,
                user_id=user_id,
                group_id=group_id,
                scope=scope,
                from_role=from_role,
                to_role=to_role,
                reason=reason,
            )
        )

    workspace_role = current_workspace_role
    with connection.cursor() as cursor:
        if current_workspace_role is None:
            cursor.execute(
                _INSERT_WORKSPACE_MEMBERSHIP, [workspace.pk, user_id, mapped.workspace_role, source, seen_at]
            )
            workspace_role = mapped.workspace_role
            if cursor.fetchone() is not None:
                change(RoleChange.Scope.WORKSPACE, "", mapped.workspace_role)
        elif sync and not workspace_role_pinned and current_workspace_role != mapped.workspace_role:
            WorkspaceMembership.objects.filter(workspace=workspace, user_id=user_id).update(role=mapped.workspace_role)
            change(RoleChange.Scope.WORKSPACE, current_workspace_role, mapped.workspace_role)
            workspace_role = mapped.workspace_role

        existing = {}
        if not new_person:
            cursor.execute(_TOUCH_GROUP_MEMBERSHIPS, [seen_at, user_id, [g.pk for g in groups]])
            existing = {row[1]: row for row in cursor.fetchall()}
        missing = [g.pk for g in groups if g.pk not in existing]
        if missing:
            cursor.execute(
                _INSERT_GROUP_MEMBERSHIPS,
                [workspace.pk, user_id, mapped.group_role, categories, source, seen_at, seen_at, missing],
            )
            for (group_id,) in cursor.fetchall():
                change(RoleChange.Scope.GROUP, "", mapped.group_role, group_id)

    role_updates, refreshes = [], []
    for group_id, (row_id, _g, role, pinned, is_active, lms_roles) in existing.items():
        if sync and not pinned and role != mapped.group_role:
            role_updates.append(row_id)
            change(RoleChange.Scope.GROUP, role, mapped.group_role, group_id)
        elif not is_active or list(lms_roles) != categories:
            refreshes.append(row_id)
    if role_updates:
        GroupMembership.objects.filter(pk__in=role_updates).update(
            role=mapped.group_role, is_active=True, lms_roles=categories
        )
    if refreshes:
        GroupMembership.objects.filter(pk__in=refreshes).update(is_active=True, lms_roles=categories)
    if changes:
        RoleChange.objects.bulk_create(changes)
    return workspace_role
