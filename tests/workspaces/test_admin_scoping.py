"""The Django admin as the Owners' and Editors' console: every door, for every model, both tenants.

Each tenant (alpha, beta) has an owner, an editor, a member and an outsider. Alpha's owner and
editor must never see, change, pick, find, filter on or act on anything of beta: another
workspace's object is 404 exactly like a missing id; too low a role is 403; members and
outsiders never get past the login page.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from assistant.models import Assistant, AssistantWorkspaceSettings, KnowledgeItem, ProviderConfig
from assistant.services import (
    assistant_get_or_create_for_group,
    assistant_update,
    knowledge_upload_create,
    workspace_settings_get,
)
from integrations.canvas import client as canvas_client
from integrations.canvas import services as canvas_services
from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection, CanvasCourseSync, CanvasOAuthState
from integrations.canvas.usage import request_counts_add
from integrations.models import LaunchEvent, LtiDeployment, LtiIdentity, LtiRegistration, ToolKey
from privacy.models import AuditEntry, DataAccessLink, RetentionPolicy
from privacy.services import data_access_link_create, retention_policy_save
from workspaces.models import (
    Group,
    GroupMembership,
    RoleChange,
    RoleMapping,
    Workspace,
    WorkspaceMembership,
)
from workspaces.roles import classify_lti_roles, map_roles
from workspaces.services import LmsGroupRef, groups_upsert_from_lms, memberships_sync_from_lms

User = get_user_model()


@dataclass(frozen=True)
class AdminModel:
    app: str
    name: str
    model: type
    lookup: str  # from the model to its workspace
    view: tuple[str, ...]  # roles that see it
    change: tuple[str, ...]
    add: tuple[str, ...]
    delete: tuple[str, ...]
    search: tuple[str, str] | None = None  # (a term matching alpha's row, one matching beta's)

    def url(self, view: str, *args) -> str:
        return reverse(f"admin:{self.app}_{self.name}_{view}", args=args)

    def rows_of(self, workspace):
        return self.model.objects.filter(**{self.lookup: workspace.pk})


OE = ("owner", "editor")
O = ("owner",)  # noqa: E741
NONE: tuple[str, ...] = ()

MODELS = {
    m.name: m
    for m in [
        AdminModel("workspaces", "workspace", Workspace, "pk", OE, O, NONE, NONE, ("alpha", "beta")),
        AdminModel(
            "workspaces", "workspacemembership", WorkspaceMembership, "workspace", OE, O, O, O, ("alpha-", "beta-")
        ),
        AdminModel("workspaces", "group", Group, "workspace", OE, OE, OE, OE, ("Alpha Biology", "Beta Biology")),
        AdminModel(
            "workspaces", "groupmembership", GroupMembership, "workspace", OE, OE, OE, OE, ("alpha-mem", "beta-mem")
        ),
        AdminModel("workspaces", "rolemapping", RoleMapping, "workspace", OE, O, NONE, NONE),
        AdminModel("workspaces", "rolechange", RoleChange, "workspace", O, NONE, NONE, NONE, ("alpha-", "beta-")),
        AdminModel(
            "integrations", "ltiregistration", LtiRegistration, "workspace", OE, O, O, O, ("Alpha Uni", "Beta Uni")
        ),
        AdminModel("integrations", "ltideployment", LtiDeployment, "workspace", OE, O, NONE, O, ("7:alpha", "9:beta")),
        AdminModel("integrations", "launchevent", LaunchEvent, "workspace", O, NONE, NONE, NONE, ("7:alpha", "9:beta")),
        AdminModel(
            "integrations", "ltiidentity", LtiIdentity, "workspace", O, NONE, NONE, NONE, ("Alpha Stud", "Beta Stud")
        ),
        # privacy/admin.py: the audit log and share links are the Owners'; Editors see retention, Owners set it.
        AdminModel(
            "privacy", "auditentry", AuditEntry, "workspace", O, NONE, NONE, NONE, ("alpha-owner", "beta-owner")
        ),
        AdminModel("privacy", "retentionpolicy", RetentionPolicy, "workspace", OE, O, O, NONE),
        AdminModel("privacy", "dataaccesslink", DataAccessLink, "workspace", O, NONE, NONE, NONE),
        # integrations/canvas/admin.py: Owners and Editors connect Canvas and link courses; counts are the Owners'.
        AdminModel(
            "integrations",
            "canvasconnection",
            CanvasConnection,
            "workspace",
            OE,
            OE,
            OE,
            OE,
            ("alpha-canvas", "beta-canvas"),
        ),
        AdminModel(
            "integrations",
            "canvascoursesync",
            CanvasCourseSync,
            "workspace",
            OE,
            OE,
            OE,
            OE,
            ("Alpha Cell", "Beta Cell"),
        ),
        AdminModel(
            "integrations",
            "canvasapirequestcount",
            CanvasApiRequestCount,
            "workspace",
            O,
            NONE,
            NONE,
            NONE,
            ("/pages", "/files"),
        ),
        # assistant/admin.py: Owners choose providers (the API key is a credential) and settings, Editors view them;
        # assistants come with their group.
        AdminModel("assistant", "providerconfig", ProviderConfig, "workspace", OE, O, O, O),
        AdminModel("assistant", "assistantworkspacesettings", AssistantWorkspaceSettings, "workspace", OE, O, O, O),
        AdminModel("assistant", "assistant", Assistant, "workspace", OE, OE, NONE, OE, ("Alpha Study", "Beta Study")),
        AdminModel(
            "assistant", "knowledgeitem", KnowledgeItem, "workspace", OE, NONE, NONE, NONE, ("Alpha Syll", "Beta Syll")
        ),
    ]
}
TENANT_MODELS = list(MODELS)
ADMIN_ROLES = ["owner", "editor"]
VIEWABLE = [(role, name) for role in ADMIN_ROLES for name, m in MODELS.items() if role in m.view]
# Text that only ever appears on a page because of beta's data.
BETA_MARKERS = [b"Beta University", b"Beta Biology", b"Beta Section", b"beta-owner", b"beta-editor", b"beta-member"]
BETA_MARKERS += [b"9:beta", b"Beta Student", b"beta.edu"]
BETA_MARKERS += [b"beta-canvas", b"Beta Teacher", b"Beta Cell Biology", b"GET /api/v1/courses/:course_id/files"]
BETA_MARKERS += [b"Beta OpenAI", b"beta-llm", b"Beta Study Buddy", b"Beta Syllabus"]
APPS = ["workspaces", "integrations", "privacy", "assistant"]

TOOLKEY_URL = "/admin/integrations/toolkey/"

# The admins' own buttons (get_urls): (model, URL name, permission they need, GET status on an own object).
CUSTOM_URLS = [
    ("canvasconnection", "integrations_canvas_authorize", "change", 405),
    ("canvasconnection", "integrations_canvas_test", "change", 405),
    ("canvasconnection", "integrations_canvas_disconnect", "change", 405),
    ("canvasconnection", "integrations_canvas_sync_all", "change", 405),
    ("canvascoursesync", "integrations_canvascoursesync_sync", "change", 405),
    ("canvascoursesync", "integrations_canvascoursesync_pick", "change", 200),
    ("canvascoursesync", "integrations_canvascoursesync_content", "view", 200),
]
# The admins' own bulk actions (besides delete_selected).
CUSTOM_ACTIONS = [
    ("ltideployment", "approve"),
    ("ltideployment", "disable"),
    ("auditentry", "export_csv"),
    ("dataaccesslink", "revoke"),
    ("canvascoursesync", "sync_now"),
]


@dataclass
class World:
    tenants: tuple
    objects: dict  # slug -> {model name -> one object of that workspace}
    superuser: object
    toolkey: ToolKey
    orphan_event: LaunchEvent  # unknown issuer: belongs to no workspace

    def user(self, slug, role):
        tenant = self.tenants[0] if slug == "alpha" else self.tenants[1]
        return getattr(tenant, role)


def _populate(tenant, deployment):
    ws, slug = tenant.workspace, tenant.workspace.slug
    title = slug.title()
    course, section = groups_upsert_from_lms(
        workspace_id=ws.pk,
        deployment_id=deployment.pk,
        course=LmsGroupRef(context_id=f"{slug}-ctx", name=f"{title} Biology", label=f"{title[:3].upper()}101"),
        sections=[LmsGroupRef(context_id=f"{slug}-ctx", section_id="s1", name=f"{title} Section 1")],
    )
    memberships_sync_from_lms(
        workspace=ws,
        user_id=tenant.member.pk,
        current_workspace_role="member",
        workspace_role_pinned=False,
        groups=[course, section],
        mapped=map_roles(classify_lti_roles(["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"])),
    )
    identity = LtiIdentity.objects.create(
        workspace=ws,
        registration=deployment.registration,
        sub=f"{slug}-sub-1",
        user=tenant.member,
        name=f"{title} Student",
        email=f"member@{slug}.edu",
        lms_user_id="101",
    )
    event = LaunchEvent.objects.create(
        workspace=ws,
        registration=deployment.registration,
        outcome=LaunchEvent.Outcome.ACCEPTED,
        reason="accepted",
        deployment_id=deployment.deployment_id,
        context_id=f"{slug}-ctx",
        user=tenant.member,
        group=course,
    )
    return {
        **_populate_privacy_canvas_assistant(tenant, course),
        "workspace": ws,
        "workspacemembership": WorkspaceMembership.objects.get(workspace=ws, user=tenant.member),
        "group": course,
        "groupmembership": GroupMembership.objects.get(group=course, user=tenant.member),
        "rolemapping": RoleMapping.objects.get(workspace=ws, lms_role="instructor"),
        "rolechange": RoleChange.objects.filter(workspace=ws, group=course).get(),
        "ltiregistration": deployment.registration,
        "ltideployment": deployment,
        "launchevent": event,
        "ltiidentity": identity,
    }


# What each tenant's Canvas import has read so far (one endpoint each, so search can tell them apart).
CANVAS_ENDPOINT = {"alpha": "GET /api/v1/courses/:course_id/pages", "beta": "GET /api/v1/courses/:course_id/files"}


def _populate_privacy_canvas_assistant(tenant, course):
    ws, slug, owner = tenant.workspace, tenant.workspace.slug, tenant.owner
    title = slug.title()
    # privacy: the Owner sets retention (audited) and shares the data-access page.
    retention_policy_save(
        policy=RetentionPolicy(workspace=ws, launch_event_days=60, audit_entry_days=730, inactive_membership_days=120),
        actor=owner,
    )
    data_access_link_create(workspace=ws, actor=owner)
    # Canvas: a connection that was authorized, a course link, and the requests an import made.
    connection = canvas_services.canvas_connection_save(
        connection=CanvasConnection(
            workspace=ws, instance_url=f"https://{slug}-canvas.instructure.com", client_id=f"1000000000{ws.pk:04d}"
        ),
        new_secret=f"{slug}-client-secret",
        actor=owner,
    )
    connection.status = CanvasConnection.Status.CONNECTED
    connection.access_token, connection.refresh_token = f"{slug}-access-token", f"{slug}-refresh-token"
    connection.token_expires_at = timezone.now() + timedelta(hours=1)
    connection.canvas_user_id, connection.canvas_user_name = "42", f"{title} Teacher"
    connection.scopes = list(canvas_client.SCOPES)
    connection.save()
    link = canvas_services.course_link_set(
        group=course, course_id=str(5000 + ws.pk), course_name=f"{title} Cell Biology", actor=owner
    )
    request_counts_add(workspace_id=ws.pk, counts={CANVAS_ENDPOINT[slug]: 12})
    # assistant: a provider chosen for the workspace, the course's assistant and an uploaded syllabus.
    provider = ProviderConfig(
        workspace=ws,
        name=f"{title} OpenAI",
        kind=ProviderConfig.Kind.OPENAI_COMPATIBLE,
        base_url=f"https://{slug}-llm.example.org/v1",
        model="gpt-4o-mini",
        api_key=f"sk-{slug}-api-key",
    )
    provider.full_clean()
    provider.save()
    settings = workspace_settings_get(workspace_id=ws.pk)
    settings.provider = provider
    settings.full_clean()
    settings.save()
    assistant = assistant_update(
        assistant=assistant_get_or_create_for_group(group=course),
        name=f"{title} Study Buddy",
        instructions="Answer from the course materials; be concise.",
        allow_general_knowledge=False,
        use_all_knowledge=True,
        item_ids=[],
    )
    item = knowledge_upload_create(
        group=course,
        name="syllabus.txt",
        data=f"{title} Biology syllabus. Labs count for 40 percent of the grade.".encode(),
        title=f"{title} Syllabus",
    )
    return {
        "auditentry": AuditEntry.objects.get(workspace=ws, action="privacy.retention.changed"),
        "retentionpolicy": RetentionPolicy.objects.get(workspace=ws),
        "dataaccesslink": DataAccessLink.objects.get(workspace=ws),
        "canvasconnection": connection,
        "canvascoursesync": link,
        "canvasapirequestcount": CanvasApiRequestCount.objects.get(workspace=ws),
        "providerconfig": provider,
        "assistantworkspacesettings": settings,
        "assistant": assistant,
        "knowledgeitem": item,
    }


@pytest.fixture
def world(tenants, deployments):
    LtiRegistration.objects.filter(pk=deployments[0].registration_id).update(name="Alpha University Canvas")
    LtiRegistration.objects.filter(pk=deployments[1].registration_id).update(name="Beta University Canvas")
    for d in deployments:
        d.registration.refresh_from_db()
    objects = {t.workspace.slug: _populate(t, d) for t, d in zip(tenants, deployments, strict=True)}
    superuser = User.objects.create_superuser(username="root", password="pw-root", email="root@example.com")
    toolkey = ToolKey.objects.create(
        kid="kid-1", public_jwk={"kty": "RSA"}, private_key_pem="-----BEGIN PRIVATE KEY-----x", status="active"
    )
    orphan = LaunchEvent.objects.create(outcome="rejected", reason="unknown_issuer", issuer="https://evil.example")
    return World(tenants=tenants, objects=objects, superuser=superuser, toolkey=toolkey, orphan_event=orphan)


@pytest.fixture(autouse=True)
def canvas_calls(monkeypatch):
    """Canvas is never reached from these tests: revocations and course lists are recorded instead."""
    calls = []

    def revoke(*, base_url, access_token, workspace_id=None, transport=None):
        calls.append(("revoke", base_url, access_token))

    def course_list(*, connection):
        calls.append(("courses", connection.instance_url, connection.access_token))
        return [{"id": "777", "name": "Genetics", "code": "GEN1"}]

    monkeypatch.setattr(canvas_client, "oauth_revoke", revoke)
    monkeypatch.setattr(canvas_services, "canvas_course_list", course_list)
    return calls


@pytest.fixture
def as_user(client, world):
    def login(role, slug="alpha"):
        user = world.superuser if role == "superuser" else world.user(slug, role)
        client.force_login(user)
        return client

    return login


def pks(rows):
    return sorted(obj.pk for obj in rows)


def assert_no_beta(response):
    for marker in BETA_MARKERS:
        assert marker not in response.content, marker


# --- getting in -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_admin_login_owner_or_editor_without_is_staff_gets_in(client, world, role):
    user = world.user("alpha", role)
    assert not user.is_staff and not user.is_superuser
    response = client.post("/admin/login/", {"username": user.username, "password": f"pw-{role}", "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_admin_login_member_or_outsider_is_refused(client, world, role):
    user = world.user("alpha", role)
    response = client.post("/admin/login/", {"username": user.username, "password": f"pw-{role}", "next": "/admin/"})
    assert response.status_code == 200
    assert response.context["form"].errors["__all__"]
    assert "_auth_user_id" not in client.session


def test_admin_login_giving_the_editor_role_is_all_it_takes(client, world):
    outsider = world.user("alpha", "outsider")
    client.force_login(outsider)
    assert client.get("/admin/").status_code == 302
    WorkspaceMembership.objects.create(workspace=world.tenants[0].workspace, user=outsider, role="editor")
    client.logout()
    response = client.post("/admin/login/", {"username": outsider.username, "password": "pw-outsider"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_admin_login_demoted_editor_is_locked_out(client, world):
    editor = world.user("alpha", "editor")
    client.force_login(editor)
    assert client.get("/admin/").status_code == 200
    WorkspaceMembership.objects.filter(user=editor).update(role="member")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def _every_admin_url(world):
    urls = ["/admin/", *(f"/admin/{app}/" for app in APPS), TOOLKEY_URL]
    own = world.objects["alpha"]
    for name, m in MODELS.items():
        urls += [m.url("changelist"), m.url("add"), m.url("change", own[name].pk), m.url("delete", own[name].pk)]
        urls.append(m.url("history", own[name].pk))
    urls += [reverse(f"admin:{url_name}", args=[own[name].pk]) for name, url_name, _perm, _get in CUSTOM_URLS]
    urls.append("/admin/autocomplete/?app_label=workspaces&model_name=groupmembership&field_name=group&term=")
    return urls


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_admin_member_or_outsider_every_url_redirects_to_login(as_user, world, role):
    client = as_user(role)
    for url in _every_admin_url(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


def test_admin_anonymous_every_url_redirects_to_login(client, world):
    for url in _every_admin_url(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


# --- index ----------------------------------------------------------------------------


def _index_models(response):
    return {(app["app_label"], m["object_name"].lower()) for app in response.context["app_list"] for m in app["models"]}


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_index_lists_the_models_the_role_may_see(as_user, role):
    response = as_user(role).get("/admin/")
    assert response.status_code == 200
    assert _index_models(response) == {(m.app, m.name) for m in MODELS.values() if role in m.view}
    assert_no_beta(response)


def test_admin_index_superuser_sees_every_model(as_user):
    response = as_user("superuser").get("/admin/")
    expected = {(m.app, m.name) for m in MODELS.values()} | {("integrations", "toolkey")}
    assert _index_models(response) == expected | {("auth", "user"), ("auth", "group")}


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize("app", APPS)
def test_admin_app_index_lists_the_models_the_role_may_see(as_user, role, app):
    response = as_user(role).get(f"/admin/{app}/")
    assert response.status_code == 200
    assert _index_models(response) == {(m.app, m.name) for m in MODELS.values() if m.app == app and role in m.view}


# --- changelist, popup, search, filters ------------------------------------------------------


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize("name", TENANT_MODELS)
@pytest.mark.parametrize("query", ["", "?_to_field=id&_popup=1"])
def test_admin_changelist_lists_only_own_workspace_rows(as_user, world, role, name, query):
    m = MODELS[name]
    response = as_user(role).get(m.url("changelist") + query)
    if role not in m.view:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    own = m.rows_of(world.tenants[0].workspace)
    assert own.exists()
    assert pks(response.context["cl"].result_list) == pks(own)
    assert_no_beta(response)


@pytest.mark.parametrize("name", TENANT_MODELS)
def test_admin_changelist_superuser_sees_every_workspace(as_user, name):
    m = MODELS[name]
    response = as_user("superuser").get(m.url("changelist"))
    assert response.status_code == 200
    assert pks(response.context["cl"].result_list) == pks(m.model.objects.all())


def test_admin_changelist_superuser_sees_launches_of_no_workspace(as_user, world):
    response = as_user("superuser").get(MODELS["launchevent"].url("changelist"))
    assert world.orphan_event.pk in pks(response.context["cl"].result_list)


@pytest.mark.parametrize(("role", "name"), [(r, n) for r, n in VIEWABLE if MODELS[n].search])
def test_admin_search_finds_nothing_of_another_workspace(as_user, world, role, name):
    m = MODELS[name]
    alpha_term, beta_term = m.search
    client = as_user(role)
    response = client.get(m.url("changelist"), {"q": beta_term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    response = client.get(m.url("changelist"), {"q": alpha_term})
    found = pks(response.context["cl"].result_list)
    assert found and set(found) <= set(pks(m.rows_of(world.tenants[0].workspace)))


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.search])
def test_admin_search_superuser_finds_the_other_workspace(as_user, world, name):
    m = MODELS[name]
    response = as_user("superuser").get(m.url("changelist"), {"q": m.search[1]})
    found = pks(response.context["cl"].result_list)
    assert found and set(found) <= set(pks(m.rows_of(world.tenants[1].workspace)))


@pytest.mark.parametrize(("role", "name"), VIEWABLE)
def test_admin_list_filters_offer_no_other_workspace(as_user, world, role, name):
    m = MODELS[name]
    response = as_user(role).get(m.url("changelist"))
    for spec in response.context["cl"].filter_specs:
        if getattr(spec, "field_path", None) == "workspace":
            assert [(pk, label) for pk, label in spec.lookup_choices] == [
                (world.tenants[0].workspace.pk, "Alpha University")
            ]
        for choice in spec.choices(response.context["cl"]):
            assert "Beta" not in str(choice["display"])
    assert_no_beta(response)


@pytest.mark.parametrize(("role", "name"), [(r, n) for r, n in VIEWABLE if MODELS[n].lookup == "workspace"])
def test_admin_filtering_on_another_workspace_shows_nothing(as_user, world, role, name):
    m = MODELS[name]
    beta = world.tenants[1].workspace
    response = as_user(role).get(m.url("changelist"), {"workspace__id__exact": beta.pk})
    assert response.status_code == 200
    assert not m.rows_of(beta).filter(pk__in=pks(response.context["cl"].result_list)).exists()
    assert_no_beta(response)


# --- object views ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ADMIN_ROLES, "superuser_missing"])
@pytest.mark.parametrize("name", TENANT_MODELS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_admin_object_of_another_workspace_is_404_like_a_missing_one(as_user, world, role, name, view):
    m = MODELS[name]
    client = as_user("superuser" if role == "superuser_missing" else role)
    missing = m.model.objects.order_by("-pk").first().pk + 1000
    assert client.get(m.url(view, missing)).status_code == 404
    assert client.get(m.url(view, "not-a-number")).status_code == 404
    if role != "superuser_missing":
        theirs = world.objects["beta"][name]
        assert client.get(m.url(view, theirs.pk)).status_code == 404
        assert client.post(m.url(view, theirs.pk), {"post": "yes"}).status_code == 404
        assert m.model.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize("name", TENANT_MODELS)
def test_admin_own_object_views_answer_by_role(as_user, world, role, name):
    m = MODELS[name]
    client = as_user(role)
    own = world.objects["alpha"][name]
    expected_view = 200 if role in m.view else 403
    assert client.get(m.url("change", own.pk)).status_code == expected_view
    assert client.get(m.url("history", own.pk)).status_code == expected_view
    assert client.get(m.url("delete", own.pk)).status_code == (200 if role in m.delete else 403)
    assert client.get(m.url("add")).status_code == (200 if role in m.add else 403)


@pytest.mark.parametrize("name", TENANT_MODELS)
def test_admin_superuser_opens_any_workspace_object(as_user, world, name):
    m = MODELS[name]
    client = as_user("superuser")
    for slug in ("alpha", "beta"):
        obj = world.objects[slug][name]
        assert client.get(m.url("change", obj.pk)).status_code == 200
        assert client.get(m.url("history", obj.pk)).status_code == 200


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_view_on_site_shortcut_of_another_workspace_is_404(as_user, world, role):
    client = as_user(role)
    for name in TENANT_MODELS:
        obj = world.objects["beta"][name]
        ct = ContentType.objects.get_for_model(obj)
        assert client.get(f"/admin/r/{ct.pk}/{obj.pk}/").status_code == 404


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_group_sections_inline_follows_the_workspace_role(as_user, world, role):
    course = world.objects["alpha"]["group"]
    section = Group.objects.get(parent=course)
    client = as_user(role)
    response = client.get(MODELS["group"].url("change", course.pk))
    (inline,) = response.context["inline_admin_formsets"]
    assert [f.form.instance.pk for f in inline] == [section.pk]
    data = {
        "name": "Alpha Biology",
        "is_active": "on",
        "lms_course_label": "ALP101",
        "children-TOTAL_FORMS": "1",
        "children-INITIAL_FORMS": "1",
        "children-0-id": section.pk,
        "children-0-parent": course.pk,
        "children-0-name": "Alpha Lab",
        "children-0-is_active": "on",
    }
    assert client.post(MODELS["group"].url("change", course.pk), data).status_code == 302
    section.refresh_from_db()
    assert (section.name, section.parent_id, section.workspace_id) == ("Alpha Lab", course.pk, course.workspace_id)


# --- writes with too low a role --------------------------------------------------------------

LOW_ROLE_POSTS = [
    ("rolemapping", {"workspace_role": "owner", "group_role": "owner"}),
    ("workspacemembership", {"role": "owner"}),
    ("workspace", {"name": "Hijacked", "role_mapping_policy": "keep_in_sync", "deployment_approval": "automatic"}),
    ("ltideployment", {}),
    ("rolechange", {"to_role": "owner"}),
    ("launchevent", {"reason": "x"}),
    ("ltiidentity", {"name": "x"}),
    ("retentionpolicy", {"launch_event_days": "7", "audit_entry_days": "365", "inactive_membership_days": "30"}),
    ("auditentry", {"action": "x", "target": "x"}),
    ("dataaccesslink", {"token_hint": "x"}),
    ("canvasapirequestcount", {"count": "0"}),
    ("knowledgeitem", {"title": "x"}),
]


@pytest.mark.parametrize(("name", "data"), LOW_ROLE_POSTS)
def test_admin_editor_posting_a_change_it_may_not_make_is_403(as_user, world, name, data):
    m = MODELS[name]
    own = world.objects["alpha"][name]
    before = m.model.objects.filter(pk=own.pk).values().get()
    response = as_user("editor").post(m.url("change", own.pk), data)
    assert response.status_code == 403
    assert m.model.objects.filter(pk=own.pk).values().get() == before


@pytest.mark.parametrize("name", [name for name, m in MODELS.items() if "editor" not in m.delete])
def test_admin_editor_posting_a_delete_it_may_not_make_is_403(as_user, world, name):
    m = MODELS[name]
    own = world.objects["alpha"][name]
    assert as_user("editor").post(m.url("delete", own.pk), {"post": "yes"}).status_code == 403
    assert m.model.objects.filter(pk=own.pk).exists()


def test_admin_editor_adding_a_workspace_membership_is_403(as_user, world):
    outsider = world.user("alpha", "outsider")
    ws = world.tenants[0].workspace
    data = {"workspace": ws.pk, "user": outsider.pk, "role": "owner"}
    response = as_user("editor").post(MODELS["workspacemembership"].url("add"), data)
    assert response.status_code == 403
    assert not WorkspaceMembership.objects.filter(user=outsider).exists()


def test_admin_owner_changes_role_mapping(as_user, world):
    mapping = world.objects["alpha"]["rolemapping"]
    response = as_user("owner").post(
        MODELS["rolemapping"].url("change", mapping.pk), {"workspace_role": "owner", "group_role": "facilitator"}
    )
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert (mapping.workspace_id, mapping.lms_role, mapping.workspace_role, mapping.group_role) == (
        world.tenants[0].workspace.pk,
        "instructor",
        "owner",
        "facilitator",
    )


def test_admin_owner_changes_workspace_role_pinned_and_recorded(as_user, world):
    membership = world.objects["alpha"]["workspacemembership"]
    owner = world.user("alpha", "owner")
    response = as_user("owner").post(MODELS["workspacemembership"].url("change", membership.pk), {"role": "editor"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.role_pinned) == ("editor", True)
    change = RoleChange.objects.filter(user=membership.user, changed_by=owner).get()
    assert (change.workspace_id, change.scope, change.from_role, change.to_role, change.reason) == (
        world.tenants[0].workspace.pk,
        "workspace",
        "member",
        "editor",
        "set by hand",
    )


# --- foreign-key choices in forms ------------------------------------------------------------


def _choices(response, field):
    return sorted(response.context["adminform"].form.fields[field].queryset.values_list("pk", flat=True))


def _alpha_people(world):
    a = world.tenants[0]
    return sorted([a.owner.pk, a.editor.pk, a.member.pk])


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_form_offers_only_own_workspace_and_groups(as_user, world, role):
    response = as_user(role).get(MODELS["group"].url("add"))
    alpha = world.tenants[0].workspace
    assert _choices(response, "workspace") == [alpha.pk]
    assert _choices(response, "parent") == pks(Group.objects.filter(workspace=alpha))
    assert_no_beta(response)


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_membership_form_offers_only_own_groups_and_people(as_user, world, role):
    response = as_user(role).get(MODELS["groupmembership"].url("add"))
    assert _choices(response, "group") == pks(Group.objects.filter(workspace=world.tenants[0].workspace))
    assert _choices(response, "user") == _alpha_people(world)
    assert_no_beta(response)


def test_admin_add_workspace_membership_form_offers_only_own_workspace_and_people(as_user, world):
    response = as_user("owner").get(MODELS["workspacemembership"].url("add"))
    assert _choices(response, "workspace") == [world.tenants[0].workspace.pk]
    assert _choices(response, "user") == _alpha_people(world)
    assert_no_beta(response)


def test_admin_add_registration_form_offers_only_own_workspace(as_user, world):
    response = as_user("owner").get(MODELS["ltiregistration"].url("add"))
    assert _choices(response, "workspace") == [world.tenants[0].workspace.pk]
    assert_no_beta(response)


def test_admin_editor_cannot_add_or_repoint_a_registration(as_user, world):
    # A registration's key set vouches for every launch: an Editor who could re-point it
    # could sign launches granting themselves Owner.
    editor = as_user("editor")
    registration = world.objects["alpha"]["ltiregistration"]
    assert editor.get(MODELS["ltiregistration"].url("add")).status_code == 403
    data = {
        "workspace": world.tenants[0].workspace.pk,
        "name": "x",
        "preset": "other",
        "client_id": registration.client_id,
        "issuer": registration.issuer,
        "auth_url": "https://evil.example/auth",
        "jwks_url": "https://evil.example/jwks",
        "token_url": "https://evil.example/token",
        "is_active": "on",
    }
    assert editor.post(MODELS["ltiregistration"].url("change", registration.pk), data).status_code == 403
    registration.refresh_from_db()
    assert registration.jwks_url != "https://evil.example/jwks"


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_change_group_form_offers_only_own_groups_as_parent(as_user, world, role):
    course = world.objects["alpha"]["group"]
    response = as_user(role).get(MODELS["group"].url("change", course.pk))
    assert _choices(response, "parent") == pks(Group.objects.filter(workspace=world.tenants[0].workspace))
    assert_no_beta(response)


def test_admin_superuser_add_forms_offer_every_workspace(as_user, world):
    response = as_user("superuser").get(MODELS["group"].url("add"))
    assert _choices(response, "workspace") == pks(Workspace.objects.all())
    assert _choices(response, "parent") == pks(Group.objects.all())


GROUP_INLINE = {"children-TOTAL_FORMS": "0", "children-INITIAL_FORMS": "0"}


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_in_another_workspace_is_refused(as_user, world, role):
    beta = world.tenants[1].workspace
    data = {"workspace": beta.pk, "name": "Planted", "is_active": "on", **GROUP_INLINE}
    response = as_user(role).post(MODELS["group"].url("add"), data)
    assert response.status_code == 200
    assert "workspace" in response.context["adminform"].form.errors
    assert not Group.objects.filter(name="Planted").exists()


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_under_another_workspace_parent_is_refused(as_user, world, role):
    alpha = world.tenants[0].workspace
    data = {"workspace": alpha.pk, "name": "Planted", "parent": world.objects["beta"]["group"].pk, **GROUP_INLINE}
    response = as_user(role).post(MODELS["group"].url("add"), data)
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert not Group.objects.filter(name="Planted").exists()


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_in_own_workspace_is_saved(as_user, world, role):
    alpha = world.tenants[0].workspace
    parent = world.objects["alpha"]["group"]
    data = {"workspace": alpha.pk, "name": "Study group", "parent": parent.pk, "is_active": "on", **GROUP_INLINE}
    response = as_user(role).post(MODELS["group"].url("add"), data)
    assert response.status_code == 302
    group = Group.objects.get(name="Study group")
    assert (group.workspace_id, group.parent_id, group.is_active, group.lms_deployment_id) == (
        alpha.pk,
        parent.pk,
        True,
        None,
    )


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize("foreign", ["group", "user"])
def test_admin_add_group_membership_with_another_workspace_object_is_refused(as_user, world, role, foreign):
    if foreign == "group":
        group, user = world.objects["beta"]["group"], world.user("alpha", "member")
    else:
        group, user = world.objects["alpha"]["group"], world.user("beta", "member")
    data = {"group": group.pk, "user": user.pk, "role": "owner", "is_active": "on"}
    response = as_user(role).post(MODELS["groupmembership"].url("add"), data)
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [foreign]
    assert not GroupMembership.objects.filter(group=group, user=user).exists()


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_add_group_membership_in_own_workspace_is_pinned_and_recorded(as_user, world, role):
    section = Group.objects.get(workspace=world.tenants[0].workspace, lms_section_id="s1")
    editor = world.user("alpha", "editor")
    actor = world.user("alpha", role)
    data = {"group": section.pk, "user": editor.pk, "role": "facilitator", "is_active": "on"}
    response = as_user(role).post(MODELS["groupmembership"].url("add"), data)
    assert response.status_code == 302
    gm = GroupMembership.objects.get(group=section, user=editor)
    assert (gm.workspace_id, gm.role, gm.role_pinned, gm.source) == (
        section.workspace_id,
        "facilitator",
        True,
        "manual",
    )
    assert list(RoleChange.objects.filter(user=editor).values_list("group", "from_role", "to_role", "changed_by")) == [
        (section.pk, "", "facilitator", actor.pk)
    ]


# --- autocomplete -------------------------------------------------------------------------------

AUTOCOMPLETE = "/admin/autocomplete/"


def _autocomplete(client, app, model, field, term=""):
    return client.get(AUTOCOMPLETE, {"app_label": app, "model_name": model, "field_name": field, "term": term})


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(
    ("app", "model", "field", "target"),
    [
        ("workspaces", "groupmembership", "group", Group),
        ("workspaces", "group", "parent", Group),
        ("integrations", "launchevent", "group", Group),
        ("workspaces", "workspacemembership", "workspace", Workspace),
        ("workspaces", "group", "workspace", Workspace),
        ("integrations", "canvascoursesync", "group", Group),
        ("assistant", "assistant", "group", Group),
        ("assistant", "knowledgeitem", "group", Group),
        ("integrations", "canvasconnection", "workspace", Workspace),
        ("privacy", "retentionpolicy", "workspace", Workspace),
        ("assistant", "providerconfig", "workspace", Workspace),
    ],
)
def test_admin_autocomplete_returns_only_own_workspace(as_user, world, role, app, model, field, target):
    client = as_user(role)
    alpha = world.tenants[0].workspace
    response = _autocomplete(client, app, model, field)
    assert response.status_code == 200
    ids = sorted(int(r["id"]) for r in response.json()["results"])
    own = [alpha.pk] if target is Workspace else pks(Group.objects.filter(workspace=alpha))
    assert ids == own
    response = _autocomplete(client, app, model, field, term="Beta")
    assert response.json()["results"] == []


def test_admin_autocomplete_superuser_gets_every_workspace(as_user, world):
    response = _autocomplete(as_user("superuser"), "workspaces", "groupmembership", "group", term="Biology")
    names = sorted(r["text"] for r in response.json()["results"])
    assert names == ["Alpha Biology", "Beta Biology"]


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(
    ("app", "model", "field"),
    [
        ("workspaces", "groupmembership", "user"),  # users are not browsable by Owners and Editors
        ("integrations", "ltiidentity", "user"),
        ("integrations", "toolkey", "kid"),
        ("workspaces", "nosuchmodel", "group"),
    ],
)
def test_admin_autocomplete_of_something_not_theirs_is_refused(as_user, role, app, model, field):
    response = _autocomplete(as_user(role), app, model, field)
    assert response.status_code == 403


def test_admin_autocomplete_editor_gets_no_registrations_of_roles_they_lack(as_user, world):
    # LaunchEvent.registration -> LtiRegistrationAdmin has search fields; the editor may see own ones only.
    response = _autocomplete(as_user("editor"), "integrations", "launchevent", "registration")
    ids = [int(r["id"]) for r in response.json()["results"]]
    assert ids == [world.objects["alpha"]["ltiregistration"].pk]


# --- bulk actions ---------------------------------------------------------------------------------


def _action(client, m, action, ids):
    return client.post(m.url("changelist"), {"action": action, "_selected_action": ids, "post": "yes"})


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_delete_selected_never_deletes_another_workspace_row(as_user, world, role):
    m = MODELS["groupmembership"]
    mine, theirs = world.objects["alpha"]["groupmembership"], world.objects["beta"]["groupmembership"]
    client = as_user(role)
    _action(client, m, "delete_selected", [theirs.pk])
    assert GroupMembership.objects.filter(pk=theirs.pk).exists()
    _action(client, m, "delete_selected", [mine.pk, theirs.pk])
    assert not GroupMembership.objects.filter(pk=mine.pk).exists()
    assert GroupMembership.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("role", "name"), [(role, name) for role in ADMIN_ROLES for name, m in MODELS.items() if role not in m.delete]
)
def test_admin_delete_selected_by_too_low_a_role_deletes_nothing(as_user, world, role, name):
    m = MODELS[name]
    own = world.objects["alpha"][name]
    response = _action(as_user(role), m, "delete_selected", [own.pk])
    assert response.status_code in ((302, 200) if role in m.view else (403,))
    assert m.model.objects.filter(pk=own.pk).exists()


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_delete_selected_is_offered_once_and_only_with_delete_permission(as_user, role):
    for name, m in MODELS.items():
        if role not in m.view:
            continue
        response = as_user(role).get(m.url("changelist"))
        form = response.context["action_form"]
        choices = [value for value, _label in form.fields["action"].choices if value] if form else []
        assert choices.count("delete_selected") == (1 if role in m.delete else 0), name
        assert [c for c in choices if "delete" in c] == (["delete_selected"] if role in m.delete else []), name


@pytest.fixture
def pending(world):
    """A pending deployment in each workspace."""
    return {
        slug: LtiDeployment.objects.create(
            workspace=world.objects[slug]["workspace"],
            registration=world.objects[slug]["ltiregistration"],
            deployment_id=f"42:{slug}-new",
            canvas_url=f"https://{slug}-new.instructure.com",
        )
        for slug in ("alpha", "beta")
    }


def test_admin_approve_deployment_of_another_workspace_does_nothing(as_user, world, pending):
    _action(as_user("owner"), MODELS["ltideployment"], "approve", [pending["beta"].pk])
    pending["beta"].refresh_from_db()
    assert (pending["beta"].status, pending["beta"].approved_by_id) == ("pending", None)
    assert "https://beta-new.instructure.com" not in Workspace.objects.get(slug="beta").frame_origins


def test_admin_approve_own_deployment_by_owner(as_user, world, pending):
    owner = world.user("alpha", "owner")
    response = _action(as_user("owner"), MODELS["ltideployment"], "approve", [pending["alpha"].pk, pending["beta"].pk])
    assert response.status_code == 302
    pending["alpha"].refresh_from_db()
    assert (pending["alpha"].status, pending["alpha"].approved_by_id) == ("approved", owner.pk)
    assert pending["alpha"].approved_at is not None
    assert "https://alpha-new.instructure.com" in Workspace.objects.get(slug="alpha").frame_origins
    assert LtiDeployment.objects.get(pk=pending["beta"].pk).status == "pending"


@pytest.mark.parametrize("action", ["approve", "disable"])
def test_admin_editor_cannot_approve_or_disable_deployments(as_user, world, pending, action):
    approved = world.objects["alpha"]["ltideployment"]
    _action(as_user("editor"), MODELS["ltideployment"], action, [pending["alpha"].pk, approved.pk])
    assert LtiDeployment.objects.get(pk=pending["alpha"].pk).status == "pending"
    assert LtiDeployment.objects.get(pk=approved.pk).status == "approved"


# --- platform-wide tool keys ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_tool_keys_are_superuser_only(as_user, world, role):
    client = as_user(role)
    assert client.get(TOOLKEY_URL).status_code == 403
    assert client.get(f"{TOOLKEY_URL}{world.toolkey.pk}/change/").status_code == 403
    assert client.post(TOOLKEY_URL, {"action": "rotate", "_selected_action": [world.toolkey.pk]}).status_code == 403
    assert list(ToolKey.objects.values_list("kid", "status")) == [("kid-1", "active")]


def test_admin_tool_keys_superuser_sees_them_without_the_private_key(as_user, world):
    client = as_user("superuser")
    response = client.get(TOOLKEY_URL)
    assert pks(response.context["cl"].result_list) == [world.toolkey.pk]
    response = client.get(f"{TOOLKEY_URL}{world.toolkey.pk}/change/")
    assert response.status_code == 200
    assert b"BEGIN PRIVATE KEY" not in response.content


# --- every form, delete and button of every model ----------------------------------------------------


def _forms(response):
    """(form, name of a hidden primary-key field to leave out: an inline's, looked up in its own queryset)."""
    yield response.context["adminform"].form, None
    for inline in response.context["inline_admin_formsets"]:
        for form in [*inline.formset.forms, inline.formset.empty_form]:
            yield form, inline.formset._pk_field.name


@pytest.mark.parametrize(
    ("role", "name", "view"),
    [
        (role, name, view)
        for role in ADMIN_ROLES
        for name, m in MODELS.items()
        for view in ("add", "change")
        if role in (m.add if view == "add" else m.change)
    ],
)
def test_admin_every_form_offers_only_own_workspace_choices(as_user, world, role, name, view):
    m = MODELS[name]
    alpha = world.tenants[0].workspace
    url = m.url("add") if view == "add" else m.url("change", world.objects["alpha"][name].pk)
    response = as_user(role).get(url)
    assert response.status_code == 200
    for form, pk_name in _forms(response):
        for field_name, field in form.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None or field_name == pk_name:
                continue
            related = queryset.model
            if related is Workspace:
                expected = [alpha.pk]
            elif related is User:
                expected = _alpha_people(world)
            else:
                expected = pks(related._default_manager.filter(workspace=alpha))
            assert pks(queryset) == expected, field_name
    assert_no_beta(response)


# (model, view, field planted with beta's row, the other fields, valid)
PLANTED = [
    (
        "retentionpolicy",
        "add",
        "workspace",
        {"launch_event_days": "60", "audit_entry_days": "730", "inactive_membership_days": "120"},
    ),
    (
        "canvasconnection",
        "add",
        "workspace",
        {"instance_url": "https://planted.instructure.com", "client_id": "10000000000077", "new_client_secret": "s"},
    ),
    ("canvascoursesync", "add", "group", {"picked_course_id": "", "enabled": "on"}),
    (
        "providerconfig",
        "add",
        "workspace",
        {"name": "Planted", "kind": "offline", "timeout_seconds": "30", "max_retries": "2"},
    ),
    ("assistantworkspacesettings", "change", "provider", {"retention_days": "365"}),
    ("assistant", "change", "provider", {"name": "Planted", "use_all_knowledge": "on"}),
]
BETA_ROW_FOR = {"workspace": "workspace", "group": "group", "provider": "providerconfig"}


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(("name", "view", "field", "data"), PLANTED)
def test_admin_saving_another_workspace_row_into_a_field_is_refused(as_user, world, role, name, view, field, data):
    m = MODELS[name]
    url = m.url("add") if view == "add" else m.url("change", world.objects["alpha"][name].pk)
    before = list(m.model.objects.order_by("pk").values())
    response = as_user(role).post(url, {**data, field: world.objects["beta"][BETA_ROW_FOR[field]].pk})
    if role not in (m.add if view == "add" else m.change):
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert list(response.context["adminform"].form.errors) == [field]
    assert list(m.model.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(("name", "view", "field", "data"), [p for p in PLANTED if p[2] != "workspace"])
def test_admin_saving_own_workspace_row_into_a_field_is_saved(as_user, world, role, name, view, field, data):
    m = MODELS[name]
    alpha = world.tenants[0].workspace
    if view == "change":
        own = world.objects["alpha"][name]
        url = m.url("change", own.pk)
    else:
        group = Group.objects.create(workspace=alpha, name="Alpha Genetics")
        own, url = None, m.url("add")
    value = world.objects["alpha"][BETA_ROW_FOR[field]] if own is not None else group
    response = as_user(role).post(url, {**data, field: value.pk})
    if role not in (m.add if view == "add" else m.change):
        assert response.status_code == 403
        return
    assert response.status_code == 302
    saved = m.model.objects.get(pk=own.pk) if own is not None else m.model.objects.get(group=group)
    assert (saved.workspace_id, getattr(saved, f"{field}_id")) == (alpha.pk, value.pk)


@pytest.mark.parametrize(
    ("role", "name"), [(role, name) for role in ADMIN_ROLES for name, m in MODELS.items() if role in m.delete]
)
def test_admin_delete_selected_never_deletes_another_workspace_row_of_any_model(
    as_user, world, canvas_calls, role, name
):
    m = MODELS[name]
    mine, theirs = world.objects["alpha"][name], world.objects["beta"][name]
    client = as_user(role)
    _action(client, m, "delete_selected", [theirs.pk])
    assert m.model.objects.filter(pk=theirs.pk).exists()
    _action(client, m, "delete_selected", [mine.pk, theirs.pk])
    assert m.model.objects.filter(pk=theirs.pk).exists()
    if name not in ("group", "ltiregistration"):  # (these cascade to records no role may delete)
        assert not m.model.objects.filter(pk=mine.pk).exists()
    assert [call[1] for call in canvas_calls] in ([], ["https://alpha-canvas.instructure.com"])


def _beta_state(world):
    beta = world.tenants[1].workspace
    return {name: list(m.rows_of(beta).order_by("pk").values()) for name, m in MODELS.items()} | {
        "oauth": list(CanvasOAuthState.objects.filter(workspace=beta).values())
    }


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(("name", "action"), CUSTOM_ACTIONS)
def test_admin_custom_action_never_acts_on_another_workspace_row(as_user, world, canvas_calls, role, name, action):
    m = MODELS[name]
    mine, theirs = world.objects["alpha"][name], world.objects["beta"][name]
    before = _beta_state(world)
    client = as_user(role)
    for ids in ([theirs.pk], [mine.pk, theirs.pk]):
        response = client.post(m.url("changelist"), {"action": action, "_selected_action": ids})
        assert response.status_code in ((200, 302) if role in m.view else (403,))
        assert_no_beta(response)
    assert _beta_state(world) == before
    assert canvas_calls == []


def test_admin_audit_csv_export_is_the_owners_and_of_own_entries(as_user, world):
    m = MODELS["auditentry"]
    mine, theirs = world.objects["alpha"]["auditentry"], world.objects["beta"]["auditentry"]
    assert _action(as_user("editor"), m, "export_csv", [mine.pk]).status_code == 403
    response = _action(as_user("owner"), m, "export_csv", [mine.pk, theirs.pk])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode().strip().splitlines()
    assert len(lines) == 2 and "privacy.retention.changed" in lines[1] and "alpha-owner" in lines[1]
    assert_no_beta(response)


def test_admin_revoke_links_is_the_owners_and_of_own_links(as_user, world):
    m = MODELS["dataaccesslink"]
    mine, theirs = world.objects["alpha"]["dataaccesslink"], world.objects["beta"]["dataaccesslink"]
    assert _action(as_user("editor"), m, "revoke", [mine.pk]).status_code == 403
    assert DataAccessLink.objects.get(pk=mine.pk).is_active
    assert _action(as_user("owner"), m, "revoke", [mine.pk, theirs.pk]).status_code == 302
    assert (DataAccessLink.objects.get(pk=mine.pk).is_active, DataAccessLink.objects.get(pk=theirs.pk).is_active) == (
        False,
        True,
    )


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_sync_now_queues_own_course_links_only(as_user, world, role):
    m = MODELS["canvascoursesync"]
    mine, theirs = world.objects["alpha"]["canvascoursesync"], world.objects["beta"]["canvascoursesync"]
    assert _action(as_user(role), m, "sync_now", [mine.pk, theirs.pk]).status_code == 302
    assert CanvasCourseSync.objects.get(pk=mine.pk).state == "queued"
    assert CanvasCourseSync.objects.get(pk=theirs.pk).state == "idle"


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(("name", "url_name", "perm", "get_status"), CUSTOM_URLS)
def test_admin_custom_view_of_another_workspace_is_404_like_a_missing_one(
    as_user, world, canvas_calls, role, name, url_name, perm, get_status
):
    m = MODELS[name]
    missing = m.model.objects.order_by("-pk").first().pk + 1000
    before = _beta_state(world)
    client = as_user(role)
    for object_id in (world.objects["beta"][name].pk, missing, "not-a-number"):
        url = reverse(f"admin:{url_name}", args=[object_id])
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"course_id": "777"}).status_code == 404, url
    assert _beta_state(world) == before
    assert canvas_calls == []


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize(("name", "url_name", "perm", "get_status"), CUSTOM_URLS)
def test_admin_custom_view_of_own_object_answers_by_role(as_user, world, role, name, url_name, perm, get_status):
    m = MODELS[name]
    url = reverse(f"admin:{url_name}", args=[world.objects["alpha"][name].pk])
    allowed = role in (m.change if perm == "change" else m.view)
    response = as_user(role).get(url)
    assert response.status_code == (get_status if allowed else 403)
    assert_no_beta(response)


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_admin_canvas_buttons_act_on_own_workspace(as_user, world, canvas_calls, role):
    connection, link = world.objects["alpha"]["canvasconnection"], world.objects["alpha"]["canvascoursesync"]
    client = as_user(role)
    response = client.post(reverse("admin:integrations_canvas_authorize", args=[connection.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("https://alpha-canvas.instructure.com/login/oauth2/auth?")
    assert list(CanvasOAuthState.objects.values_list("workspace", flat=True)) == [connection.workspace_id]
    assert client.post(reverse("admin:integrations_canvascoursesync_sync", args=[link.pk])).status_code == 302
    assert CanvasCourseSync.objects.get(pk=link.pk).state == "queued"
    response = client.post(reverse("admin:integrations_canvascoursesync_pick", args=[link.pk]), {"course_id": "777"})
    assert response.status_code == 302
    assert CanvasCourseSync.objects.values_list("picked_course_id", "course_name").get(pk=link.pk) == (
        "777",
        "Genetics",
    )
    assert client.post(reverse("admin:integrations_canvas_disconnect", args=[connection.pk])).status_code == 302
    connection.refresh_from_db()
    assert (connection.status, connection.access_token) == ("not_authorized", "")
    assert canvas_calls == [
        ("courses", "https://alpha-canvas.instructure.com", "alpha-access-token"),
        ("revoke", "https://alpha-canvas.instructure.com", "alpha-access-token"),
    ]
    beta = CanvasConnection.objects.get(workspace=world.tenants[1].workspace)
    assert (beta.status, beta.access_token) == ("connected", "beta-access-token")


def test_admin_every_custom_url_and_action_is_in_these_tables(rf, world):
    """A button or bulk action added to one of these admins must be added to CUSTOM_URLS/CUSTOM_ACTIONS."""
    request = rf.get("/admin/")
    request.user = world.superuser
    for name, m in MODELS.items():
        model_admin = admin.site._registry[m.model]
        standard = {f"{m.app}_{m.name}_{view}" for view in ("changelist", "add", "history", "delete", "change")}
        custom = {p.name for p in model_admin.get_urls() if p.name} - standard
        assert custom == {url_name for n, url_name, *_ in CUSTOM_URLS if n == name}, name
        actions = set(model_admin.get_actions(request)) - {"delete_selected"}
        assert actions == {action for n, action in CUSTOM_ACTIONS if n == name}, name
