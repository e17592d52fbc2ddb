"""Writes for the privacy tools: share links, retention, person and workspace deletion.

Each service owns its transaction, says what it changes, and records itself in the
audit log (``privacy.audit.audit_record``).
"""

import csv
import io
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from privacy.audit import audit_record
from privacy.models import AuditEntry, DataAccessLink, RetentionPolicy
from privacy.selectors import (
    AUDIT_CSV_COLUMNS,
    audit_entry_row,
    person_data_export,
    retention_policy_for_workspace,
    token_hash,
)
from workspaces.models import Workspace, WorkspaceMembership, WorkspaceRole

User = get_user_model()


# --- share link ----------------------------------------------------------------------------
def data_access_link_create(*, workspace: Workspace, actor) -> str:
    """Revoke the workspace's active share link (if any) and make a new one.

    Returns the new token; only its hash is stored, so this is the one time it is seen.
    """
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        revoked = DataAccessLink.objects.filter(workspace=workspace, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        link = DataAccessLink.objects.create(
            workspace=workspace, token_hash=token_hash(token), token_hint=token[-6:], created_by=actor
        )
        audit_record(
            workspace_id=workspace.pk,
            action="privacy.share_link.created",
            actor=actor,
            target=f"data_access_link:{link.pk}",
            details={"replaced_active_link": bool(revoked)},
        )
    return token


def data_access_link_revoke(*, workspace: Workspace, actor) -> int:
    """Revoke the workspace's active share link; returns how many were revoked (0 or 1)."""
    with transaction.atomic():
        links = list(DataAccessLink.objects.select_for_update().filter(workspace=workspace, revoked_at__isnull=True))
        for link in links:
            link.revoked_at, link.revoked_by = timezone.now(), actor
            link.save(update_fields=["revoked_at", "revoked_by"])
            audit_record(
                workspace_id=workspace.pk,
                action="privacy.share_link.revoked",
                actor=actor,
                target=f"data_access_link:{link.pk}",
            )
    return len(links)


# --- retention -----------------------------------------------------------------------------
def retention_policy_save(*, policy: RetentionPolicy, actor) -> RetentionPolicy:
    """Create or change a workspace's retention settings (validated) and audit it."""
    policy.full_clean()
    with transaction.atomic():
        policy.save()
        audit_record(
            workspace_id=policy.workspace_id,
            action="privacy.retention.changed",
            actor=actor,
            target=f"workspace:{policy.workspace_id}",
            details={
                "launch_event_days": policy.launch_event_days,
                "audit_entry_days": policy.audit_entry_days,
                "inactive_membership_days": policy.inactive_membership_days,
            },
        )
    return policy


def retention_purge_workspace(*, workspace_id: int, now=None) -> dict[str, int]:
    """Apply one workspace's retention policy.

    Deletes launch events and audit entries older than the policy allows, and
    deactivates course memberships whose person has not launched for the configured
    period. Idempotent; an audit entry is written only when something changed.
    """
    from integrations.models import LaunchEvent
    from workspaces.models import GroupMembership

    now = now or timezone.now()
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {}
    policy = retention_policy_for_workspace(workspace=workspace)
    with transaction.atomic():
        launches, _ = LaunchEvent.objects.filter(
            workspace_id=workspace_id, created_at__lt=now - timedelta(days=policy.launch_event_days)
        ).delete()
        audits = AuditEntry.objects.filter(
            workspace_id=workspace_id, created_at__lt=now - timedelta(days=policy.audit_entry_days)
        ).purge()
        memberships = GroupMembership.objects.filter(
            workspace_id=workspace_id,
            is_active=True,
            last_seen_at__lt=now - timedelta(days=policy.inactive_membership_days),
        ).update(is_active=False)
        result = {
            "launch_events_deleted": launches,
            "audit_entries_deleted": audits,
            "memberships_deactivated": memberships,
        }
        if any(result.values()):
            audit_record(
                workspace_id=workspace_id,
                action="privacy.retention.purged",
                target=f"workspace:{workspace_id}",
                details=result,
            )
    return result


def retention_purge_platform(*, now=None) -> dict[str, int]:
    """Delete platform-level (workspace-less) launch events and audit entries past
    PRIVACY_PLATFORM_RETENTION_DAYS."""
    from integrations.models import LaunchEvent

    cutoff = (now or timezone.now()) - timedelta(days=settings.PRIVACY_PLATFORM_RETENTION_DAYS)
    with transaction.atomic():
        launches, _ = LaunchEvent.objects.filter(workspace__isnull=True, created_at__lt=cutoff).delete()
        audits = AuditEntry.objects.filter(workspace__isnull=True, created_at__lt=cutoff).purge()
    return {"launch_events_deleted": launches, "audit_entries_deleted": audits}


# --- exports ---------------------------------------------------------------------------------
def person_data_export_record(*, workspace: Workspace, person, actor) -> dict:
    """Everything stored about ``person`` in the workspace; the export is audited."""
    data = person_data_export(workspace=workspace, user=person)
    audit_record(
        workspace_id=workspace.pk,
        action="privacy.person.exported",
        actor=actor,
        target=f"user:{person.pk}",
    )
    return data


def audit_log_csv(*, workspace: Workspace, entries, actor) -> str:
    """The given entries of the workspace as CSV text; the export itself is audited."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_CSV_COLUMNS)
    count = 0
    for entry in entries:
        row = audit_entry_row(entry)
        writer.writerow(
            [
                row["created_at"],
                entry.workspace.name if entry.workspace_id else "",
                row["action"],
                "" if row["actor_id"] is None else row["actor_id"],
                row["actor"],
                row["target"],
                json.dumps(row["details"], sort_keys=True),
            ]
        )
        count += 1
    audit_record(
        workspace_id=workspace.pk,
        action="privacy.audit.exported",
        actor=actor,
        target=f"workspace:{workspace.pk}",
        details={"entries": count},
    )
    return buffer.getvalue()


# --- deletion --------------------------------------------------------------------------------
def _delete(queryset) -> int:
    """Delete and return how many rows of the queryset's own model went (not cascades)."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


# Kept by workspace_data_delete: the audit log, settings without personal data, the Owners.
_WORKSPACE_DELETE_KEEPS = {
    "privacy.auditentry",
    "privacy.retentionpolicy",
    "workspaces.rolemapping",
    "workspaces.workspacemembership",
}


def _tenant_models(*, exclude: set[str]) -> list:
    """Models with a ``workspace`` key to Workspace (tenant-owned), but those excluded."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "workspace"), None)
        if field is not None and field.related_model is Workspace and model._meta.label_lower not in exclude:
            found.append(model)
    return found


def _person_rows_elsewhere(*, workspace: Workspace, person, skip: set[str]) -> dict[str, int]:
    """Delete the person's rows in tenant tables not handled explicitly.

    A row is the person's when a user key on it cascades from the account (deleting the
    account would delete it); keys that are SET_NULL (e.g. "changed by") are left alone.
    """
    from django.db.models import CASCADE

    counts: dict[str, int] = {}
    for model in _tenant_models(exclude=skip):
        for field in model._meta.concrete_fields:
            remote = getattr(field, "remote_field", None)
            if field.related_model is User and remote is not None and remote.on_delete is CASCADE:
                deleted = _delete(model._default_manager.filter(workspace=workspace, **{field.name: person}))
                if deleted:
                    counts[model._meta.label_lower] = counts.get(model._meta.label_lower, 0) + deleted
    return counts


def _account_is_only_here(*, user, workspace: Workspace) -> bool:
    """True when the account belongs to no other workspace and is not an operator."""
    if user.is_superuser:
        return False
    other_memberships = WorkspaceMembership.objects.filter(user=user).exclude(workspace=workspace).exists()
    from integrations.models import LtiIdentity

    other_identities = LtiIdentity.objects.filter(user=user).exclude(workspace=workspace).exists()
    return not (other_memberships or other_identities)


def person_delete(*, workspace: Workspace, person, actor) -> dict[str, int | bool]:
    """Delete everything stored about ``person`` in ``workspace``.

    Removes their LTI identities, workspace and group memberships, role-change records,
    launch records and course-assistant conversations (with their messages) in this
    workspace; the account itself is deleted too when it belongs to no other workspace
    (and is not an operator's). Audit entries stay (they are the record of what
    happened, and age out with the retention policy).
    """
    from assistant.models import Conversation
    from integrations.models import LaunchEvent, LtiIdentity
    from workspaces.models import GroupMembership, RoleChange

    with transaction.atomic():
        only_here = _account_is_only_here(user=person, workspace=workspace)
        _, assistant_deleted = Conversation.objects.filter(workspace=workspace, user=person).delete()
        counts = {
            "assistant_conversations": assistant_deleted.get("assistant.Conversation", 0),
            "assistant_messages": assistant_deleted.get("assistant.Message", 0),
            "launch_events": _delete(LaunchEvent.objects.filter(workspace=workspace, user=person)),
            "role_changes": _delete(RoleChange.objects.filter(workspace=workspace, user=person)),
            "group_memberships": _delete(GroupMembership.objects.filter(workspace=workspace, user=person)),
            "workspace_memberships": _delete(WorkspaceMembership.objects.filter(workspace=workspace, user=person)),
            "lti_identities": _delete(LtiIdentity.objects.filter(workspace=workspace, user=person)),
        }
        counts.update(
            _person_rows_elsewhere(
                workspace=workspace,
                person=person,
                skip={
                    "assistant.conversation",
                    "integrations.launchevent",
                    "workspaces.rolechange",
                    "workspaces.groupmembership",
                    "workspaces.workspacemembership",
                    "integrations.ltiidentity",
                    "privacy.auditentry",
                },
            )
        )
        target = f"user:{person.pk}"
        account_deleted = False
        if only_here:
            User.objects.filter(pk=person.pk).delete()
            account_deleted = True
        result = {**counts, "account_deleted": account_deleted}
        audit_record(
            workspace_id=workspace.pk, action="privacy.person.deleted", actor=actor, target=target, details=result
        )
    return result


def person_anonymise(*, workspace: Workspace, person, actor) -> dict[str, int | bool]:
    """Strip the identifying data of ``person`` in ``workspace`` but keep the activity.

    Their LTI identities lose name, email and LMS user id, and their ``sub`` is replaced
    by a random value (a later launch starts a new, unlinked person). Launch records keep
    no link to them. Their course-assistant conversations keep their shape (dates,
    statuses, cited materials: the usage figures) but lose every text the person wrote
    or that may repeat it: titles, questions, answers and error messages. The account's
    name and email are cleared and its username replaced when the account belongs to no
    other workspace.
    """
    from assistant.models import Conversation, Message
    from integrations.models import LaunchEvent, LtiIdentity

    with transaction.atomic():
        conversations = Conversation.objects.filter(workspace=workspace, user=person)
        # update() leaves updated_at alone, so the conversation retention is unchanged.
        messages = Message.objects.filter(workspace=workspace, conversation__in=conversations).update(
            content="", error=""
        )
        conversation_count = conversations.update(title="")
        identities = list(LtiIdentity.objects.select_for_update().filter(workspace=workspace, user=person))
        for identity in identities:
            identity.sub = f"anonymised-{secrets.token_hex(16)}"
            identity.name = identity.email = identity.lms_user_id = ""
            identity.save(update_fields=["sub", "name", "email", "lms_user_id"])
        launches = LaunchEvent.objects.filter(workspace=workspace, user=person).update(user=None)
        account_anonymised = _account_is_only_here(user=person, workspace=workspace)
        if account_anonymised:
            User.objects.filter(pk=person.pk).update(
                username=f"anonymised-{secrets.token_hex(8)}", first_name="", last_name="", email=""
            )
        result = {
            "lti_identities": len(identities),
            "launch_events_unlinked": launches,
            "assistant_conversations": conversation_count,
            "assistant_messages": messages,
            "account_anonymised": account_anonymised,
        }
        audit_record(
            workspace_id=workspace.pk,
            action="privacy.person.anonymised",
            actor=actor,
            target=f"user:{person.pk}",
            details=result,
        )
    return result


def workspace_data_delete(*, workspace: Workspace, actor) -> dict[str, int]:
    """Delete a whole workspace's data (offboarding), keeping only its shell.

    Deleted: course groups with their memberships, assistants and conversations,
    imported knowledge and passages; the assistant settings and provider keys;
    LTI identities; launch records and login attempts; role-change records; the Canvas
    connection (with its encrypted tokens) and request counters; LTI registrations and
    deployments (nothing can launch into it any more); share links; the memberships of
    everyone but its Owners; and the accounts that belonged to this workspace only.

    Kept: the workspace row, its Owners' memberships (so they can confirm and audit the
    deletion), the role mapping and retention settings (no personal data) and the audit
    log, which ages out under the retention policy.
    """
    from assistant.models import KnowledgeItem, Passage
    from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection
    from integrations.models import LaunchEvent, LoginAttempt, LtiDeployment, LtiIdentity, LtiRegistration
    from workspaces.models import Group, GroupMembership, RoleChange

    with transaction.atomic():
        people = set(
            WorkspaceMembership.objects.filter(workspace=workspace)
            .exclude(role=WorkspaceRole.OWNER)
            .values_list("user_id", flat=True)
        ) | set(LtiIdentity.objects.filter(workspace=workspace).values_list("user_id", flat=True))
        owners = set(
            WorkspaceMembership.objects.filter(workspace=workspace, role=WorkspaceRole.OWNER).values_list(
                "user_id", flat=True
            )
        )
        counts = {
            "launch_events": _delete(LaunchEvent.objects.filter(workspace=workspace)),
            "login_attempts": _delete(LoginAttempt.objects.filter(workspace=workspace)),
            "passages": _delete(Passage.objects.filter(workspace=workspace)),
            "knowledge_items": _delete(KnowledgeItem.objects.filter(workspace=workspace)),
            "role_changes": _delete(RoleChange.objects.filter(workspace=workspace)),
            "group_memberships": _delete(GroupMembership.objects.filter(workspace=workspace)),
            "groups": _delete(Group.objects.filter(workspace=workspace)),
            "lti_identities": _delete(LtiIdentity.objects.filter(workspace=workspace)),
            "canvas_connections": _delete(CanvasConnection.objects.filter(workspace=workspace)),
            "canvas_request_counts": _delete(CanvasApiRequestCount.objects.filter(workspace=workspace)),
            "lti_deployments": _delete(LtiDeployment.objects.filter(workspace=workspace)),
            "lti_registrations": _delete(LtiRegistration.objects.filter(workspace=workspace)),
            "data_access_links": _delete(DataAccessLink.objects.filter(workspace=workspace)),
            "workspace_memberships": _delete(
                WorkspaceMembership.objects.filter(workspace=workspace).exclude(role=WorkspaceRole.OWNER)
            ),
        }
        # Every other tenant-owned table (each has a ``workspace`` key, by convention), so
        # data added by later features is deleted too without a change here.
        for model in _tenant_models(exclude=_WORKSPACE_DELETE_KEEPS):
            deleted = _delete(model._default_manager.filter(workspace=workspace))
            if deleted:
                counts[model._meta.label_lower] = deleted
        orphans = (
            User.objects.filter(pk__in=people - owners, is_superuser=False)
            .exclude(workspace_memberships__isnull=False)
            .exclude(lti_identities__isnull=False)
        )
        counts["accounts"] = _delete(orphans)
        Workspace.objects.filter(pk=workspace.pk).update(frame_origins=[])
        audit_record(
            workspace_id=workspace.pk,
            action="privacy.workspace.deleted",
            actor=actor,
            target=f"workspace:{workspace.pk}",
            details=counts,
        )
    return counts


# --- admin sign-ins ----------------------------------------------------------------------------
def admin_sign_in_record(*, user, ip: str) -> int:
    """One audit entry per workspace the person administers (platform-level if none).

    Returns how many entries were written.
    """
    from workspaces.selectors import workspace_admin_roles_for_user

    workspace_ids = sorted(workspace_admin_roles_for_user(user=user)) or [None]
    details = {"ip": ip[:45], "superuser": bool(user.is_superuser)}
    with transaction.atomic():
        for workspace_id in workspace_ids:
            audit_record(
                workspace_id=workspace_id, action="admin.sign_in", actor=user, target=f"user:{user.pk}", details=details
            )
    return len(workspace_ids)


def admin_sign_in_failed_record(*, ip: str) -> None:
    """A refused admin sign-in (platform-level: the account is not known to be anyone's)."""
    audit_record(workspace_id=None, action="admin.sign_in_failed", details={"ip": ip[:45]})
