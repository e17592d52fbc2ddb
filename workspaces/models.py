"""Tenancy: workspaces (institutions), groups (courses), memberships, LMS role mapping.

Every tenant-owned row carries a non-null ``workspace`` key and its unique constraints
include it. Rows are read through ``workspaces.selectors`` and written through
``workspaces.services``.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models


class WorkspaceRole(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    MEMBER = "member", "Member"


class GroupRole(models.TextChoices):
    OWNER = "owner", "Owner"
    FACILITATOR = "facilitator", "Facilitator"
    MEMBER = "member", "Member"


# Higher number, more rights; used to pick the strongest of several mapped roles.
WORKSPACE_ROLE_RANK = {WorkspaceRole.MEMBER: 1, WorkspaceRole.EDITOR: 2, WorkspaceRole.OWNER: 3}
GROUP_ROLE_RANK = {GroupRole.MEMBER: 1, GroupRole.FACILITATOR: 2, GroupRole.OWNER: 3}


class LmsRoleCategory(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    INSTRUCTOR = "instructor", "Instructor"
    TEACHING_ASSISTANT = "teaching_assistant", "Teaching Assistant"
    DESIGNER = "designer", "Designer / Content Developer"
    STUDENT = "student", "Student / Learner"
    OBSERVER = "observer", "Observer / Mentor"
    OTHER = "other", "Other"


class MembershipSource(models.TextChoices):
    LTI_LAUNCH = "lti_launch", "LTI launch"
    ROSTER_SYNC = "roster_sync", "Roster sync"
    MANUAL = "manual", "Manual"


class Workspace(models.Model):
    class RoleMappingPolicy(models.TextChoices):
        KEEP_IN_SYNC = "keep_in_sync", "Keep in sync (apply upgrades and downgrades at every launch)"
        NEW_MEMBERS_ONLY = "new_members_only", "New members only (roles are set once)"

    class DeploymentApproval(models.TextChoices):
        AUTOMATIC = "automatic", "Approve new deployments automatically"
        MANUAL = "manual", "An Owner approves each new deployment"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    role_mapping_policy = models.CharField(
        max_length=32, choices=RoleMappingPolicy.choices, default=RoleMappingPolicy.KEEP_IN_SYNC
    )
    deployment_approval = models.CharField(
        max_length=16,
        choices=DeploymentApproval.choices,
        default=DeploymentApproval.MANUAL,
        help_text="Whether a deployment_id seen for the first time may be used at once.",
    )
    # Canvas origins allowed to frame our pages; derived from approved deployments and
    # registrations by integrations.services, kept here so a page view needs no query.
    frame_origins = ArrayField(models.CharField(max_length=255), default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkspaceMembership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_memberships")
    role = models.CharField(max_length=16, choices=WorkspaceRole.choices, default=WorkspaceRole.MEMBER)
    role_pinned = models.BooleanField(
        default=False, help_text="Set by an Owner by hand: launches and roster syncs leave the role alone."
    )
    source = models.CharField(max_length=16, choices=MembershipSource.choices, default=MembershipSource.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="uniq_workspace_member")]
        ordering = ["workspace", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"


class Group(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="groups")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=500)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="Course of a section.",
    )
    # External LMS reference: (deployment, context id) for a course, plus section id for
    # sub-groups. context.id is only unique within a deployment (LTI Core §5.4.1).
    lms_deployment = models.ForeignKey(
        "integrations.LtiDeployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="groups"
    )
    lms_context_id = models.CharField(max_length=255, blank=True)
    lms_section_id = models.CharField(max_length=255, blank=True)
    lms_course_label = models.CharField(max_length=255, blank=True)
    canvas_course_id = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                # Groups made by hand have no deployment; NULLs never collide.
                fields=["workspace", "lms_deployment", "lms_context_id", "lms_section_id"],
                name="uniq_group_lms_ref",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent_id and self.workspace_id and self.parent.workspace_id != self.workspace_id:
            raise ValidationError({"parent": "The parent group belongs to another workspace."})
        if self.parent_id and self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": "A group cannot be its own parent."})


class GroupMembership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="group_memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships")
    role = models.CharField(max_length=16, choices=GroupRole.choices, default=GroupRole.MEMBER)
    role_pinned = models.BooleanField(
        default=False, help_text="Set by an Owner by hand: launches and roster syncs leave the role alone."
    )
    lms_roles = ArrayField(models.CharField(max_length=32), default=list, blank=True, help_text="LMS role categories.")
    source = models.CharField(max_length=16, choices=MembershipSource.choices, default=MembershipSource.MANUAL)
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "group", "user"], name="uniq_group_member")]
        ordering = ["group", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.get_role_display()})"

    def clean(self) -> None:
        if self.group_id and self.workspace_id and self.group.workspace_id != self.workspace_id:
            raise ValidationError({"group": "The group belongs to another workspace."})


class RoleMapping(models.Model):
    """For one LMS role category, the workspace role and group role it grants."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="role_mappings")
    lms_role = models.CharField(max_length=32, choices=LmsRoleCategory.choices)
    workspace_role = models.CharField(max_length=16, choices=WorkspaceRole.choices)
    group_role = models.CharField(max_length=16, choices=GroupRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "lms_role"], name="uniq_role_mapping")]
        ordering = ["workspace", "lms_role"]

    def __str__(self) -> str:
        return f"{self.get_lms_role_display()} → {self.get_workspace_role_display()} / {self.get_group_role_display()}"


class RoleChange(models.Model):
    """Append-only record of every role change: who, when, from, to, why."""

    class Scope(models.TextChoices):
        WORKSPACE = "workspace", "Workspace"
        GROUP = "group", "Group"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="role_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_changes")
    # SET_NULL: the record of a role change outlives the group it was about.
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="role_changes")
    scope = models.CharField(max_length=16, choices=Scope.choices)
    from_role = models.CharField(max_length=16, blank=True)
    to_role = models.CharField(max_length=16)
    reason = models.CharField(max_length=255)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user}: {self.from_role or '-'} → {self.to_role} ({self.reason})"
