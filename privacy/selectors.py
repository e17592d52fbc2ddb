"""Tenant-scoped reads for the data-access pages, the audit log and the FERPA tools.

The data-access report is *generated*: from the code's list of stored launch claims
(``integrations.lti.claims.STORED_LAUNCH_CLAIMS``), the LTI configuration the tool hands
to Canvas (``developer_key_json``), the workspace's Canvas connection scopes, the
content actually imported, the request counters, the retention policy, the course
assistant's settings and providers, and the admin permission declarations. Nothing on
the page is typed in by hand apart from the descriptions of known Canvas API endpoints,
of what the assistant stores and sends, and the fixed "not accessed" list, and each
"not accessed" statement is checked against the live configuration before it is shown.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from privacy.models import AuditEntry, DataAccessLink, RetentionPolicy
from workspaces.models import Workspace, WorkspaceMembership, WorkspaceRole

User = get_user_model()

REPORT_SCHEMA_VERSION = 1
API_REQUEST_WINDOW_DAYS = 30


# --- access helpers ------------------------------------------------------------------------
def workspace_get_for_user(*, user, workspace_uuid, roles: tuple[str, ...]) -> Workspace:
    """The workspace, if ``user`` holds one of ``roles`` in it.

    404 for a missing workspace and for one the user does not belong to (alike); 403
    when they belong with too low a role. Superusers reach every workspace.
    """
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such workspace")
    try:
        if user.is_superuser:
            workspace = Workspace.objects.filter(uuid=workspace_uuid).first()
            if workspace is None:
                raise Http404("No such workspace")
            return workspace
        membership = (
            WorkspaceMembership.objects.select_related("workspace")
            .filter(workspace__uuid=workspace_uuid, user=user)
            .first()
        )
    except (ValueError, ValidationError) as exc:
        raise Http404("No such workspace") from exc
    if membership is None:
        raise Http404("No such workspace")
    if membership.role not in roles:
        raise PermissionDenied("Your role in this workspace does not allow this.")
    return membership.workspace


def workspace_get_for_person(*, user, workspace_uuid) -> Workspace:
    """A workspace the person belongs to (membership or LTI identity); 404 otherwise."""
    try:
        workspace = (
            Workspace.objects.filter(uuid=workspace_uuid)
            .filter(Q(memberships__user=user) | Q(lti_identities__user=user))
            .distinct()
            .first()
        )
    except (ValueError, ValidationError) as exc:
        raise Http404("No such workspace") from exc
    if workspace is None:
        raise Http404("No such workspace")
    return workspace


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def workspace_get_for_share_token(*, token: str) -> Workspace:
    """The workspace an active share link opens; 404 for unknown and revoked links alike."""
    if not token or len(token) > 128:
        raise Http404("No such link")
    link = (
        DataAccessLink.objects.select_related("workspace")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if link is None:
        raise Http404("No such link")
    return link.workspace


def data_access_link_active(*, workspace: Workspace) -> DataAccessLink | None:
    return DataAccessLink.objects.filter(workspace=workspace, revoked_at__isnull=True).first()


def retention_policy_for_workspace(*, workspace: Workspace) -> RetentionPolicy:
    """The workspace's policy, or an unsaved one holding the defaults."""
    policy = RetentionPolicy.objects.filter(workspace=workspace).first()
    return policy if policy is not None else RetentionPolicy(workspace=workspace)


# --- the data-access report ------------------------------------------------------------------
PRIVACY_LEVELS = {
    "public": "Canvas sends the person's name, email address, LMS user id and course roles.",
    "name_only": "Canvas sends the person's name, LMS user id and course roles, not the email address.",
    "email_only": "Canvas sends the person's email address, LMS user id and course roles, not the name.",
    "anonymous": "Canvas sends only an opaque user id and course roles.",
}

# What a known Canvas API endpoint returns and why the tool reads it. An endpoint not
# listed here still appears on the page (it is generated from the scopes), described as such.
API_ENDPOINTS: dict[str, tuple[str, str]] = {
    "/api/v1/courses/:id": ("Course details and syllabus", "Names the course and imports its syllabus."),
    "/api/v1/courses/:course_id/pages": ("Course pages (list)", "Finds the published pages to import."),
    "/api/v1/courses/:course_id/pages/:url_or_id": ("Course page content", "Imports the page text."),
    "/api/v1/courses/:course_id/assignments": (
        "Assignment descriptions (not submissions or grades)",
        "Imports assignment instructions and due dates.",
    ),
    "/api/v1/courses/:course_id/discussion_topics": (
        "Discussion topic prompts",
        "Imports discussion prompts and announcements posted by course staff.",
    ),
    "/api/v1/announcements": ("Course announcements", "Imports announcements posted by course staff."),
    "/api/v1/courses/:course_id/quizzes": ("Quiz titles and descriptions", "Imports quiz descriptions."),
    "/api/v1/courses/:course_id/modules": ("Course modules", "Keeps the course structure for citations."),
    "/api/v1/courses/:course_id/modules/:module_id/items": (
        "Module items",
        "Keeps the course structure for citations.",
    ),
    "/api/v1/courses/:course_id/files": ("Course files (list)", "Finds course files to import."),
    "/api/v1/files/:id": ("Course file metadata and download", "Imports the file's text."),
    "/api/v1/courses/:course_id/files/:id": ("Course file metadata and download", "Imports the file's text."),
    "/api/v1/courses/:course_id/sections": ("Course sections", "Names the section groups."),
}

# Path fragments that would contradict a "not accessed" statement.
_GRADE_PATHS = ("submissions", "grade", "gradebook", "enrollments", "outcome_results", "lti/ags")
_SUBMISSION_PATHS = ("submissions", "submission_summary")
_ADMIN_PATHS = ("/api/v1/accounts", "/api/v1/admins", "/api/v1/roles", "/api/v1/sis_imports")
_COURSE_SCOPED_PREFIXES = ("/api/v1/courses/:", "/api/v1/files/:", "/api/v1/announcements")


@dataclass(frozen=True)
class ApiScope:
    scope: str
    method: str
    path: str

    @classmethod
    def parse(cls, scope: str) -> "ApiScope":
        # Canvas scope strings look like "url:GET|/api/v1/courses/:course_id/pages".
        body = scope[4:] if scope.startswith("url:") else scope
        method, sep, path = body.partition("|")
        if not sep:
            return cls(scope=scope, method="", path=body)
        return cls(scope=scope, method=method.upper(), path=path)


def _lti_configuration() -> dict:
    # The same function that produces the Canvas developer-key JSON (one source of truth).
    from integrations.lti.views import developer_key_json

    config = developer_key_json()
    extension = next((e for e in config.get("extensions", []) if e.get("platform") == "canvas.instructure.com"), {})
    placements = extension.get("settings", {}).get("placements", [])
    privacy_level = extension.get("privacy_level", "")
    return {
        "privacy_level": privacy_level,
        "privacy_level_means": PRIVACY_LEVELS.get(privacy_level, "Not described."),
        "placements": [
            {
                "placement": p.get("placement", ""),
                "message_type": p.get("message_type", ""),
                "text": p.get("text", ""),
                "visibility": p.get("visibility", ""),
            }
            for p in placements
        ],
        "custom_fields": [{"name": k, "value": v} for k, v in sorted(config.get("custom_fields", {}).items())],
        "service_scopes": list(config.get("scopes", [])),
    }


def _stored_claims() -> list[dict]:
    from integrations.lti.claims import STORED_LAUNCH_CLAIMS

    return [
        {
            "key": claim.key,
            "data": claim.label,
            "purpose": claim.purpose,
            "source_claims": list(claim.source_claims),
            "stored_in": claim.stored_in,
        }
        for claim in STORED_LAUNCH_CLAIMS
    ]


def _canvas_api(*, workspace: Workspace) -> dict:
    from assistant.models import KnowledgeItem
    from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection

    connection = (
        CanvasConnection.objects.filter(workspace=workspace)
        .annotate(authorized=ExpressionWrapper(~Q(refresh_token=""), output_field=BooleanField()))
        .values("instance_url", "scopes", "authorized")
        .first()
    )
    scopes = [ApiScope.parse(s) for s in (connection or {}).get("scopes", []) or []]
    labels = dict(KnowledgeItem.ItemType.choices)
    content = (
        KnowledgeItem.objects.filter(workspace=workspace)
        .values("source", "item_type")
        .annotate(stored=Count("id"))
        .order_by("source", "item_type")
    )
    since = timezone.localdate() - timedelta(days=API_REQUEST_WINDOW_DAYS - 1)
    requests = (
        CanvasApiRequestCount.objects.filter(workspace=workspace, day__gte=since)
        .values("endpoint")
        .annotate(total=Sum("count"))
        .order_by("endpoint")
    )
    return {
        "connected": connection is not None,
        "authorized": bool(connection and connection["authorized"]),
        "instance_url": connection["instance_url"] if connection else "",
        "read_only": all(s.method == "GET" for s in scopes),
        "scopes": [
            {
                "scope": s.scope,
                "method": s.method,
                "endpoint": s.path,
                "access": "read" if s.method == "GET" else "write",
                "data": API_ENDPOINTS.get(s.path, (f"Canvas endpoint {s.path}", ""))[0],
                "purpose": API_ENDPOINTS.get(s.path, ("", "No description recorded for this endpoint."))[1],
            }
            for s in scopes
        ],
        "content_types": [
            {
                "source": row["source"],
                "item_type": row["item_type"],
                "label": str(labels.get(row["item_type"], row["item_type"])),
                "stored_items": row["stored"],
            }
            for row in content
        ],
        "requests_window_days": API_REQUEST_WINDOW_DAYS,
        "requests": [{"endpoint": row["endpoint"], "count": row["total"]} for row in requests],
    }


def _not_accessed(*, lti: dict, api: dict) -> tuple[list[dict], list[dict]]:
    """The fixed "never touched" statements, each checked against the configuration.

    Returns (statements that hold, statements the configuration contradicts, with why).
    """
    paths = [s["endpoint"].lower() for s in api["scopes"]]
    service_scopes = [s.lower() for s in lti["service_scopes"]]
    writes = [s["scope"] for s in api["scopes"] if s["access"] != "read"]
    checks = [
        (
            "Grades or gradebook data",
            "No LTI Assignment and Grade Services scope, and no Canvas API scope for grades, submissions or "
            "enrollments.",
            [s for s in service_scopes if "lti-ags" in s] + [p for p in paths if any(g in p for g in _GRADE_PATHS)],
        ),
        (
            "Assignment submissions",
            "No Canvas API scope for submissions; assignments are read for their descriptions only.",
            [p for p in paths if any(g in p for g in _SUBMISSION_PATHS)],
        ),
        (
            "Canvas administrative settings",
            "No account-level Canvas API scope and no scope that writes to Canvas.",
            [p for p in paths if p.startswith(_ADMIN_PATHS)] + writes,
        ),
        (
            "Data outside the launched course context",
            "Launches carry only the course they come from; every Canvas API scope is course- or file-level.",
            [p for p in paths if not p.startswith(_COURSE_SCOPED_PREFIXES)],
        ),
    ]
    held = [{"data": data, "how": how} for data, how, offending in checks if not offending]
    exceptions = [{"data": data, "because": sorted(set(offending))} for data, _how, offending in checks if offending]
    return held, exceptions


def _retention(*, workspace: Workspace) -> dict:
    policy = retention_policy_for_workspace(workspace=workspace)
    return {
        "customised": policy.pk is not None,
        "launch_event_days": policy.launch_event_days,
        "audit_entry_days": policy.audit_entry_days,
        "inactive_membership_days": policy.inactive_membership_days,
        "login_state_seconds": settings.LTI_LOGIN_TTL_SECONDS,
        "session_seconds": settings.SESSION_COOKIE_AGE,
        "purge_schedule": "daily",
    }


# What the course assistant stores (``assistant.models``); the rest of its section is read
# from the workspace's assistant settings and provider configurations.
ASSISTANT_STORED_DATA = [
    {
        "data": "Questions asked",
        "purpose": "Shown back to the person in their conversation; the last turns give the next answer context.",
        "stored_in": "assistant.Message (role user), per person and assistant",
    },
    {
        "data": "Answers given",
        "purpose": "Shown back to the person, with the course materials each answer cites.",
        "stored_in": "assistant.Message (role assistant), per person and assistant",
    },
    {
        "data": "Conversation titles",
        "purpose": "Lists the person's conversations (taken from the first question).",
        "stored_in": "assistant.Conversation, per person and assistant",
    },
    {
        "data": "Cited course materials",
        "purpose": "Counts how often each course item is cited (usage page for course staff).",
        "stored_in": "assistant.MessageCitation",
    },
]
# What an answer request to an AI provider holds (``assistant.providers.build_messages``).
ASSISTANT_SENT_TO_PROVIDER = [
    "the question",
    "the course passages retrieved for it (with their titles)",
    "up to six earlier turns of the same conversation",
    "the course name and the assistant's instructions",
]
ASSISTANT_NOT_SENT_TO_PROVIDER = [
    "the person's name, email address, account or LMS ids (only what they type into a question)",
]
ASSISTANT_STAFF_READERS = "the course group's Owners and Facilitators"


def _provider_host(base_url: str) -> str:
    """The host (and port) of a provider's base URL; never its path, query or credentials."""
    try:
        parts = urlsplit(base_url or "")
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if host and port else host


def _provider_row(config) -> dict:
    """What a provider configuration (None: the offline default) does with questions."""
    if config is None or config.kind == "offline":
        return {
            "name": config.name if config is not None else "",
            "mode": "offline",
            "sends_data": False,
            "host": "",
            "model": "",
        }
    return {
        "name": config.name,
        "mode": config.kind,
        "sends_data": True,
        "host": _provider_host(config.base_url),
        "model": config.model,
    }


def _schedule_seconds(entry: str) -> int | None:
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", {}).get(entry, {}).get("schedule")
    return int(schedule) if isinstance(schedule, int | float) else None


def _assistant(*, workspace: Workspace) -> dict:
    """The course assistant: what it stores, for how long, who reads it and where it is sent."""
    from assistant.models import Assistant, AssistantWorkspaceSettings

    # Read only: a report must not create the settings row (workspace_settings_get would).
    ws_settings = AssistantWorkspaceSettings.objects.select_related("provider").filter(workspace=workspace).first()
    default_days = settings.ASSISTANT_DEFAULT_RETENTION_DAYS
    retention_days = ws_settings.retention_days if ws_settings is not None else default_days
    workspace_provider = _provider_row(ws_settings.provider if ws_settings is not None else None)
    overrides = [
        {
            "assistant": a.name,
            "assistant_uuid": str(a.uuid),
            "group": a.group.name,
            **_provider_row(a.provider),
        }
        for a in Assistant.objects.filter(workspace=workspace, provider__isnull=False)
        .select_related("group", "provider")
        .order_by("group__name", "name", "pk")
    ]
    in_use = [workspace_provider] + overrides
    hosts = sorted({row["host"] for row in in_use if row["sends_data"] and row["host"]})
    sends = any(row["sends_data"] for row in in_use)
    return {
        "stores_conversations": True,
        "stored_per": "person and assistant",
        "stored_data": [dict(row) for row in ASSISTANT_STORED_DATA],
        "customised": ws_settings is not None,
        "retention_days": retention_days,
        "retention_default_days": default_days,
        "retention_means": (
            f"Conversations untouched for {retention_days} days are deleted with their messages."
            if retention_days
            else "Conversations are kept until the person, an Owner or a workspace deletion removes them."
        ),
        "purge_schedule_seconds": _schedule_seconds("assistant-purge-conversations"),
        "staff_can_read_conversations": bool(ws_settings and ws_settings.staff_can_read_conversations),
        "staff_readers": ASSISTANT_STAFF_READERS,
        "workspace_provider": workspace_provider,
        "assistant_overrides": overrides,
        "sends_to_provider": sends,
        "provider_hosts": hosts,
        "sent_to_provider": list(ASSISTANT_SENT_TO_PROVIDER) if sends else [],
        "not_sent_to_provider": list(ASSISTANT_NOT_SENT_TO_PROVIDER) if sends else [],
    }


def role_permissions() -> list[dict]:
    """Which workspace role sees and changes what, read from the admin declarations."""
    from django.contrib import admin

    from workspaces.admin_scoping import WorkspaceScopedAdmin

    view: dict[str, set[str]] = {WorkspaceRole.OWNER: set(), WorkspaceRole.EDITOR: set()}
    change: dict[str, set[str]] = {WorkspaceRole.OWNER: set(), WorkspaceRole.EDITOR: set()}
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, WorkspaceScopedAdmin):
            continue
        name = str(model._meta.verbose_name_plural)
        for role in view:
            if role in model_admin.change_roles:
                change[role].add(name)
                view[role].add(name)
            elif role in model_admin.view_roles:
                view[role].add(name)
    owner_tools = [
        "this data-access page and its share link",
        "export, delete or anonymise one person's data",
        "delete the workspace's data",
        "export the audit log (CSV)",
    ]
    return [
        {
            "role": str(WorkspaceRole.OWNER),
            "label": str(WorkspaceRole.OWNER.label),
            "can_view": sorted(view[WorkspaceRole.OWNER]),
            "can_change": sorted(change[WorkspaceRole.OWNER]),
            "privacy_tools": owner_tools,
        },
        {
            "role": str(WorkspaceRole.EDITOR),
            "label": str(WorkspaceRole.EDITOR.label),
            "can_view": sorted(view[WorkspaceRole.EDITOR]),
            "can_change": sorted(change[WorkspaceRole.EDITOR]),
            "privacy_tools": ["this data-access page"],
        },
        {
            "role": str(WorkspaceRole.MEMBER),
            "label": str(WorkspaceRole.MEMBER.label),
            "can_view": ["their own course groups", "what is stored about themselves"],
            "can_change": [],
            "privacy_tools": ["view and download what is stored about themselves"],
        },
        {
            "role": "it_reviewer",
            "label": "IT reviewer (share link)",
            "can_view": ["this data-access page (no personal data)"],
            "can_change": [],
            "privacy_tools": [],
        },
    ]


def protections() -> list[dict]:
    """What the software does to protect the data; each statement is true of this code."""
    return [
        {
            "title": "LTI 1.3 sign-in with signed tokens",
            "statement": "People open the tool from Canvas through LTI 1.3: an OpenID Connect (OAuth 2.0) "
            "third-party-initiated login, then an id_token signed by Canvas (RS256 JWT). Before anyone is signed in "
            "the tool checks the signature against the platform's published keys, the issuer, the audience, the "
            "expiry, a single-use nonce and a state value bound to the browser.",
        },
        {
            "title": "No shared credentials",
            "statement": "No password or shared secret is exchanged for launches: Canvas signs with its keys, the "
            "tool with its own RSA key published at /.well-known/jwks.json. People who arrive through Canvas have "
            "no password in this tool.",
        },
        {
            "title": "Scoped, read-only Canvas API access",
            "statement": "Content import uses an OAuth 2.0 token of a Canvas API developer key limited to the "
            "scopes its connection lists. Each workspace's data-access page lists every scope with its HTTP "
            "method and flags any that is not read-only (GET).",
        },
        {
            "title": "Encryption of secrets and tokens at rest",
            "statement": "Canvas client secrets, access and refresh tokens and the tool's private signing keys are "
            "encrypted field by field with AES-256-GCM (authenticated encryption). Keys come from the "
            "environment, never the database, and can be rotated.",
        },
        {
            "title": "Audit logging",
            "statement": "Launches into a workspace (accepted and refused, with the reason), registration, "
            "deployment and Canvas connection changes, key rotations, role changes, data exports and deletions "
            "and admin sign-ins are recorded in an append-only audit log (the database refuses updates). It holds "
            "no tokens, secrets or message bodies. Workspace Owners review and export their workspace's entries.",
        },
        {
            "title": "Data minimisation",
            "statement": "From a launch only the kinds of data listed on the data-access page are stored; every "
            "other claim (picture, locale, SIS ids, other custom fields) is dropped when the launch is read, and "
            "the signed launch message itself is never stored.",
        },
        {
            "title": "Separation between institutions",
            "statement": "Each institution is its own workspace: every stored record carries its workspace, and "
            "administrators see only the workspaces they belong to.",
        },
        {
            "title": "Retention",
            "statement": "A daily job deletes launch records and audit entries older than each workspace's "
            f"retention period (defaults: {settings.PRIVACY_DEFAULT_LAUNCH_EVENT_DAYS} and "
            f"{settings.PRIVACY_DEFAULT_AUDIT_ENTRY_DAYS} days) and deactivates course memberships of people not "
            f"seen for {settings.PRIVACY_DEFAULT_INACTIVE_MEMBERSHIP_DAYS} days; course-assistant conversations "
            "are deleted once untouched for the workspace's conversation retention (default "
            f"{settings.ASSISTANT_DEFAULT_RETENTION_DAYS} days); sign-in state expires after "
            f"{settings.LTI_LOGIN_TTL_SECONDS} seconds.",
        },
        {
            "title": "Tools for the institution",
            "statement": "Workspace Owners can export everything stored about one person, delete or anonymise it, "
            "and delete the whole workspace's data, without help from the vendor.",
        },
    ]


def data_access_report(*, workspace: Workspace) -> dict:
    """The data-access page as data (also served as JSON; the keys are a stable schema)."""
    lti = _lti_configuration()
    lti["stored_data"] = _stored_claims()
    api = _canvas_api(workspace=workspace)
    held, exceptions = _not_accessed(lti=lti, api=api)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "generated_at": timezone.now().isoformat(),
        "product": settings.PRODUCT_NAME,
        "workspace": {"name": workspace.name, "uuid": str(workspace.uuid)},
        "lti": lti,
        "canvas_api": api,
        "not_accessed": held,
        "not_accessed_exceptions": exceptions,
        "retention": _retention(workspace=workspace),
        "roles": role_permissions(),
        "protections": protections(),
        "assistant": _assistant(workspace=workspace),
    }


def public_overview() -> dict:
    """The public page: integration methods, protections and the stored-data list."""
    lti = _lti_configuration()
    return {
        "product": settings.PRODUCT_NAME,
        "privacy_level": lti["privacy_level"],
        "privacy_level_means": lti["privacy_level_means"],
        "stored_data": _stored_claims(),
        "protections": protections(),
        "contact_email": settings.CONTACT_EMAIL,
    }


# --- people and their data -------------------------------------------------------------------
def people_for_workspace(*, workspace: Workspace) -> QuerySet:
    """Everyone with a membership or an LTI identity in the workspace."""
    return User.objects.filter(
        Q(workspace_memberships__workspace=workspace) | Q(lti_identities__workspace=workspace)
    ).distinct()


def person_search_for_workspace(*, workspace: Workspace, query: str, limit: int = 50) -> list:
    people = people_for_workspace(workspace=workspace)
    query = query.strip()
    if query:
        people = people.filter(
            Q(username__icontains=query)
            | Q(email__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(lti_identities__workspace=workspace, lti_identities__email__icontains=query)
            | Q(lti_identities__workspace=workspace, lti_identities__name__icontains=query)
            | Q(lti_identities__workspace=workspace, lti_identities__lms_user_id=query)
        )
    return list(people.order_by("first_name", "username")[:limit])


def person_get_for_workspace(*, workspace: Workspace, user_id) -> object:
    """The person, if they belong to the workspace; 404 otherwise (missing or another's)."""
    try:
        person = people_for_workspace(workspace=workspace).filter(pk=int(user_id)).first()
    except (TypeError, ValueError) as exc:
        raise Http404("No such person") from exc
    if person is None:
        raise Http404("No such person")
    return person


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _assistant_conversations(*, workspace: Workspace, user) -> list[dict]:
    """The person's course-assistant conversations in the workspace, each with its messages."""
    from assistant.models import Conversation, Message

    conversations = list(
        Conversation.objects.filter(workspace=workspace, user=user)
        .select_related("assistant__group")
        .order_by("created_at", "pk")
    )
    messages: dict[int, list] = defaultdict(list)
    for message in Message.objects.filter(workspace=workspace, conversation__in=[c.pk for c in conversations]).order_by(
        "created_at", "pk"
    ):
        messages[message.conversation_id].append(message)
    uuids = {m.pk: str(m.uuid) for rows in messages.values() for m in rows}
    return [
        {
            "uuid": str(c.uuid),
            "assistant": c.assistant.name,
            "assistant_uuid": str(c.assistant.uuid),
            "group": c.assistant.group.name,
            "group_uuid": str(c.assistant.group.uuid),
            "title": c.title,
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
            "messages": [
                {
                    "uuid": str(m.uuid),
                    "role": m.role,
                    "content": m.content,
                    "status": m.status,
                    "mode": m.mode,
                    "answers_question": uuids.get(m.question_id) if m.question_id else None,
                    "citations": m.citations,
                    "error": m.error,
                    "created_at": _iso(m.created_at),
                }
                for m in messages[c.pk]
            ],
        }
        for c in conversations
    ]


def person_data_export(*, workspace: Workspace, user) -> dict:
    """Everything stored about ``user`` in ``workspace``, as JSON-ready data."""
    from integrations.models import LaunchEvent, LtiIdentity
    from workspaces.models import GroupMembership, RoleChange

    identities = LtiIdentity.objects.filter(workspace=workspace, user=user).select_related("registration")
    membership = WorkspaceMembership.objects.filter(workspace=workspace, user=user).first()
    groups = GroupMembership.objects.filter(workspace=workspace, user=user).select_related("group")
    changes = RoleChange.objects.filter(workspace=workspace, user=user).select_related("group")
    launches = LaunchEvent.objects.filter(workspace=workspace, user=user).select_related("group")
    audit = AuditEntry.objects.filter(workspace=workspace).filter(Q(actor_id=user.pk) | Q(target=f"user:{user.pk}"))
    return {
        "schema_version": 1,
        "generated_at": timezone.now().isoformat(),
        "workspace": {"name": workspace.name, "uuid": str(workspace.uuid)},
        "account": {
            "id": user.pk,
            "username": user.get_username(),
            "name": user.get_full_name(),
            "email": user.email,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        },
        "lti_identities": [
            {
                "registration": i.registration.name,
                "lms_user_id": i.lms_user_id,
                "sub": i.sub,
                "name": i.name,
                "email": i.email,
                "created_at": _iso(i.created_at),
            }
            for i in identities
        ],
        "workspace_membership": (
            {
                "role": membership.role,
                "role_pinned": membership.role_pinned,
                "source": membership.source,
                "created_at": _iso(membership.created_at),
            }
            if membership
            else None
        ),
        "group_memberships": [
            {
                "group": gm.group.name,
                "group_uuid": str(gm.group.uuid),
                "role": gm.role,
                "lms_roles": list(gm.lms_roles),
                "source": gm.source,
                "is_active": gm.is_active,
                "last_seen_at": _iso(gm.last_seen_at),
                "created_at": _iso(gm.created_at),
            }
            for gm in groups
        ],
        "role_changes": [
            {
                "scope": rc.scope,
                "group": rc.group.name if rc.group else None,
                "from_role": rc.from_role,
                "to_role": rc.to_role,
                "reason": rc.reason,
                "created_at": _iso(rc.created_at),
            }
            for rc in changes
        ],
        "launches": [
            {
                "outcome": ev.outcome,
                "reason": ev.reason,
                "deployment_id": ev.deployment_id,
                "context_id": ev.context_id,
                "group": ev.group.name if ev.group else None,
                "created_at": _iso(ev.created_at),
            }
            for ev in launches
        ],
        "assistant_conversations": _assistant_conversations(workspace=workspace, user=user),
        "audit_entries": [audit_entry_row(entry) for entry in audit],
    }


# --- audit log ---------------------------------------------------------------------------------
AUDIT_CSV_COLUMNS = ["created_at", "workspace", "action", "actor_id", "actor", "target", "details"]


def audit_entry_row(entry: AuditEntry) -> dict:
    return {
        "created_at": entry.created_at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor": entry.actor_label,
        "target": entry.target,
        "details": entry.details,
    }


def audit_entries_for_workspace(*, workspace: Workspace) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_workspace(workspace).select_related("workspace")
