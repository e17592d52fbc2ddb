"""Canvas REST API connection (OAuth 2.0, scoped read-only tokens), OAuth state,
per-group course sync state and request counts.

Part of the ``integrations`` app (imported by integrations/models.py).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from nectir.fields import EncryptedTextField

__all__ = ["CanvasApiRequestCount", "CanvasConnection", "CanvasCourseSync", "CanvasOAuthState"]


class CanvasConnection(models.Model):
    """One Canvas instance's API developer key and the token it granted, per workspace."""

    class Status(models.TextChoices):
        NOT_AUTHORIZED = "not_authorized", "Not authorized yet"
        CONNECTED = "connected", "Connected"
        REAUTH_REQUIRED = "reauth_required", "Authorization expired: authorize again"
        CONFIG_ERROR = "config_error", "Configuration error (see last error)"

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="canvas_connection")
    instance_url = models.URLField(max_length=255, help_text="https://school.instructure.com")
    client_id = models.CharField("API developer key client ID", max_length=64)
    client_secret = EncryptedTextField(help_text="Write-only; encrypted at rest")
    use_pkce = models.BooleanField(
        "use PKCE (S256)",
        default=False,
        help_text="Send a PKCE S256 challenge when authorizing. Canvas supports it behind the site-admin flag 'pkce'.",
    )
    scopes = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        help_text="url:GET|/api/v1/... scopes requested (Enforce Scopes)",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_AUTHORIZED)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    canvas_user_id = models.CharField(max_length=64, blank=True)
    canvas_user_name = models.CharField(max_length=255, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "integrations"
        verbose_name = "Canvas API connection"

    def __str__(self) -> str:
        return self.instance_url

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED and bool(self.access_token)


class CanvasOAuthState(models.Model):
    """One authorization request: a one-time ``state`` bound to an admin session and workspace.

    Consumed by a conditional UPDATE (``consumed_at IS NULL``) so a replay never passes;
    purged after CANVAS_OAUTH_STATE_TTL_SECONDS.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CanvasConnection, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state_hash = models.CharField(max_length=64, unique=True)
    session_binding_hash = models.CharField(max_length=64)
    code_verifier = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "integrations"

    def __str__(self) -> str:
        return f"OAuth state {self.state_hash[:8]}… ({'used' if self.consumed_at else 'open'})"


class CanvasCourseSync(models.Model):
    """The link between a Group and its Canvas course, and the state of its content sync."""

    class State(models.TextChoices):
        IDLE = "idle", "Never synced"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    group = models.OneToOneField("workspaces.Group", on_delete=models.CASCADE, related_name="canvas_course_sync")
    picked_course_id = models.CharField(
        "Canvas course (picked)",
        max_length=64,
        blank=True,
        help_text="Chosen by an Owner or Editor; when blank the course comes from the LTI launch.",
    )
    course_name = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True, help_text="Included in the periodic sync.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IDLE)
    phase = models.CharField(max_length=32, blank=True)
    items_done = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    run_token = models.UUIDField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_stats = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "integrations"
        verbose_name = "Canvas course sync"
        ordering = ["group__name"]

    def __str__(self) -> str:
        return f"{self.group} ↔ Canvas course {self.course_id or '?'}"

    @property
    def course_id(self) -> str:
        return self.picked_course_id or self.group.canvas_course_id


class CanvasApiRequestCount(models.Model):
    """Canvas API requests made, per workspace, endpoint template and day (no bodies)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    endpoint = models.CharField(
        max_length=255, help_text="Endpoint template, e.g. GET /api/v1/courses/:course_id/pages"
    )
    count = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "integrations"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "endpoint"], name="uniq_canvas_request_count")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} on {self.day}: {self.count}"
