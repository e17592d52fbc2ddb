"""Audit log entry point.

Call ``audit_record`` for every security-relevant event (who, what, which workspace);
never pass tokens, secrets or message bodies. The details are sanitised anyway: keys
that name a secret are dropped, values are reduced to short scalars or short lists of
them, and the whole stays small. ``workspace_id=None`` is for platform-level events only
(see ``privacy.models.AuditEntry``); platform-level LTI launch refusals are not written
at all (see ``audit_record``).

Action names are dotted, lower case (``lti.launch.rejected``); the ones this codebase
records are listed in ``ACTIONS`` (documented in docs/data-access.md), but any name of
that shape is accepted so that other parts of the code can add theirs.
"""

import re
from typing import Any

from privacy.models import AuditEntry

ACTIONS = {
    "lti.launch.accepted": "LTI launch accepted",
    "lti.launch.rejected": "LTI launch or login refused (details.reason); not recorded without a workspace",
    "lti.registration.created": "LTI registration (developer key) added",
    "lti.registration.changed": "LTI registration changed",
    "lti.deployment.first_seen": "New deployment_id seen in a signed launch",
    "lti.deployment.created": "Deployment added by hand or automation",
    "lti.deployment.status_changed": "Deployment approved or disabled",
    "lti.tool_key.rotated": "Tool signing keys rotated (platform-level)",
    # Recorded by the Canvas API work (integrations/canvas):
    "canvas.connection_changed": "Canvas API connection settings changed",
    "canvas.connection_deleted": "Canvas API connection deleted",
    "canvas.oauth_granted": "Canvas OAuth grant received",
    "canvas.oauth_denied": "Canvas OAuth grant refused by the user",
    "canvas.oauth_failed": "Canvas OAuth exchange failed",
    "canvas.token_refresh_failed": "Canvas token refresh failed",
    "canvas.scope_error": "Canvas refused a request for insufficient scopes",
    "canvas.disconnected": "Canvas connection disconnected (token revoked)",
    "canvas.course_linked": "Course linked to the Canvas connection",
    "canvas.sync_completed": "Canvas content sync completed",
    "canvas.sync_failed": "Canvas content sync failed",
    "workspace.settings.changed": "Workspace settings changed",
    "workspace.role_mapping.changed": "LMS role mapping changed",
    "workspace.role.changed": "A person's workspace or group role changed by hand",
    "admin.sign_in": "Admin console sign-in",
    "admin.sign_in_failed": "Admin console sign-in refused (platform-level)",
    "privacy.person.exported": "A person's data exported",
    "privacy.person.deleted": "A person's data deleted",
    "privacy.person.anonymised": "A person's data anonymised",
    "privacy.workspace.deleted": "A whole workspace's data deleted",
    "privacy.audit.exported": "Audit log exported as CSV",
    "privacy.retention.changed": "Retention settings changed",
    "privacy.retention.purged": "Retention purge removed or deactivated records",
    "privacy.share_link.created": "Data-access share link created",
    "privacy.share_link.revoked": "Data-access share link revoked",
}

_ACTION_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
# A key containing any of these never reaches the log, whatever its value...
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "body",
    "private",
    "jwt",
    "credential",
)
# ... nor a key that is exactly one of these.
_SECRET_KEYS = {"code", "nonce", "state", "content", "text", "html", "message", "key"}
_MAX_KEYS = 20
_MAX_TEXT = 200
_MAX_LIST = 20


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)


def _clean_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_clean_value(v) for v in items[:_MAX_LIST] if not isinstance(v, dict | list | tuple)]
    if isinstance(value, dict):
        return _clean_details(value, nested=True)
    return str(value)[:_MAX_TEXT]


def _clean_details(details: dict | None, *, nested: bool = False) -> dict:
    clean: dict[str, Any] = {}
    for key, value in list((details or {}).items())[:_MAX_KEYS]:
        key = str(key)[:64]
        if _is_secret_key(key):
            continue
        if isinstance(value, dict) and nested:
            continue  # one level of nesting at most
        clean[key] = _clean_value(value)
    return clean


def _actor(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor[:150]
    if isinstance(actor, int):
        return actor, ""
    if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) is not None:
        return actor.pk, actor.get_username()[:150]
    return None, "anonymous"


# Platform-level (workspace-less) events with these prefixes are not written: they are
# LTI launches and logins refused before any registration was identified, which anyone
# can cause without signing in. Their ``LaunchEvent`` row and the log line record them.
_PLATFORM_LEVEL_NOT_AUDITED = ("lti.launch.",)


def is_audited(*, workspace_id: int | None, action: str) -> bool:
    """False for the anonymous platform-level events kept out of the audit table."""
    return not (workspace_id is None and action.startswith(_PLATFORM_LEVEL_NOT_AUDITED))


def audit_record(
    *, workspace_id: int | None, action: str, actor=None, target: str = "", details: dict | None = None
) -> AuditEntry | None:
    """Append one audit entry and return it (None when the event is not audited).

    ``actor`` is a user, a user id, a short label (``"canvas-sync"``) or None (the
    system). ``target`` names what was acted on (``deployment:<id>``, ``user:<id>``).

    Platform-level LTI launch events (``lti.launch.*`` with no workspace: refusals for
    unknown platforms, caused by unauthenticated requests) are not written, so that an
    anonymous flood cannot fill the table; ``LaunchEvent`` and the log keep them.
    """
    if not _ACTION_RE.match(action) or len(action) > 64:
        raise ValueError(f"Audit action must be a dotted lower-case name: {action!r}")
    if not is_audited(workspace_id=workspace_id, action=action):
        return None
    actor_id, actor_label = _actor(actor)
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        action=action,
        actor_id=actor_id,
        actor_label=actor_label,
        target=str(target)[:255],
        details=_clean_details(details),
    )
