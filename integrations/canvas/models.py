"""Canvas REST API connection (OAuth 2.0, scoped read-only tokens) and request counts.

Part of the ``integrations`` app (imported by integrations/models.py).
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from nectir.fields import EncryptedTextField


class CanvasConnection(models.Model):
    """One Canvas instance's API developer key and the token it granted, per workspace."""

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="canvas_connection")
    instance_url = models.URLField(max_length=255, help_text="https://school.instructure.com")
    client_id = models.CharField("API developer key client ID", max_length=64)
    client_secret = EncryptedTextField(help_text="Write-only; encrypted at rest")
    scopes = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        help_text="url:GET|/api/v1/... scopes requested (Enforce Scopes)",
    )
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    canvas_user_id = models.CharField(max_length=64, blank=True)
    canvas_user_name = models.CharField(max_length=255, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "integrations"

    def __str__(self) -> str:
        return self.instance_url


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
