"""Audit log, per-workspace retention settings and the shareable data-access link."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class AuditEntryQuerySet(models.QuerySet):
    """Append-only: the application never edits or deletes entries.

    ``update`` and ``delete`` refuse; the retention purge (``privacy.services``) is the
    one path that removes entries, through ``purge``. PostgreSQL also refuses UPDATE on
    the table (trigger in migration 0002), so raw SQL cannot rewrite history either.
    """

    def for_workspace(self, workspace):
        return self.filter(workspace=workspace)

    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only.")

    def delete(self):
        raise TypeError("Audit entries are append-only; only the retention purge removes them.")

    def purge(self) -> int:
        """Delete these entries (the retention purge only)."""
        return self._raw_delete(self.db)


class AuditEntry(models.Model):
    """Who did what, when, in which workspace, to what. No tokens, secrets or bodies.

    ``workspace`` is null only for platform-level events that belong to no tenant:
    tool signing-key rotations (one key set serves every workspace), admin sign-ins of
    platform operators who administer no workspace, and failed admin sign-ins (the user is
    unknown). Those entries are visible to superusers only. Every event that concerns a
    workspace carries it. Launches refused before a registration was identified (unknown
    issuer or client_id) are not written here (see ``privacy.audit.audit_record``): their
    ``LaunchEvent`` row and the log line record them.

    ``actor_id``/``actor_label`` are plain columns, not a foreign key: deleting a person
    must not rewrite the log (no ON DELETE SET NULL update), and the label keeps the
    username the actor had at the time.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. lti.launch.accepted")
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id (null: the system)")
    actor_label = models.CharField("actor", max_length=150, blank=True, help_text="Username at the time, or 'system'")
    target = models.CharField(max_length=255, blank=True, help_text="What was acted on, e.g. deployment:7:abc")
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["workspace", "created_at"], name="audit_ws_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}".strip()


def default_launch_event_days() -> int:
    return settings.PRIVACY_DEFAULT_LAUNCH_EVENT_DAYS


def default_audit_entry_days() -> int:
    return settings.PRIVACY_DEFAULT_AUDIT_ENTRY_DAYS


def default_inactive_membership_days() -> int:
    return settings.PRIVACY_DEFAULT_INACTIVE_MEMBERSHIP_DAYS


class RetentionPolicy(models.Model):
    """How long a workspace keeps launch events and audit entries, and when inactive
    course memberships are deactivated. A workspace without a row uses the defaults
    (settings ``PRIVACY_DEFAULT_*``)."""

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="retention_policy")
    launch_event_days = models.PositiveIntegerField(
        default=default_launch_event_days,
        validators=[MinValueValidator(7), MaxValueValidator(3650)],
        help_text="Launch records (accepted and refused) older than this are deleted.",
    )
    audit_entry_days = models.PositiveIntegerField(
        default=default_audit_entry_days,
        validators=[MinValueValidator(365), MaxValueValidator(3650)],
        help_text="Audit entries older than this are deleted (at least one year, for audit evidence).",
    )
    inactive_membership_days = models.PositiveIntegerField(
        default=default_inactive_membership_days,
        validators=[MinValueValidator(30), MaxValueValidator(3650)],
        help_text="Course memberships of people not seen at a launch for this long are deactivated.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"Retention for {self.workspace}"


class DataAccessLink(models.Model):
    """An unguessable link an Owner shares with IT reviewers: it shows the workspace's
    data-access page without signing in. Only a SHA-256 hash of the token is stored (the
    link is shown once, when made); at most one active link per workspace."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="data_access_links")
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, help_text="Last characters of the token, to recognise a link")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(revoked_at__isnull=True), name="one_active_data_access_link"
            )
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Data-access link …{self.token_hint} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
