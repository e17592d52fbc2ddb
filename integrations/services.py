"""Writes for LTI registrations and deployments."""

from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from integrations.models import LtiDeployment, LtiRegistration
from integrations.selectors import deployment_cache_key
from privacy.audit import audit_record
from workspaces.models import Workspace

# Canvas Cloud endpoints per environment (canvas-lms doc/api/lti_dev_key_config.md and
# lti_launch_overview.md): one issuer per environment for every institution.
CANVAS_PRESETS = {
    LtiRegistration.Preset.CANVAS_CLOUD: {
        "issuer": "https://canvas.instructure.com",
        "auth_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks",
        "token_url": "https://sso.canvaslms.com/login/oauth2/token",
    },
    LtiRegistration.Preset.CANVAS_BETA: {
        "issuer": "https://canvas.beta.instructure.com",
        "auth_url": "https://sso.beta.canvaslms.com/api/lti/authorize_redirect",
        "jwks_url": "https://sso.beta.canvaslms.com/api/lti/security/jwks",
        "token_url": "https://sso.beta.canvaslms.com/login/oauth2/token",
    },
    LtiRegistration.Preset.CANVAS_TEST: {
        "issuer": "https://canvas.test.instructure.com",
        "auth_url": "https://sso.test.canvaslms.com/api/lti/authorize_redirect",
        "jwks_url": "https://sso.test.canvaslms.com/api/lti/security/jwks",
        "token_url": "https://sso.test.canvaslms.com/login/oauth2/token",
    },
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return ""
    return f"https://{parts.netloc}"


def workspace_frame_origins_refresh(*, workspace_id: int) -> list[str]:
    """Recompute the Canvas origins allowed to frame the workspace's pages.

    Union of approved deployments' Canvas URL and launch origin, and the registrations'
    extra origins. Stored on the workspace so page views need no extra query.
    """
    origins: set[str] = set()
    for canvas_url, launch_origin in LtiDeployment.objects.filter(
        workspace_id=workspace_id, status=LtiDeployment.Status.APPROVED
    ).values_list("canvas_url", "launch_origin"):
        origins.update(o for o in (_origin(canvas_url), _origin(launch_origin)) if o)
    for registration in LtiRegistration.objects.filter(workspace_id=workspace_id, is_active=True):
        origins.update(registration.frame_origin_list)
    result = sorted(origins)
    Workspace.objects.filter(pk=workspace_id).update(frame_origins=result)
    return result


def registration_apply_preset(registration: LtiRegistration) -> None:
    """Fill issuer and URLs from a Canvas Cloud preset; 'Other LMS' keeps what was entered.

    'Other LMS' may use the issuer https://canvas.instructure.com too: it is the default
    ``lti_iss`` of a self-hosted Canvas, whose endpoints and keys are its own.
    """
    for field, value in CANVAS_PRESETS.get(registration.preset, {}).items():
        setattr(registration, field, value)


def registration_save(
    *, registration: LtiRegistration, actor=None, changed_fields: list[str] | None = None
) -> LtiRegistration:
    """Create or edit a registration: apply the preset, validate, save, refresh framing, audit."""
    registration_apply_preset(registration)
    registration.full_clean()
    created = registration.pk is None
    with transaction.atomic():
        registration.save()
        workspace_frame_origins_refresh(workspace_id=registration.workspace_id)
        audit_record(
            workspace_id=registration.workspace_id,
            action="lti.registration.created" if created else "lti.registration.changed",
            actor=actor,
            target=f"registration:{registration.pk}",
            details={
                "client_id": registration.client_id,
                "issuer": registration.issuer,
                "fields": changed_fields or [],
            },
        )
    return registration


def _deployment_forget(deployment: LtiDeployment) -> None:
    """Drop the launch path's cached status of a deployment once the change commits."""
    key = deployment_cache_key(registration_id=deployment.registration_id, deployment_id=deployment.deployment_id)
    transaction.on_commit(lambda: cache.delete(key))


def deployment_create(*, registration: LtiRegistration, deployment_id: str, approved_by=None) -> LtiDeployment:
    """Add an approved deployment by hand or from automation (lti_register)."""
    with transaction.atomic():
        deployment, _ = LtiDeployment.objects.update_or_create(
            workspace_id=registration.workspace_id,
            registration=registration,
            deployment_id=deployment_id,
            defaults={
                "status": LtiDeployment.Status.APPROVED,
                "approved_at": timezone.now(),
                "approved_by": approved_by,
            },
        )
        _deployment_forget(deployment)
        audit_record(
            workspace_id=registration.workspace_id,
            action="lti.deployment.created",
            actor=approved_by,
            target=f"deployment:{deployment.pk}",
            details={"deployment_id": deployment_id, "status": deployment.status},
        )
        workspace_frame_origins_refresh(workspace_id=registration.workspace_id)
    return deployment


def deployment_record_first_launch(*, registration: LtiRegistration, data, launch_origin: str) -> LtiDeployment:
    """Record a deployment_id seen for the first time (inside the launch transaction).

    Pending, unless the workspace approves new deployments automatically. Keeps what the
    launch showed about the Canvas it came from, for the Owner deciding on it.
    """
    auto = registration.workspace.deployment_approval == Workspace.DeploymentApproval.AUTOMATIC
    now = timezone.now()
    LtiDeployment.objects.bulk_create(
        [
            LtiDeployment(
                workspace_id=registration.workspace_id,
                registration=registration,
                deployment_id=data.deployment_id,
                status=LtiDeployment.Status.APPROVED if auto else LtiDeployment.Status.PENDING,
                approved_at=now if auto else None,
                platform_guid=data.platform_guid,
                platform_name=data.platform_name,
                canvas_url=data.canvas_url,
                launch_origin=_origin(launch_origin),
            )
        ],
        ignore_conflicts=True,
    )
    deployment = LtiDeployment.objects.get(registration=registration, deployment_id=data.deployment_id)
    audit_record(
        workspace_id=registration.workspace_id,
        action="lti.deployment.first_seen",
        target=f"deployment:{deployment.pk}",
        details={
            "deployment_id": deployment.deployment_id,
            "status": deployment.status,
            "platform_name": data.platform_name,
        },
    )
    if auto:
        workspace_frame_origins_refresh(workspace_id=registration.workspace_id)
    return deployment


def deployment_note_origins(*, deployment_id: int, canvas_url: str, launch_origin: str) -> None:
    """Record where an approved deployment launches from and re-derive the framing policy.

    Called by a launch that showed a Canvas origin the workspace does not know yet.
    """
    deployment = LtiDeployment.objects.get(pk=deployment_id)
    fields = []
    if canvas_url and deployment.canvas_url != canvas_url:
        deployment.canvas_url = canvas_url
        fields.append("canvas_url")
    if launch_origin and deployment.launch_origin != launch_origin:
        deployment.launch_origin = _origin(launch_origin)
        fields.append("launch_origin")
    if fields:
        deployment.save(update_fields=fields)
    workspace_frame_origins_refresh(workspace_id=deployment.workspace_id)


def deployment_set_status(*, deployment: LtiDeployment, status: str, actor) -> LtiDeployment:
    """Approve or disable a deployment (admin action) and refresh the framing policy."""
    with transaction.atomic():
        deployment.status = status
        if status == LtiDeployment.Status.APPROVED:
            deployment.approved_at = timezone.now()
            deployment.approved_by = actor
        deployment.save(update_fields=["status", "approved_at", "approved_by"])
        _deployment_forget(deployment)
        audit_record(
            workspace_id=deployment.workspace_id,
            action="lti.deployment.status_changed",
            actor=actor,
            target=f"deployment:{deployment.pk}",
            details={"deployment_id": deployment.deployment_id, "status": status},
        )
        workspace_frame_origins_refresh(workspace_id=deployment.workspace_id)
    return deployment


def login_attempts_purge() -> int:
    """Delete OIDC login attempts older than LTI_LOGIN_TTL_SECONDS; returns how many."""
    from datetime import timedelta

    from django.conf import settings

    from integrations.models import LoginAttempt

    cutoff = timezone.now() - timedelta(seconds=settings.LTI_LOGIN_TTL_SECONDS)
    deleted, _ = LoginAttempt.objects.filter(created_at__lt=cutoff).delete()
    return deleted
