"""The data-access pages: public overview, per-workspace page (admin and share link), JSON schema,
print layout, and the proof that the page is generated from live configuration (cannot drift)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from assistant.models import Assistant, AssistantWorkspaceSettings, KnowledgeItem, ProviderConfig
from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection
from integrations.lti import claims as lti_claims
from privacy.models import AuditEntry, DataAccessLink, RetentionPolicy
from workspaces.models import Group

SCOPE_PAGES = "url:GET|/api/v1/courses/:course_id/pages"
SCOPE_MODULES = "url:GET|/api/v1/courses/:course_id/modules"

TOP_KEYS = [
    "schema_version",
    "generated_at",
    "product",
    "workspace",
    "lti",
    "canvas_api",
    "not_accessed",
    "not_accessed_exceptions",
    "retention",
    "roles",
    "protections",
    "assistant",
]

ASSISTANT_KEYS = [
    "stores_conversations",
    "stored_per",
    "stored_data",
    "customised",
    "retention_days",
    "retention_default_days",
    "retention_means",
    "purge_schedule_seconds",
    "staff_can_read_conversations",
    "staff_readers",
    "workspace_provider",
    "assistant_overrides",
    "sends_to_provider",
    "provider_hosts",
    "sent_to_provider",
    "not_sent_to_provider",
]
PROVIDER_KEYS = ["name", "mode", "sends_data", "host", "model"]


def page_url(ws):
    return reverse("privacy:data-access", kwargs={"workspace_uuid": ws.uuid})


def json_url(ws):
    return reverse("privacy:data-access-json", kwargs={"workspace_uuid": ws.uuid})


def connect(ws, scopes):
    return CanvasConnection.objects.create(
        workspace=ws,
        instance_url="https://alpha.instructure.com",
        client_id="170000000000001",
        client_secret="s3cr3t",
        scopes=scopes,
    )


# --- public page ----------------------------------------------------------------------------------
def test_public_page_needs_no_login_and_states_the_protections(client, db):
    response = client.get("/data-access/")
    assert response.status_code == 200
    html = response.content.decode()
    for title in (
        "LTI 1.3 sign-in with signed tokens",
        "No shared credentials",
        "Scoped, read-only Canvas API access",
        "Encryption of secrets and tokens at rest",
        "Audit logging",
        "Data minimisation",
        "Retention",
    ):
        assert title in html
    assert "AES-256-GCM" in html
    for claim in lti_claims.STORED_LAUNCH_CLAIMS:
        assert claim.label in html
    assert "@media print" in html


# --- access ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("owner", 200), ("editor", 200), ("member", 403), ("outsider", 404)])
def test_data_access_page_by_role(client, tenants, who, status):
    a, _ = tenants
    client.force_login(getattr(a, who))
    assert client.get(page_url(a.workspace)).status_code == status
    assert client.get(json_url(a.workspace)).status_code == status


def test_data_access_page_of_another_workspace_is_404(client, tenants):
    a, b = tenants
    client.force_login(a.owner)
    assert client.get(page_url(b.workspace)).status_code == 404
    assert client.get(json_url(b.workspace)).status_code == 404


def test_data_access_page_without_login_redirects_to_sign_in(client, tenants):
    response = client.get(page_url(tenants[0].workspace))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- JSON schema ----------------------------------------------------------------------------------
def test_json_schema_is_stable(client, tenants):
    a, _ = tenants
    connect(a.workspace, [SCOPE_PAGES])
    client.force_login(a.owner)
    data = client.get(json_url(a.workspace)).json()
    assert list(data) == TOP_KEYS
    assert data["schema_version"] == 1
    assert data["workspace"] == {"name": "Alpha University", "uuid": str(a.workspace.uuid)}
    assert list(data["lti"]) == [
        "privacy_level",
        "privacy_level_means",
        "placements",
        "custom_fields",
        "service_scopes",
        "stored_data",
    ]
    assert data["lti"]["privacy_level"] == "public"
    assert data["lti"]["placements"] == [
        {
            "placement": "course_navigation",
            "message_type": "LtiResourceLinkRequest",
            "text": "Course Assistant",
            "visibility": "members",
        }
    ]
    assert data["lti"]["service_scopes"] == []
    assert [c["key"] for c in data["lti"]["stored_data"]] == ["name", "email", "lms_role", "course", "lms_user_id"]
    assert [c["data"] for c in data["lti"]["stored_data"]] == [
        "Name",
        "Email address",
        "LMS role",
        "Course information",
        "LMS user ID",
    ]
    assert list(data["lti"]["stored_data"][0]) == ["key", "data", "purpose", "source_claims", "stored_in"]
    assert list(data["canvas_api"]) == [
        "connected",
        "authorized",
        "instance_url",
        "read_only",
        "scopes",
        "content_types",
        "requests_window_days",
        "requests",
    ]
    assert data["canvas_api"]["scopes"] == [
        {
            "scope": SCOPE_PAGES,
            "method": "GET",
            "endpoint": "/api/v1/courses/:course_id/pages",
            "access": "read",
            "data": "Course pages (list)",
            "purpose": "Finds the published pages to import.",
        }
    ]
    assert [n["data"] for n in data["not_accessed"]] == [
        "Grades or gradebook data",
        "Assignment submissions",
        "Canvas administrative settings",
        "Data outside the launched course context",
    ]
    assert data["not_accessed_exceptions"] == []
    assert data["retention"] == {
        "customised": False,
        "launch_event_days": 90,
        "audit_entry_days": 400,
        "inactive_membership_days": 180,
        "login_state_seconds": 600,
        "session_seconds": 8 * 3600,
        "purge_schedule": "daily",
    }
    assert [r["role"] for r in data["roles"]] == ["owner", "editor", "member", "it_reviewer"]
    assert list(data["roles"][0]) == ["role", "label", "can_view", "can_change", "privacy_tools"]
    assert "audit entries" in data["roles"][0]["can_view"]
    assert "audit entries" not in data["roles"][1]["can_view"]
    assert "LTI identities" in data["roles"][0]["can_view"]
    assert [list(p) for p in data["protections"]] == [["title", "statement"]] * len(data["protections"])
    assistant = data["assistant"]
    assert list(assistant) == ASSISTANT_KEYS
    assert [list(d) for d in assistant["stored_data"]] == [["data", "purpose", "stored_in"]] * 4
    assert list(assistant["workspace_provider"]) == PROVIDER_KEYS
    assert (assistant["stores_conversations"], assistant["stored_per"]) == (True, "person and assistant")
    assert assistant["customised"] is False
    assert (
        assistant["retention_days"] == assistant["retention_default_days"] == settings.ASSISTANT_DEFAULT_RETENTION_DAYS
    )
    assert (
        assistant["purge_schedule_seconds"]
        == settings.CELERY_BEAT_SCHEDULE["assistant-purge-conversations"]["schedule"]
    )
    assert assistant["staff_can_read_conversations"] is False
    assert assistant["workspace_provider"] == {
        "name": "",
        "mode": "offline",
        "sends_data": False,
        "host": "",
        "model": "",
    }
    assert assistant["assistant_overrides"] == []
    assert (assistant["sends_to_provider"], assistant["provider_hosts"]) == (False, [])
    assert assistant["sent_to_provider"] == assistant["not_sent_to_provider"] == []


def test_page_and_json_hold_no_personal_data(client, tenants, student):
    a, _ = tenants
    client.force_login(a.owner)
    html = client.get(page_url(a.workspace)).content.decode()
    body = client.get(json_url(a.workspace)).content.decode()
    for personal in ("StudentFirst", "canvasstudent@russfeld.me", "848b3a11"):
        assert personal not in html
        assert personal not in body


# --- cannot drift ----------------------------------------------------------------------------------
def test_adding_a_stored_claim_changes_the_page_and_a_claim_never_stored_never_appears(client, tenants, monkeypatch):
    a, _ = tenants
    client.force_login(a.owner)
    before = client.get(page_url(a.workspace)).content.decode()
    assert "Profile picture" not in before
    assert "Locale" not in before
    extra = lti_claims.StoredClaim(
        key="picture",
        label="Profile picture",
        source_claims=("picture",),
        purpose="Shows the person's avatar.",
        stored_in="LTI identity",
    )
    monkeypatch.setattr(lti_claims, "STORED_LAUNCH_CLAIMS", (*lti_claims.STORED_LAUNCH_CLAIMS, extra))
    after = client.get(page_url(a.workspace)).content.decode()
    assert '<tr data-claim="picture"><td>Profile picture</td><td>Shows the person&#x27;s avatar.</td>' in after
    assert [c["key"] for c in client.get(json_url(a.workspace)).json()["lti"]["stored_data"]][-1] == "picture"
    assert "Locale" not in after  # never stored, never shown


def test_adding_a_scope_to_the_connection_changes_the_page(client, tenants):
    a, _ = tenants
    connection = connect(a.workspace, [SCOPE_PAGES])
    client.force_login(a.owner)
    before = client.get(page_url(a.workspace)).content.decode()
    assert SCOPE_PAGES in before
    assert SCOPE_MODULES not in before
    connection.scopes = [SCOPE_PAGES, SCOPE_MODULES]
    connection.save()
    after = client.get(page_url(a.workspace)).content.decode()
    assert SCOPE_MODULES in after
    assert "Course modules" in after
    scopes = client.get(json_url(a.workspace)).json()["canvas_api"]["scopes"]
    assert [s["scope"] for s in scopes] == [SCOPE_PAGES, SCOPE_MODULES]


def test_a_scope_that_contradicts_a_never_accessed_statement_removes_it(client, tenants):
    a, _ = tenants
    connect(a.workspace, [SCOPE_PAGES, "url:GET|/api/v1/courses/:course_id/assignments/:id/submissions"])
    client.force_login(a.owner)
    data = client.get(json_url(a.workspace)).json()
    assert [n["data"] for n in data["not_accessed"]] == [
        "Canvas administrative settings",
        "Data outside the launched course context",
    ]
    assert data["not_accessed_exceptions"] == [
        {
            "data": "Grades or gradebook data",
            "because": ["/api/v1/courses/:course_id/assignments/:id/submissions"],
        },
        {"data": "Assignment submissions", "because": ["/api/v1/courses/:course_id/assignments/:id/submissions"]},
    ]
    assert data["canvas_api"]["read_only"] is True


def test_a_write_scope_is_flagged(client, tenants):
    a, _ = tenants
    connect(a.workspace, ["url:PUT|/api/v1/courses/:course_id/pages/:url_or_id"])
    client.force_login(a.owner)
    data = client.get(json_url(a.workspace)).json()
    assert data["canvas_api"]["read_only"] is False
    assert data["canvas_api"]["scopes"][0]["access"] == "write"
    assert {
        "data": "Canvas administrative settings",
        "because": ["url:PUT|/api/v1/courses/:course_id/pages/:url_or_id"],
    } in data["not_accessed_exceptions"]
    assert "Some scopes are not read-only." in client.get(page_url(a.workspace)).content.decode()


def test_counts_of_stored_items_and_requests_in_the_last_30_days(client, tenants):
    a, b = tenants
    group = Group.objects.create(workspace=a.workspace, name="Biology 101")
    other_group = Group.objects.create(workspace=b.workspace, name="Chemistry")
    for i, item_type in enumerate(["page", "page", "assignment"]):
        KnowledgeItem.objects.create(
            workspace=a.workspace,
            group=group,
            source="canvas",
            item_type=item_type,
            external_id=str(i),
            title=f"Item {i}",
            content_hash="0" * 64,
        )
    KnowledgeItem.objects.create(
        workspace=b.workspace,
        group=other_group,
        source="canvas",
        item_type="quiz",
        external_id="1",
        title="Q",
        content_hash="0" * 64,
    )
    today = timezone.localdate()
    pages = "GET /api/v1/courses/:course_id/pages"
    CanvasApiRequestCount.objects.create(workspace=a.workspace, day=today, endpoint=pages, count=5)
    CanvasApiRequestCount.objects.create(workspace=a.workspace, day=today - timedelta(days=29), endpoint=pages, count=2)
    CanvasApiRequestCount.objects.create(
        workspace=a.workspace, day=today - timedelta(days=30), endpoint=pages, count=100
    )
    CanvasApiRequestCount.objects.create(workspace=b.workspace, day=today, endpoint=pages, count=7)
    client.force_login(a.owner)
    api = client.get(json_url(a.workspace)).json()["canvas_api"]
    assert api["content_types"] == [
        {"source": "canvas", "item_type": "assignment", "label": "Assignment", "stored_items": 1},
        {"source": "canvas", "item_type": "page", "label": "Page", "stored_items": 2},
    ]
    assert api["requests"] == [{"endpoint": pages, "count": 7}]
    assert api["connected"] is False


def test_retention_settings_shown_are_the_workspaces(client, tenants):
    a, b = tenants
    RetentionPolicy.objects.create(workspace=a.workspace, launch_event_days=30, audit_entry_days=730)
    client.force_login(a.owner)
    retention = client.get(json_url(a.workspace)).json()["retention"]
    assert (retention["customised"], retention["launch_event_days"], retention["audit_entry_days"]) == (True, 30, 730)
    client.force_login(b.owner)
    assert client.get(json_url(b.workspace)).json()["retention"]["launch_event_days"] == 90


# --- course assistant -----------------------------------------------------------------------------
def test_assistant_section_is_offline_and_private_by_default_and_creates_nothing(client, tenants, settings):
    settings.ASSISTANT_DEFAULT_RETENTION_DAYS = 120
    a, _ = tenants
    client.force_login(a.owner)
    assistant = client.get(json_url(a.workspace)).json()["assistant"]
    assert (assistant["retention_days"], assistant["customised"]) == (120, False)
    assert assistant["sends_to_provider"] is False
    assert not AssistantWorkspaceSettings.objects.exists()  # reading the report changes nothing
    html = client.get(page_url(a.workspace)).content.decode()
    assert "<h2>Course assistant</h2>" in html
    assert "Questions asked" in html and "Answers given" in html
    assert "Conversations untouched for 120 days are deleted with their messages." in html
    assert "offline mode, answers quote the course materials and nothing leaves the platform" in html
    assert "No: people's conversations are private to them" in html


def test_assistant_section_follows_the_workspaces_settings_and_each_assistants_provider(client, tenants):
    a, b = tenants
    openai = ProviderConfig.objects.create(
        workspace=a.workspace,
        name="OpenAI",
        kind="openai",
        base_url="https://user:pw@api.openai.com/v1",
        model="gpt-4o-mini",
        api_key="sk-never-shown",
    )
    ollama = ProviderConfig.objects.create(
        workspace=a.workspace, name="Campus", kind="openai", base_url="http://ollama.internal:11434/v1", model="llama3"
    )
    offline = ProviderConfig.objects.create(workspace=a.workspace, name="Quotes only", kind="offline")
    AssistantWorkspaceSettings.objects.create(
        workspace=a.workspace, provider=openai, retention_days=30, staff_can_read_conversations=True
    )
    bio = Group.objects.create(workspace=a.workspace, name="Biology 101")
    chem = Group.objects.create(workspace=a.workspace, name="Chemistry 101")
    hist = Group.objects.create(workspace=a.workspace, name="History 101")
    Assistant.objects.create(workspace=a.workspace, group=bio, name="Bio helper", provider=ollama)
    Assistant.objects.create(workspace=a.workspace, group=chem, name="Chem helper", provider=offline)
    Assistant.objects.create(workspace=a.workspace, group=hist, name="History helper")  # the workspace's choice
    client.force_login(a.owner)
    response = client.get(json_url(a.workspace))
    assistant = response.json()["assistant"]
    assert (assistant["customised"], assistant["retention_days"]) == (True, 30)
    assert assistant["retention_means"] == "Conversations untouched for 30 days are deleted with their messages."
    assert assistant["staff_can_read_conversations"] is True
    assert assistant["workspace_provider"] == {
        "name": "OpenAI",
        "mode": "openai",
        "sends_data": True,
        "host": "api.openai.com",
        "model": "gpt-4o-mini",
    }
    assert [
        (o["assistant"], o["group"], o["mode"], o["sends_data"], o["host"]) for o in assistant["assistant_overrides"]
    ] == [
        ("Bio helper", "Biology 101", "openai", True, "ollama.internal:11434"),
        ("Chem helper", "Chemistry 101", "offline", False, ""),
    ]
    assert list(assistant["assistant_overrides"][0]) == ["assistant", "assistant_uuid", "group", *PROVIDER_KEYS]
    assert assistant["sends_to_provider"] is True
    assert assistant["provider_hosts"] == ["api.openai.com", "ollama.internal:11434"]
    assert "the question" in assistant["sent_to_provider"]
    assert "the course passages retrieved for it (with their titles)" in assistant["sent_to_provider"]
    html = client.get(page_url(a.workspace)).content.decode()
    assert "Yes, to <code>api.openai.com</code>, <code>ollama.internal:11434</code>" in html
    assert "Bio helper (Biology 101)" in html
    assert "Yes: the course group&#x27;s Owners and Facilitators" in html
    for secret in ("sk-never-shown", "user:pw", "api.openai.com/v1", "11434/v1"):
        assert secret not in response.content.decode()
        assert secret not in html
    # Beta's page is unaffected by alpha's providers.
    client.force_login(b.owner)
    beta = client.get(json_url(b.workspace)).json()["assistant"]
    assert (beta["sends_to_provider"], beta["assistant_overrides"], beta["customised"]) == (False, [], False)


def test_an_assistant_override_alone_makes_questions_leave(client, tenants):
    a, _ = tenants
    AssistantWorkspaceSettings.objects.create(workspace=a.workspace, retention_days=0)
    remote = ProviderConfig.objects.create(
        workspace=a.workspace, name="Azure", kind="openai", base_url="https://x.openai.azure.com", model="gpt4"
    )
    group = Group.objects.create(workspace=a.workspace, name="Physics")
    Assistant.objects.create(workspace=a.workspace, group=group, provider=remote)
    client.force_login(a.owner)
    assistant = client.get(json_url(a.workspace)).json()["assistant"]
    assert assistant["workspace_provider"]["sends_data"] is False
    assert (assistant["sends_to_provider"], assistant["provider_hosts"]) == (True, ["x.openai.azure.com"])
    assert assistant["retention_days"] == 0
    assert assistant["retention_means"].startswith("Conversations are kept until")


# --- share link ---------------------------------------------------------------------------------------
def share_url(ws):
    return reverse("privacy:share-link", kwargs={"workspace_uuid": ws.uuid})


def make_link(client, owner, ws) -> str:
    client.force_login(owner)
    assert client.post(share_url(ws), {"action": "create"}).status_code == 302
    page = client.get(reverse("privacy:tools", kwargs={"workspace_uuid": ws.uuid})).content.decode()
    start = page.index("http://testserver/privacy/shared/")
    link = page[start : page.index("</code>", start)]
    client.logout()
    return link.removeprefix("http://testserver")


def test_share_link_opens_the_page_without_login_and_is_revocable(client, tenants):
    a, _ = tenants
    link = make_link(client, a.owner, a.workspace)
    stored = DataAccessLink.objects.get()
    assert stored.token_hash not in link and stored.revoked_at is None
    response = client.get(link)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert b"Data access: Nectir Course Assistant at Alpha University" in response.content
    data = client.get(link + "data-access.json").json()
    assert list(data) == TOP_KEYS
    client.force_login(a.owner)
    client.post(share_url(a.workspace), {"action": "revoke"})
    client.logout()
    assert client.get(link).status_code == 404
    assert client.get(link + "data-access.json").status_code == 404
    assert list(AuditEntry.objects.filter(workspace=a.workspace).values_list("action", flat=True).order_by("id")) == [
        "privacy.share_link.created",
        "privacy.share_link.revoked",
    ]


def test_regenerating_the_share_link_kills_the_old_one(client, tenants):
    a, _ = tenants
    first = make_link(client, a.owner, a.workspace)
    second = make_link(client, a.owner, a.workspace)
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert DataAccessLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_share_link_shows_its_own_workspace_only(client, tenants):
    a, b = tenants
    link = make_link(client, a.owner, a.workspace)
    html = client.get(link).content.decode()
    assert "Alpha University" in html and "Beta University" not in html
    assert client.get("/privacy/shared/not-a-token/").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("member", 403), ("outsider", 404)])
def test_share_link_management_is_for_owners(client, tenants, who, status):
    a, _ = tenants
    client.force_login(getattr(a, who))
    assert client.post(share_url(a.workspace), {"action": "create"}).status_code == status
    assert DataAccessLink.objects.count() == 0


def test_share_link_of_another_workspace_cannot_be_made(client, tenants):
    a, b = tenants
    client.force_login(a.owner)
    assert client.post(share_url(b.workspace), {"action": "create"}).status_code == 404
    assert DataAccessLink.objects.count() == 0


def test_page_has_a_print_layout(client, tenants):
    a, _ = tenants
    client.force_login(a.owner)
    html = client.get(page_url(a.workspace)).content.decode()
    assert "@media print" in html
    assert ".no-print, .toolbar, button, form { display: none !important; }" in html
    assert "window.print()" in html


def test_admin_links_to_the_data_access_page(client, tenants):
    a, _ = tenants
    RetentionPolicy.objects.create(workspace=a.workspace)
    client.force_login(a.owner)
    response = client.get(reverse("admin:privacy_retentionpolicy_changelist"))
    assert response.status_code == 200
    assert page_url(a.workspace) in response.content.decode()
