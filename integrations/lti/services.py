"""Login initiation and launch: turn a validated launch into sign-in and enrolment."""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from integrations.lti.claims import CLAIM_MESSAGE_TYPE, DATA_PRIVACY_LAUNCH_REQUEST, LaunchData, minimise_launch
from integrations.lti.errors import LaunchRefused
from integrations.lti.validation import validate_id_token
from integrations.models import LaunchEvent, LoginAttempt, LtiDeployment, LtiIdentity, LtiRegistration
from integrations.selectors import deployment_for_launch
from integrations.services import deployment_note_origins, deployment_record_first_launch
from privacy.audit import audit_record
from workspaces.roles import classify_lti_roles, map_roles
from workspaces.services import LmsGroupRef, groups_upsert_from_lms, memberships_sync_from_lms, role_mapping_get

logger = logging.getLogger("nectir.lti")
User = get_user_model()

LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "client_id", "lti_deployment_id", "lti_message_hint")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def launch_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/lti/launch/"


def is_own_url(url: str) -> bool:
    ours, theirs = urlsplit(settings.PUBLIC_BASE_URL), urlsplit(url)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def is_platform_origin(origin: str, registration: LtiRegistration) -> bool:
    """Whether a browser origin belongs to the registration's platform.

    Same host as its issuer or OIDC endpoint, or a subdomain of their parent domain
    (school.instructure.com for canvas.instructure.com / sso.canvaslms.com's issuer).
    """
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        return False
    for url in (registration.issuer, registration.auth_url):
        platform_host = urlsplit(url).hostname or ""
        parent = platform_host.split(".", 1)[1] if platform_host.count(".") >= 2 else platform_host
        if host == platform_host or (parent and host.endswith("." + parent)):
            return True
    return False


def launch_event_record(
    *, outcome: str, reason: str, detail: str = "", registration: LtiRegistration | None = None, **fields
) -> LaunchEvent:
    """Append a launch event (no tokens, no bodies) and log it for operators."""
    event = LaunchEvent.objects.create(
        workspace_id=registration.workspace_id if registration else None,
        registration=registration,
        outcome=outcome,
        reason=reason,
        detail=detail[:500],
        issuer=(registration.issuer if registration else fields.pop("issuer", ""))[:255],
        client_id=(registration.client_id if registration else fields.pop("client_id", ""))[:255],
        **{k: v for k, v in fields.items() if k not in ("issuer", "client_id")},
    )
    audit_record(
        workspace_id=event.workspace_id,
        action=f"lti.launch.{outcome}",
        actor=event.user,
        target=f"launch_event:{event.pk}",
        details={"reason": reason, "deployment_id": event.deployment_id, "client_id": event.client_id},
    )
    log = logger.info if outcome == LaunchEvent.Outcome.ACCEPTED else logger.warning
    log(
        "lti launch %s reason=%s workspace=%s detail=%s",
        outcome,
        reason,
        event.workspace_id,
        detail[:200],
    )
    return event


@dataclass(frozen=True)
class LoginStart:
    attempt: LoginAttempt
    registration: LtiRegistration
    auth_url: str
    browser_key: str


def login_start(*, params: dict[str, str]) -> LoginStart:
    """Begin an OIDC third-party-initiated login (LTI Security §5.1.1 steps 1-2).

    Finds the registration by (iss, client_id) (by iss alone only when it is unique),
    records a login attempt holding a fresh state and nonce, and returns the platform
    authorization URL plus the browser key the caller must set as a cookie.
    """
    issuer, hint, target = params.get("iss", ""), params.get("login_hint", ""), params.get("target_link_uri", "")
    if not (issuer and hint and target):
        raise LaunchRefused("login_params_missing")
    client_id = params.get("client_id", "")
    candidates = LtiRegistration.objects.select_related("workspace").filter(issuer=issuer)
    if client_id:
        candidates = candidates.filter(client_id=client_id)
    found = list(candidates[:2])
    if not found:
        known_issuer = client_id and LtiRegistration.objects.filter(issuer=issuer).exists()
        raise LaunchRefused(
            "unknown_client" if known_issuer or client_id else "unknown_issuer", f"client_id={client_id[:60]}"
        )
    if len(found) > 1:
        raise LaunchRefused("ambiguous_issuer")
    registration = found[0]
    refusal = None
    if not registration.is_active:
        refusal = LaunchRefused("registration_inactive")
    elif not is_own_url(target):
        refusal = LaunchRefused("target_link_uri_invalid", target[:200])
    if refusal is not None:
        refusal.registration = registration
        raise refusal
    browser_key = secrets.token_urlsafe(32)
    attempt = LoginAttempt.objects.create(
        workspace_id=registration.workspace_id,
        registration=registration,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        browser_key_hash=_hash(browser_key),
        target_link_uri=target[:1000],
        login_params={k: params[k][:2000] for k in LOGIN_PARAMS if params.get(k)},
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": launch_url(),
        "login_hint": hint,
        "state": attempt.state,
        "nonce": attempt.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(registration.auth_url).query else "?"
    return LoginStart(attempt, registration, registration.auth_url + separator + urlencode(query), browser_key)


def login_attempt_for_launch(*, state: str, browser_key: str | None, any_state_cookie: bool) -> LoginAttempt:
    """The login attempt a launch answers, checked against this browser (one query)."""
    if not state:
        raise LaunchRefused("state_missing")
    attempt = LoginAttempt.objects.select_related("registration__workspace").filter(state=state[:64]).first()
    if attempt is None:
        raise LaunchRefused("state_unknown")
    refusal = None
    if attempt.consumed_at is not None:
        refusal = LaunchRefused("nonce_replayed")
    elif attempt.created_at < timezone.now() - timedelta(seconds=settings.LTI_LOGIN_TTL_SECONDS):
        refusal = LaunchRefused("state_expired")
    elif browser_key is None:
        refusal = LaunchRefused("state_mismatch" if any_state_cookie else "cookies_blocked")
    elif not hmac.compare_digest(_hash(browser_key), attempt.browser_key_hash):
        refusal = LaunchRefused("state_mismatch")
    if refusal is not None:
        refusal.registration = attempt.registration
        raise refusal
    return attempt


@dataclass(frozen=True)
class LaunchResult:
    user: object
    group_uuid: str
    event: LaunchEvent


@dataclass(frozen=True)
class PendingLaunch:
    deployment: LtiDeployment


@dataclass(frozen=True)
class DataPrivacyLaunch:
    """A validated DataPrivacyLaunchRequest: show the person what is stored about them."""

    user: object | None
    workspace: object
    event: LaunchEvent


def _data_privacy_launch(*, registration: LtiRegistration, data: LaunchData) -> DataPrivacyLaunch:
    """Find (never create) the person; nothing else is written but the launch event."""
    identity = (
        LtiIdentity.objects.select_related("user")
        .filter(workspace_id=registration.workspace_id, registration=registration, sub=data.sub)
        .first()
    )
    user = identity.user if identity else None
    event = launch_event_record(
        outcome=LaunchEvent.Outcome.ACCEPTED,
        reason="data_privacy",
        registration=registration,
        deployment_id=data.deployment_id,
        user=user,
    )
    return DataPrivacyLaunch(user=user, workspace=registration.workspace, event=event)


def launch_complete(
    *, attempt: LoginAttempt, id_token: str, request_origin: str = ""
) -> LaunchResult | PendingLaunch | DataPrivacyLaunch:
    """Validate the id_token for ``attempt`` and sign the person in.

    In one transaction: consume the login (single use of state and nonce), record or
    check the deployment, find or create the person, upsert the course group and its
    sections, apply role mapping, record the launch. A refused launch changes nothing
    but the login attempt's consumption and a pending deployment row.
    """
    registration = attempt.registration
    claims = validate_id_token(
        id_token=id_token,
        issuer=registration.issuer,
        client_id=registration.client_id,
        jwks_url=registration.jwks_url,
        nonce=attempt.nonce,
    )
    if claims["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"] != attempt.target_link_uri:
        raise LaunchRefused("target_link_uri_mismatch")
    data = minimise_launch(claims)
    now = timezone.now()
    with transaction.atomic():
        consumed = LoginAttempt.objects.filter(pk=attempt.pk, consumed_at__isnull=True).update(consumed_at=now)
        if consumed != 1:
            raise LaunchRefused("nonce_replayed")
        deployment = deployment_for_launch(registration_id=registration.pk, deployment_id=data.deployment_id)
        if deployment is None:
            deployment = deployment_record_first_launch(
                registration=registration, data=data, launch_origin=request_origin
            )
        if deployment.status == LtiDeployment.Status.PENDING:
            return PendingLaunch(deployment)
        if deployment.status != LtiDeployment.Status.APPROVED:
            raise LaunchRefused("deployment_disabled")
        workspace = registration.workspace
        _learn_canvas_origin(registration=registration, deployment=deployment, data=data, request_origin=request_origin)
        if claims[CLAIM_MESSAGE_TYPE] == DATA_PRIVACY_LAUNCH_REQUEST:
            return _data_privacy_launch(registration=registration, data=data)
        user, ws_role, ws_pinned, new_person = _person_upsert(registration=registration, data=data)
        course = LmsGroupRef(
            context_id=data.context_id,
            name=data.context_title or data.context_label or "Course",
            label=data.context_label,
            canvas_course_id=data.canvas_course_id,
        )
        sections = [
            LmsGroupRef(context_id=data.context_id, name=f"Section {s}", section_id=s) for s in data.section_ids
        ]
        groups = groups_upsert_from_lms(
            workspace_id=workspace.pk, deployment_id=deployment.pk, course=course, sections=sections
        )
        mapped = map_roles(classify_lti_roles(data.roles), role_mapping_get(workspace_id=workspace.pk))
        memberships_sync_from_lms(
            workspace=workspace,
            user_id=user.pk,
            current_workspace_role=ws_role,
            workspace_role_pinned=ws_pinned,
            groups=groups,
            mapped=mapped,
            seen_at=now,
            new_person=new_person,
        )
        event = launch_event_record(
            outcome=LaunchEvent.Outcome.ACCEPTED,
            reason="accepted",
            registration=registration,
            deployment_id=data.deployment_id,
            context_id=data.context_id,
            user=user,
            group=groups[0],
        )
    return LaunchResult(user=user, group_uuid=str(groups[0].uuid), event=event)


def _learn_canvas_origin(*, registration, deployment, data: LaunchData, request_origin: str) -> None:
    """Let the workspace's pages be framed by the Canvas this approved deployment launches from.

    Known origins cost nothing; a new one (from the signed canvas_api_base_url custom
    field, or the posting page when it belongs to the platform) is recorded once.
    """
    known = set(registration.workspace.frame_origins)
    canvas_origin = _origin_of(data.canvas_url)
    launch_origin = request_origin if is_platform_origin(request_origin, registration) else ""
    if (canvas_origin and canvas_origin not in known) or (launch_origin and launch_origin not in known):
        deployment_note_origins(
            deployment_id=deployment.pk,
            canvas_url=data.canvas_url if canvas_origin else "",
            launch_origin=launch_origin,
        )


def _origin_of(url: str) -> str:
    parts = urlsplit(url or "")
    return f"https://{parts.netloc}" if parts.scheme == "https" and parts.hostname else ""


_INSERT_IDENTITY = """
INSERT INTO integrations_ltiidentity (workspace_id, registration_id, sub, user_id, name, email, lms_user_id, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (workspace_id, registration_id, sub) DO NOTHING
RETURNING id
"""


def _person_upsert(*, registration: LtiRegistration, data: LaunchData):
    """(user, current workspace role or None, role pinned, created now) for the launching person.

    One query for a returning person (identity, user and workspace membership joined).
    A first launch inserts user and identity; if a simultaneous first launch of the same
    person won the identity row, our user row is discarded and theirs is used.
    """
    rows = (
        LtiIdentity.objects.filter(workspace_id=registration.workspace_id, registration=registration, sub=data.sub)
        .select_related("user")
        .annotate(
            wm=FilteredRelation(
                "user__workspace_memberships",
                condition=Q(user__workspace_memberships__workspace_id=F("workspace_id")),
            ),
            ws_role=F("wm__role"),
            ws_pinned=F("wm__role_pinned"),
        )
    )
    identity = rows.first()
    if identity is None:
        user = User(
            username=f"lti-{secrets.token_hex(12)}",
            first_name=data.name[:150],
            email=data.email,
            last_login=timezone.now(),
        )
        user.set_unusable_password()
        user.save()
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_IDENTITY,
                [
                    registration.workspace_id,
                    registration.pk,
                    data.sub,
                    user.pk,
                    data.name,
                    data.email,
                    data.lms_user_id,
                    timezone.now(),
                ],
            )
            inserted = cursor.fetchone() is not None
        if inserted:
            return user, None, False, True
        user.delete()
        identity = rows.first()
    user = identity.user
    if (identity.name, identity.email, identity.lms_user_id) != (data.name, data.email, data.lms_user_id):
        LtiIdentity.objects.filter(pk=identity.pk).update(
            name=data.name, email=data.email, lms_user_id=data.lms_user_id
        )
        User.objects.filter(pk=user.pk).update(first_name=data.name[:150], email=data.email)
        user.first_name, user.email = data.name[:150], data.email
    return user, identity.ws_role, bool(identity.ws_pinned), False
