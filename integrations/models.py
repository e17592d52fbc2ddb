"""LTI 1.3 registrations, deployments, tool keys, launches and identities."""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from nectir.fields import EncryptedTextField


class LtiRegistration(models.Model):
    """One LMS developer key (issuer + client_id) registered by a workspace.

    Unique by (issuer, client_id) across *all* workspaces: on Canvas Cloud the issuer is
    shared by every institution, so a workspace must never claim another's client_id.
    """

    class Preset(models.TextChoices):
        CANVAS_CLOUD = "canvas_cloud", "Canvas Cloud (production)"
        CANVAS_BETA = "canvas_beta", "Canvas Cloud (beta)"
        CANVAS_TEST = "canvas_test", "Canvas Cloud (test)"
        OTHER = "other", "Other LMS (enter the URLs)"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="lti_registrations")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, default="Canvas")
    preset = models.CharField(max_length=16, choices=Preset.choices, default=Preset.CANVAS_CLOUD)
    issuer = models.CharField(max_length=255, blank=True, help_text="Filled from the preset unless 'Other LMS'.")
    client_id = models.CharField(
        max_length=255, help_text="The developer key's Client ID (a string of digits in Canvas)."
    )
    auth_url = models.URLField("OIDC authorization URL", max_length=500, blank=True)
    jwks_url = models.URLField("platform JWKS URL", max_length=500, blank=True)
    token_url = models.URLField("token URL", max_length=500, blank=True)
    extra_frame_origins = models.TextField(
        blank=True,
        help_text="Extra Canvas origins (https://school.instructure.com), one per line, allowed to frame the tool. "
        "Origins seen in approved launches are added automatically.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "client_id"],
                name="uniq_registration_issuer_client",
                violation_error_message="This client ID is already registered for this issuer (possibly by another "
                "workspace). A developer key can belong to one workspace only.",
            )
        ]
        ordering = ["workspace", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def clean(self) -> None:
        for field in ("issuer", "auth_url", "jwks_url"):
            value = getattr(self, field)
            if not value:
                raise ValidationError({field: "Required (choose a Canvas preset or enter it)."})
            parts = urlsplit(value)
            if parts.scheme != "https" and not (settings.LOCAL_HTTP and parts.hostname in settings.LOOPBACK_HOSTS):
                raise ValidationError({field: "Must be an https URL."})
        if urlsplit(self.issuer).query or urlsplit(self.issuer).fragment:
            raise ValidationError({"issuer": "An issuer has no query or fragment (LTI Security §5.1.2)."})
        origins = [o.strip() for o in self.extra_frame_origins.splitlines() if o.strip()]
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or "*" in origin:
                raise ValidationError({"extra_frame_origins": f"Not an https origin: {origin}"})

    @property
    def frame_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.extra_frame_origins.splitlines() if o.strip()]


class LtiDeployment(models.Model):
    """A deployment_id under a registration; new ones start pending unless auto-approved."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DISABLED = "disabled", "Disabled"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="lti_deployments")
    registration = models.ForeignKey(LtiRegistration, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    platform_guid = models.CharField(max_length=255, blank=True, help_text="tool_platform.guid from the first launch")
    platform_name = models.CharField(max_length=255, blank=True, help_text="tool_platform.name from the first launch")
    canvas_url = models.CharField(max_length=255, blank=True, help_text="From the custom field canvas_api_base_url")
    launch_origin = models.CharField(max_length=255, blank=True, help_text="Origin that posted the first launch")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "registration", "deployment_id"], name="uniq_deployment")
        ]
        ordering = ["registration", "deployment_id"]

    def __str__(self) -> str:
        return f"{self.deployment_id} ({self.get_status_display()})"


class ToolKey(models.Model):
    """The tool's RSA signing keys (platform-wide, not tenant data).

    Rotation is staged: a NEXT key is published in the JWKS before it signs anything;
    a RETIRED key stays published for LTI_KEY_OVERLAP_DAYS.
    """

    class Status(models.TextChoices):
        NEXT = "next", "Published, not yet signing"
        ACTIVE = "active", "Signing"
        RETIRED = "retired", "Retired (published during overlap)"

    kid = models.CharField(max_length=64, unique=True)
    public_jwk = models.JSONField()
    private_key_pem = EncryptedTextField()
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="active"), name="one_active_tool_key")
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.get_status_display()})"


class LoginAttempt(models.Model):
    """One OIDC login initiation: the state and nonce we issued, bound to one browser.

    Consumed (single-use) by the launch that answers it; purged after LTI_LOGIN_TTL_SECONDS.
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(LtiRegistration, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64, unique=True)
    browser_key_hash = models.CharField(max_length=64)
    target_link_uri = models.CharField(max_length=1000)
    login_params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"login {self.state[:8]}… ({'used' if self.consumed_at else 'open'})"


class LaunchEvent(models.Model):
    """Every launch, accepted or rejected, with its reason.

    ``workspace`` is null only for launches that never reached a known registration
    (unknown issuer or client_id): those belong to no tenant and only superusers see them.
    No tokens or message bodies are stored.
    """

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="launch_events"
    )
    registration = models.ForeignKey(
        LtiRegistration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=64)
    detail = models.CharField(max_length=500, blank=True)
    issuer = models.CharField(max_length=255, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    deployment_id = models.CharField(max_length=255, blank=True)
    context_id = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group = models.ForeignKey("workspaces.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.reason}"


class LtiIdentity(models.Model):
    """The link between a platform user (registration, sub) and our Django user.

    Holds the personal data we keep from launches, and nothing else (see
    integrations.lti.claims.STORED_LAUNCH_CLAIMS).
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="lti_identities")
    registration = models.ForeignKey(LtiRegistration, on_delete=models.CASCADE, related_name="identities")
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities")
    name = models.CharField(max_length=500, blank=True)
    email = models.CharField(max_length=254, blank=True)
    lms_user_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "registration", "sub"], name="uniq_identity"),
        ]
        verbose_name_plural = "LTI identities"

    def __str__(self) -> str:
        return self.name or self.email or f"LTI user {self.sub[:12]}"


# Canvas REST API models live in their own module (owned by the Canvas API work).
from integrations.canvas.models import *  # noqa: E402,F403
