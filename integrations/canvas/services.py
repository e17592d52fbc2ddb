"""Writes for the Canvas API connection: credentials, OAuth grant, token refresh and revocation,
course links and sync requests. The content import itself is in ``integrations.canvas.sync``.

Every security-relevant change is audited (never with tokens, secrets or bodies).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.canvas import client as canvas
from integrations.canvas.models import CanvasConnection, CanvasCourseSync, CanvasOAuthState
from privacy.audit import audit_record
from workspaces.models import Group

logger = logging.getLogger(__name__)

SESSION_BINDING_KEY = "canvas_oauth_binding"


def redirect_uri() -> str:
    """The OAuth redirect URI to put on the API developer key."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('canvas:oauth-callback')}"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _error_text(exc: Exception) -> str:
    return str(exc)[:500]


# --- connection ---------------------------------------------------------------------------
SECRET_AGAIN = "Enter the client secret again: it is required when the Canvas address or client ID changes."


def canvas_connection_save(*, connection: CanvasConnection, new_secret: str = "", actor=None) -> CanvasConnection:
    """Create or edit a connection. A blank ``new_secret`` keeps the stored one, unless the
    instance URL or the client ID changes: then the secret must be entered again (ValueError,
    nothing saved), so a changed address never receives the stored secret.

    Changing the instance URL or the client ID drops the tokens (they belong to the old key)
    and sets the connection back to "not authorized". Audited as a connection change.
    """
    connection.instance_url = canvas.normalize_instance_url(connection.instance_url)
    canvas.instance_url_check_public(connection.instance_url)
    with transaction.atomic():
        previous = (
            CanvasConnection.objects.select_for_update().filter(pk=connection.pk).first() if connection.pk else None
        )
        changed = ["created"] if previous is None else []
        if previous is not None:
            for field in ("instance_url", "client_id", "use_pkce"):
                if getattr(previous, field) != getattr(connection, field):
                    changed.append(field)
            connection.client_secret = previous.client_secret
            for field in ("access_token", "refresh_token", "token_expires_at", "status"):
                setattr(connection, field, getattr(previous, field))
        if previous is not None and {"instance_url", "client_id"} & set(changed) and not new_secret:
            raise ValueError(SECRET_AGAIN)
        if new_secret:
            connection.client_secret = new_secret
            changed.append("client_secret")
        if previous is not None and {"instance_url", "client_id"} & set(changed):
            _clear_tokens(connection)
            connection.status = CanvasConnection.Status.NOT_AUTHORIZED
        if not connection.client_secret:
            raise ValueError("The client secret is required.")
        connection.save()
        audit_record(
            workspace_id=connection.workspace_id,
            action="canvas.connection_changed",
            actor=actor,
            target=f"canvas_connection:{connection.pk}",
            details={"fields": changed, "instance_url": connection.instance_url},
        )
    return connection


def _clear_tokens(connection: CanvasConnection) -> None:
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = None
    connection.canvas_user_id = ""
    connection.canvas_user_name = ""
    connection.scopes = []


def _set_error(connection: CanvasConnection, message: str, *, status: str | None = None) -> None:
    fields = {"last_error": message[:500], "last_error_at": timezone.now()}
    if status:
        fields["status"] = status
    CanvasConnection.objects.filter(pk=connection.pk).update(**fields)
    for key, value in fields.items():
        setattr(connection, key, value)


# --- OAuth ----------------------------------------------------------------------------------
def canvas_oauth_start(*, connection: CanvasConnection, user, session) -> str:
    """Begin "Authorize with Canvas": store a one-time state bound to this admin session,
    user and workspace (plus a PKCE verifier when enabled); return the Canvas consent URL."""
    binding = session.get(SESSION_BINDING_KEY)
    if not binding:
        binding = secrets.token_urlsafe(32)
        session[SESSION_BINDING_KEY] = binding
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if connection.use_pkce else ""
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() if verifier else ""
    )
    CanvasOAuthState.objects.create(
        workspace_id=connection.workspace_id,
        connection=connection,
        user=user,
        state_hash=_sha256(state),
        session_binding_hash=_sha256(binding),
        code_verifier=verifier,
    )
    return canvas.oauth_authorize_url(
        base_url=connection.instance_url,
        client_id=connection.client_id,
        redirect_uri=redirect_uri(),
        state=state,
        scopes=list(canvas.SCOPES),
        code_challenge=challenge,
    )


@dataclass(frozen=True)
class OAuthOutcome:
    ok: bool
    message: str
    connection: CanvasConnection | None = None


BAD_STATE = (
    "Canvas authorization failed: the request was not recognised, already used or expired. "
    "Start again with “Authorize with Canvas”."
)


def _state_consume(*, state: str, user, session) -> CanvasOAuthState | None:
    """The open state for this session and user, consumed (single use), or None."""
    binding = session.get(SESSION_BINDING_KEY, "")
    if not state or not binding or not getattr(user, "is_authenticated", False):
        return None
    cutoff = timezone.now() - timedelta(seconds=settings.CANVAS_OAUTH_STATE_TTL_SECONDS)
    candidate = (
        CanvasOAuthState.objects.select_related("connection")
        .filter(state_hash=_sha256(state), consumed_at__isnull=True, created_at__gte=cutoff)
        .first()
    )
    if candidate is None or candidate.user_id != user.pk:
        return None
    if not secrets.compare_digest(candidate.session_binding_hash, _sha256(binding)):
        return None
    consumed = CanvasOAuthState.objects.filter(pk=candidate.pk, consumed_at__isnull=True).update(
        consumed_at=timezone.now()
    )
    return candidate if consumed == 1 else None


def canvas_oauth_complete(*, state: str, code: str, error: str, user, session) -> OAuthOutcome:
    """Finish the authorization-code flow: check and consume the state, exchange the code,
    store the encrypted tokens, expiry and Canvas user. Audited either way."""
    record = _state_consume(state=state, user=user, session=session)
    if record is None:
        return OAuthOutcome(False, BAD_STATE)
    connection = record.connection
    audit = {"workspace_id": connection.workspace_id, "actor": user, "target": f"canvas_connection:{connection.pk}"}
    if error or not code:
        message = (
            "Canvas authorization was cancelled: consent was denied in Canvas, so nothing was connected."
            if error in ("access_denied", "") or not error
            else f"Canvas refused the authorization ({error[:60]}). Check that the developer key is on and "
            "its scopes match the list shown here."
        )
        _set_error(connection, message)
        audit_record(action="canvas.oauth_denied", details={"error": error[:60]}, **audit)
        return OAuthOutcome(False, message, connection)
    try:
        grant = canvas.oauth_exchange_code(
            base_url=connection.instance_url,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            redirect_uri=redirect_uri(),
            code=code,
            code_verifier=record.code_verifier,
            workspace_id=connection.workspace_id,
        )
    except canvas.CanvasInvalidClient:
        message = (
            "Canvas rejected the client ID or client secret. Copy both again from the API developer key "
            "(Admin › Developer Keys), save, and authorize again."
        )
        _set_error(connection, message, status=CanvasConnection.Status.CONFIG_ERROR)
        audit_record(action="canvas.oauth_failed", details={"reason": "invalid_client"}, **audit)
        return OAuthOutcome(False, message, connection)
    except canvas.CanvasError as exc:
        message = f"Canvas authorization failed: {_error_text(exc)}"
        _set_error(connection, message)
        audit_record(action="canvas.oauth_failed", details={"reason": type(exc).__name__}, **audit)
        return OAuthOutcome(False, message, connection)
    now = timezone.now()
    with transaction.atomic():
        locked = CanvasConnection.objects.select_for_update().get(pk=connection.pk)
        locked.access_token = grant.access_token
        locked.refresh_token = grant.refresh_token
        locked.token_expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
        locked.canvas_user_id = grant.user_id
        locked.canvas_user_name = grant.user_name
        locked.scopes = list(canvas.SCOPES)
        locked.status = CanvasConnection.Status.CONNECTED
        locked.authorized_at = now
        locked.authorized_by = user
        locked.last_refresh_at = now
        locked.last_error = ""
        locked.last_error_at = None
        locked.save()
        audit_record(
            action="canvas.oauth_granted",
            details={"canvas_user_id": grant.user_id, "scopes": len(canvas.SCOPES), "pkce": bool(record.code_verifier)},
            **audit,
        )
    return OAuthOutcome(True, f"Connected to Canvas as {grant.user_name or grant.user_id}.", locked)


def oauth_states_purge() -> int:
    """Delete OAuth states older than CANVAS_OAUTH_STATE_TTL_SECONDS (idempotent)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CANVAS_OAUTH_STATE_TTL_SECONDS)
    deleted, _ = CanvasOAuthState.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- tokens ---------------------------------------------------------------------------------
def canvas_token_refresh(*, connection_id: int, force: bool = False, stale_token: str = "") -> str:
    """Refresh the access token under a row lock; returns the token to use.

    Re-reads after the lock: when another worker refreshed already (the token differs from
    ``stale_token`` or is no longer near expiry), its token is used. Canvas sends no new
    refresh token: the old one is kept. A dead refresh token sets "authorize again".
    """
    with transaction.atomic():
        connection = CanvasConnection.objects.select_for_update().get(pk=connection_id)
        if not connection.refresh_token:
            raise canvas.CanvasReauthRequired("No Canvas authorization: authorize with Canvas first.")
        margin = timedelta(seconds=settings.CANVAS_TOKEN_REFRESH_MARGIN_SECONDS)
        fresh = connection.token_expires_at is None or connection.token_expires_at - margin > timezone.now()
        if connection.access_token and fresh and (not force or connection.access_token != stale_token):
            return connection.access_token
        try:
            grant = canvas.oauth_refresh(
                base_url=connection.instance_url,
                client_id=connection.client_id,
                client_secret=connection.client_secret,
                refresh_token=connection.refresh_token,
                workspace_id=connection.workspace_id,
            )
        except (canvas.CanvasInvalidGrant, canvas.CanvasInvalidClient) as exc:
            failure = exc
        else:
            failure = None
        if failure is None:
            now = timezone.now()
            connection.access_token = grant.access_token
            if grant.refresh_token:
                connection.refresh_token = grant.refresh_token
            connection.token_expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
            connection.last_refresh_at = now
            if connection.status != CanvasConnection.Status.CONFIG_ERROR:
                connection.status = CanvasConnection.Status.CONNECTED
            connection.save(
                update_fields=["access_token", "refresh_token", "token_expires_at", "last_refresh_at", "status"]
            )
            return grant.access_token
    # Outside the transaction: the failure must stay recorded while the error propagates.
    reauth = isinstance(failure, canvas.CanvasInvalidGrant)
    message = (
        "Canvas no longer accepts this authorization (refresh token not found): authorize again."
        if reauth
        else "Canvas rejected the client ID or secret while refreshing: check the developer key."
    )
    status = CanvasConnection.Status.REAUTH_REQUIRED if reauth else CanvasConnection.Status.CONFIG_ERROR
    CanvasConnection.objects.filter(pk=connection_id).update(
        access_token="", status=status, last_error=message, last_error_at=timezone.now()
    )
    audit_record(
        workspace_id=connection.workspace_id,
        action="canvas.token_refresh_failed",
        target=f"canvas_connection:{connection_id}",
        details={"reason": failure.error or type(failure).__name__},
    )
    raise canvas.CanvasReauthRequired(message) from failure


class ConnectionTokens:
    """``TokenSource`` for the client: the stored token, refreshed ahead of expiry or on a 401."""

    def __init__(self, connection: CanvasConnection):
        self.connection_id = connection.pk
        self._token = connection.access_token
        self._expires_at = connection.token_expires_at

    def access_token(self) -> str:
        margin = timedelta(seconds=settings.CANVAS_TOKEN_REFRESH_MARGIN_SECONDS)
        if not self._token or (self._expires_at and self._expires_at - margin <= timezone.now()):
            self._reload(canvas_token_refresh(connection_id=self.connection_id))
        return self._token

    def refresh(self) -> str:
        self._reload(canvas_token_refresh(connection_id=self.connection_id, force=True, stale_token=self._token))
        return self._token

    def _reload(self, token: str) -> None:
        self._token = token
        self._expires_at = (
            CanvasConnection.objects.filter(pk=self.connection_id).values_list("token_expires_at", flat=True).first()
        )


def canvas_client_for(connection: CanvasConnection, **kwargs) -> canvas.CanvasClient:
    """A read-only client acting with the connection's token."""
    if not connection.refresh_token and not connection.access_token:
        raise canvas.CanvasReauthRequired("Canvas is not authorized yet: use “Authorize with Canvas”.")
    return canvas.CanvasClient(
        base_url=connection.instance_url,
        workspace_id=connection.workspace_id,
        tokens=ConnectionTokens(connection),
        **kwargs,
    )


def canvas_error_record(*, connection: CanvasConnection, exc: canvas.CanvasError) -> None:
    """Store a Canvas error where the Owner sees it; scope problems are configuration errors."""
    status = None
    if isinstance(exc, canvas.CanvasScopeError):
        status = CanvasConnection.Status.CONFIG_ERROR
        audit_record(
            workspace_id=connection.workspace_id,
            action="canvas.scope_error",
            target=f"canvas_connection:{connection.pk}",
            details={"endpoint": exc.endpoint},
        )
    elif isinstance(exc, canvas.CanvasReauthRequired):
        status = CanvasConnection.Status.REAUTH_REQUIRED
    _set_error(connection, _error_text(exc), status=status)


NETWORK_ERRORS = (canvas.CanvasAddressRefused, canvas.CanvasUnreachable, canvas.CanvasTimeoutError)


def canvas_connection_test(*, connection: CanvasConnection, actor=None) -> OAuthOutcome:
    """ "Test connection": read the token's own user; records success or the error."""
    try:
        with canvas_client_for(connection) as api:
            me = api.get_self()
    except NETWORK_ERRORS:
        # One message for every network condition (refused address, DNS, timeout, connection).
        _set_error(connection, canvas.UNREACHABLE)
        return OAuthOutcome(False, f"Canvas test failed: {canvas.UNREACHABLE}.", connection)
    except canvas.CanvasError as exc:
        canvas_error_record(connection=connection, exc=exc)
        return OAuthOutcome(False, f"Canvas test failed: {_error_text(exc)}", connection)
    name = str(me.get("name", ""))[:255]
    CanvasConnection.objects.filter(pk=connection.pk).update(
        canvas_user_name=name or connection.canvas_user_name,
        last_error="",
        last_error_at=None,
        status=CanvasConnection.Status.CONNECTED,
    )
    return OAuthOutcome(True, f"Canvas answered: connected as {name} (Canvas user {me.get('id')}).", connection)


def canvas_disconnect(*, connection: CanvasConnection, actor=None) -> OAuthOutcome:
    """ "Disconnect": revoke the token at Canvas (DELETE /login/oauth2/token), then delete it here
    whatever Canvas answered. Audited with the revocation outcome."""
    revoked, note = False, ""
    if connection.access_token or connection.refresh_token:
        token = connection.access_token
        try:
            try:
                canvas.oauth_revoke(
                    base_url=connection.instance_url, access_token=token, workspace_id=connection.workspace_id
                )
            except canvas.CanvasReauthRequired:
                token = canvas_token_refresh(connection_id=connection.pk, force=True, stale_token=token)
                canvas.oauth_revoke(
                    base_url=connection.instance_url, access_token=token, workspace_id=connection.workspace_id
                )
            revoked = True
        except canvas.CanvasError as exc:
            note = _error_text(exc)
    with transaction.atomic():
        locked = CanvasConnection.objects.select_for_update().get(pk=connection.pk)
        _clear_tokens(locked)
        locked.status = CanvasConnection.Status.NOT_AUTHORIZED
        locked.last_error = "" if revoked or not note else f"Revocation at Canvas failed: {note}"[:500]
        locked.last_error_at = None if revoked or not note else timezone.now()
        locked.save()
        audit_record(
            workspace_id=connection.workspace_id,
            action="canvas.disconnected",
            actor=actor,
            target=f"canvas_connection:{connection.pk}",
            details={"revoked_at_canvas": revoked},
        )
    if revoked or not note:
        return OAuthOutcome(True, "Disconnected: the token was revoked at Canvas and deleted here.", locked)
    return OAuthOutcome(
        False,
        "Disconnected here (token deleted), but Canvas did not confirm the revocation: "
        "remove the token in Canvas under Account › Settings › Approved integrations.",
        locked,
    )


# --- course links and sync requests -----------------------------------------------------------
def course_links_ensure(*, workspace_id: int) -> int:
    """Create a sync row for every active course group whose launch gave a Canvas course id."""
    groups = Group.objects.filter(workspace_id=workspace_id, parent__isnull=True, is_active=True).exclude(
        canvas_course_id=""
    )
    rows = [CanvasCourseSync(workspace_id=workspace_id, group_id=gid) for gid in groups.values_list("pk", flat=True)]
    created = CanvasCourseSync.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def course_link_set(*, group: Group, course_id: str, course_name: str = "", actor=None) -> CanvasCourseSync:
    """Link a group to a Canvas course picked by an Owner or Editor (the course list the token sees)."""
    course_id = str(course_id).strip()
    if not course_id.isdigit():
        raise ValueError("Pick a Canvas course from the list.")
    with transaction.atomic():
        link, _ = CanvasCourseSync.objects.get_or_create(group=group, defaults={"workspace_id": group.workspace_id})
        link.picked_course_id = course_id
        link.course_name = course_name[:500]
        link.save(update_fields=["picked_course_id", "course_name"])
        audit_record(
            workspace_id=group.workspace_id,
            action="canvas.course_linked",
            actor=actor,
            target=f"group:{group.uuid}",
            details={"canvas_course_id": course_id},
        )
    return link


def course_sync_request(*, course_sync: CanvasCourseSync, actor=None) -> bool:
    """ "Sync now" for one group: mark it queued and enqueue the task after commit.
    Returns False when a sync is already running (at most one per group)."""
    from integrations.canvas.tasks import sync_course

    with transaction.atomic():
        updated = (
            CanvasCourseSync.objects.filter(pk=course_sync.pk)
            .exclude(state=CanvasCourseSync.State.RUNNING, heartbeat_at__gte=_stale_cutoff())
            .update(state=CanvasCourseSync.State.QUEUED, phase="queued", last_error="")
        )
        if updated != 1:
            return False
        transaction.on_commit(lambda: sync_course.delay(course_sync_id=course_sync.pk))
    return True


def connection_sync_request(*, connection: CanvasConnection, actor=None) -> int:
    """ "Sync now" for every linked course of the connection's workspace (enqueued after commit)."""
    from integrations.canvas.tasks import sync_connection

    course_links_ensure(workspace_id=connection.workspace_id)
    transaction.on_commit(lambda: sync_connection.delay(connection_id=connection.pk))
    return CanvasCourseSync.objects.filter(workspace_id=connection.workspace_id, enabled=True).count()


def _stale_cutoff():
    return timezone.now() - timedelta(seconds=settings.CANVAS_SYNC_STALE_SECONDS)


def canvas_connection_delete(*, connection: CanvasConnection, actor=None) -> None:
    """Delete a connection: revoke its token at Canvas first (best effort), then delete the row."""
    canvas_disconnect(connection=connection, actor=actor)
    with transaction.atomic():
        audit_record(
            workspace_id=connection.workspace_id,
            action="canvas.connection_deleted",
            actor=actor,
            target=f"canvas_connection:{connection.pk}",
            details={"instance_url": connection.instance_url},
        )
        CanvasConnection.objects.filter(pk=connection.pk).delete()


def canvas_course_list(*, connection: CanvasConnection) -> list[dict]:
    """The courses the token can see (teacher, designer or TA enrolments), for the course picker."""
    try:
        with canvas_client_for(connection) as api:
            courses = api.list_courses()
    except canvas.CanvasError as exc:
        canvas_error_record(connection=connection, exc=exc)
        raise
    return sorted(
        (
            {"id": str(c.get("id")), "name": str(c.get("name") or ""), "code": str(c.get("course_code") or "")}
            for c in courses
            if c.get("id") is not None
        ),
        key=lambda c: (c["name"].lower(), c["id"]),
    )


def course_link_create(
    *, group: Group, picked_course_id: str = "", enabled: bool = True, actor=None
) -> CanvasCourseSync:
    """Add a course link for a group (the workspace comes from the group)."""
    with transaction.atomic():
        link, _ = CanvasCourseSync.objects.get_or_create(group=group, defaults={"workspace_id": group.workspace_id})
        link.picked_course_id = str(picked_course_id or "").strip()
        link.enabled = enabled
        link.save(update_fields=["picked_course_id", "enabled"])
        audit_record(
            workspace_id=group.workspace_id,
            action="canvas.course_linked",
            actor=actor,
            target=f"group:{group.uuid}",
            details={"canvas_course_id": link.course_id},
        )
    return link
