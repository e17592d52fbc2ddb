"""Platform JWKS caching, tool keys, configuration URLs, concurrency and query budgets."""

import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations.lti.tool_keys import tool_jwks, tool_key_ensure, tool_key_rotate
from integrations.models import LtiDeployment, LtiRegistration, ToolKey
from tests.integrations.platform import SigningKey, new_sub
from workspaces.models import Group, GroupMembership, WorkspaceMembership


def test_first_launch_fetches_the_platform_jwks_once_and_warm_launches_never(client, platform):
    platform.full_launch(client)
    assert platform.jwks.fetches == 1
    for _ in range(3):
        platform.full_launch(Client(), sub=new_sub())
    assert platform.jwks.fetches == 1


def test_unknown_kid_triggers_one_refetch_and_a_rotated_platform_key_works(client, platform):
    platform.full_launch(client)
    rotated = SigningKey("2026-12-01T00:00:00Z")
    platform.jwks.keys = [platform.key, rotated]
    platform.key = rotated
    response, _ = platform.full_launch(Client(), sub=new_sub())
    assert response.status_code == 302
    assert platform.jwks.fetches == 2


def test_unknown_kid_refetch_is_rate_limited(client, platform):
    platform.full_launch(client)
    stranger = SigningKey("not-published")
    for _ in range(3):
        auth = platform.auth_request(platform.login(Client()))
        c = Client()
        auth = platform.auth_request(platform.login(c))
        platform.launch(
            c, id_token=platform.sign(platform.claims(nonce=auth["nonce"]), key=stranger), state=auth["state"]
        )
    assert platform.jwks.fetches == 2  # first fetch + one refetch within the cooldown


def test_jwks_cache_lifetime_follows_cache_control_within_bounds(settings, platform):
    from integrations.lti.platform_keys import _max_age

    settings.LTI_JWKS_CACHE_MIN_SECONDS = 300
    settings.LTI_JWKS_CACHE_MAX_SECONDS = 86400
    assert _max_age("public, max-age=600") == 600
    assert _max_age("max-age=5") == 300
    assert _max_age("max-age=9999999") == 86400
    assert _max_age("") == 300


def test_jwks_timeout_is_refused_as_unavailable(client, platform, settings):
    LtiRegistration.objects.update(jwks_url="http://127.0.0.1:9/jwks.json")
    response, _ = platform.full_launch(client)
    assert response.status_code == 403
    assert b"jwks_unavailable" in response.content


def test_concurrent_first_launches_create_one_user_group_and_membership(platform, transactional_db):
    sub = new_sub()
    prepared = []
    for _ in range(6):
        c = Client()
        auth = platform.auth_request(platform.login(c))
        prepared.append((c, platform.sign(platform.claims(nonce=auth["nonce"], sub=sub)), auth["state"]))
    barrier = threading.Barrier(len(prepared))
    statuses = []

    def run(c, token, state):
        barrier.wait()
        try:
            statuses.append(platform.launch(c, id_token=token, state=state).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302] * 6
    assert Group.objects.count() == 1
    assert WorkspaceMembership.objects.filter(user__lti_identities__sub=sub).count() == 1
    assert GroupMembership.objects.count() == 1
    from integrations.models import LtiIdentity

    assert LtiIdentity.objects.filter(sub=sub).count() == 1


def _launch_queries(platform, client, **claims):
    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"], **claims))
    with CaptureQueriesContext(connection) as ctx:
        response = platform.launch(client, id_token=token, state=auth["state"])
    assert response.status_code == 302
    # SAVEPOINT/RELEASE exist only because the test runs inside a transaction.
    return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]), response


def test_first_launch_query_budget(platform):
    # The very first launch into a workspace also reads the deployment and the role
    # mapping, which are then cached for every later launch.
    cold, _ = _launch_queries(platform, Client(), sub=new_sub())
    assert cold <= 14
    # A person's first launch into a workspace that is in use.
    first, _ = _launch_queries(platform, Client(), sub=new_sub())
    assert first <= 12


def test_returning_launch_and_page_view_query_budget(platform):
    client = Client()
    sub = new_sub()
    _launch_queries(platform, client, sub=sub)
    queries, response = _launch_queries(platform, client, sub=sub)
    assert queries <= 8
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(response["Location"], secure=True)
    assert page.status_code == 200
    assert len(ctx.captured_queries) <= 2


def test_group_page_of_another_course_is_404(platform, tenants):
    client = Client()
    _launch_queries(platform, client, sub=new_sub())
    other = Group.objects.create(workspace=tenants[1].workspace, name="Other course")
    assert client.get(f"/groups/{other.uuid}/", secure=True).status_code == 404
    assert client.get("/groups/00000000-0000-0000-0000-000000000000/", secure=True).status_code == 404


def test_group_page_without_session_asks_to_open_from_canvas(client, db, tenants):
    group = Group.objects.create(workspace=tenants[0].workspace, name="Course")
    response = client.get(f"/groups/{group.uuid}/", secure=True)
    assert response.status_code == 403
    assert b"open the course assistant from Canvas" in response.content


def test_tool_key_rotation_is_staged(db):
    first = tool_key_ensure()
    assert [k["kid"] for k in tool_jwks()["keys"]] == [first.kid]
    published = tool_key_rotate()
    (next_kid,) = published
    assert published[next_kid] == "published"
    assert ToolKey.objects.get(kid=first.kid).status == ToolKey.Status.ACTIVE
    assert {k["kid"] for k in tool_jwks()["keys"]} == {first.kid, next_kid}
    promoted = tool_key_rotate()
    assert promoted == {first.kid: "retired", next_kid: "activated"}
    assert {k["kid"] for k in tool_jwks()["keys"]} == {first.kid, next_kid}
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM integrations_toolkey LIMIT 1")
        assert cursor.fetchone()[0].startswith("enc1:")


def test_tool_jwks_endpoint_publishes_public_keys_only(client, db):
    tool_key_ensure()
    body = client.get("/.well-known/jwks.json", secure=True).json()
    assert len(body["keys"]) == 1
    assert set(body["keys"][0]) == {"kty", "alg", "use", "kid", "e", "n"}


def test_canvas_developer_key_json(client, platform):
    registration = LtiRegistration.objects.get()
    config = client.get(f"/lti/registrations/{registration.uuid}/canvas-config.json", secure=True).json()
    assert config["oidc_initiation_url"] == "https://tool.test/lti/login/"
    assert config["target_link_uri"] == "https://tool.test/lti/launch/"
    assert config["public_jwk_url"] == "https://tool.test/.well-known/jwks.json"
    assert config["custom_fields"] == {
        "canvas_course_id": "$Canvas.course.id",
        "canvas_user_id": "$Canvas.user.id",
        "canvas_api_base_url": "$Canvas.api.baseUrl",
        "canvas_section_ids": "$Canvas.course.sectionIds",
    }
    (extension,) = config["extensions"]
    assert extension["privacy_level"] == "public"
    assert extension["settings"]["placements"][0]["placement"] == "course_navigation"
    assert client.get("/lti/registrations/00000000-0000-0000-0000-000000000000/canvas-config.json").status_code == 404


def test_lti_register_command_creates_registration_and_approved_deployment(db, tenants, capsys):
    call_command(
        "lti_register",
        "--workspace",
        "alpha",
        "--issuer",
        "https://canvas.instructure.com",
        "--client-id",
        "170000000000559",
        "--auth-url",
        "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--jwks-url",
        "https://sso.canvaslms.com/api/lti/security/jwks",
        "--token-url",
        "https://sso.canvaslms.com/login/oauth2/token",
        "--deployment-id",
        "12:abc",
    )
    registration = LtiRegistration.objects.get(client_id="170000000000559")
    assert registration.workspace == tenants[0].workspace
    assert LtiDeployment.objects.get(registration=registration).status == LtiDeployment.Status.APPROVED


def test_lti_register_refuses_a_client_id_of_another_workspace(db, tenants):
    from django.core.management.base import CommandError

    args = [
        "--issuer",
        "https://canvas.instructure.com",
        "--client-id",
        "170000000000559",
        "--auth-url",
        "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--jwks-url",
        "https://sso.canvaslms.com/api/lti/security/jwks",
        "--token-url",
        "https://sso.canvaslms.com/login/oauth2/token",
    ]
    call_command("lti_register", "--workspace", "alpha", *args)
    with pytest.raises(CommandError, match="another workspace"):
        call_command("lti_register", "--workspace", "beta", *args)
    assert LtiRegistration.objects.count() == 1


def test_admin_registration_form_fills_canvas_preset_and_refuses_a_taken_client_id(db, tenants):
    alpha, beta = tenants
    owner_a, owner_b = Client(), Client()
    owner_a.force_login(alpha.owner)
    owner_b.force_login(beta.owner)
    data = {
        "workspace": alpha.workspace.pk,
        "name": "Canvas",
        "preset": "canvas_cloud",
        "client_id": "170000000000559",
        "extra_frame_origins": "https://alpha.instructure.com",
        "is_active": "on",
    }
    response = owner_a.post("/admin/integrations/ltiregistration/add/", data, secure=True)
    assert response.status_code == 302, response.content[:2000]
    registration = LtiRegistration.objects.get()
    assert registration.issuer == "https://canvas.instructure.com"
    assert registration.jwks_url == "https://sso.canvaslms.com/api/lti/security/jwks"
    alpha.workspace.refresh_from_db()
    assert alpha.workspace.frame_origins == ["https://alpha.instructure.com"]
    response = owner_b.post(
        "/admin/integrations/ltiregistration/add/", data | {"workspace": beta.workspace.pk}, secure=True
    )
    assert response.status_code == 200
    assert b"already registered for this issuer" in response.content
    assert LtiRegistration.objects.count() == 1


def test_test_platform_launch_works_through_the_real_flow(settings, db, tenants):
    """The built-in test platform, driven like a browser would."""
    from integrations.lti import test_platform
    from workspaces.management.commands.seed_demo import Command

    settings.LTI_TEST_PLATFORM_ENABLED = True
    Command()._test_platform(tenants[0].workspace)
    client = Client()
    start = client.post("/lti/test-platform/start/", {"role": "instructor"}, secure=True)
    fields = _form_fields(start.content.decode())
    login = client.post("/lti/login/", fields, secure=True)
    auth_url = json.loads(login.content.decode().split('type="application/json">')[1].split("</script>")[0])
    path, query = auth_url.split("tool.test", 1)[1].split("?", 1)
    # The test platform's JWKS is served by this same app: let the key fetch reach it.
    import httpx

    def fake_get(url, **kwargs):
        response = client.get(url.split("tool.test", 1)[1], secure=True)
        return httpx.Response(200, json=response.json(), request=httpx.Request("GET", url))

    authorize = client.get(f"{path}?{query}", secure=True)
    launch_fields = _form_fields(authorize.content.decode())
    import unittest.mock

    with unittest.mock.patch("integrations.lti.platform_keys.httpx.get", fake_get):
        launch = client.post("/lti/launch/", launch_fields, secure=True)
    assert launch.status_code == 302
    group = Group.objects.get(lms_context_id="test-platform-course-101")
    membership = GroupMembership.objects.get(group=group)
    assert membership.role == "owner"
    assert test_platform.CLIENT_ID == LtiRegistration.objects.get().client_id


def _form_fields(html: str) -> dict:
    import re

    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_expired_login_attempts_are_purged(client, platform):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import LoginAttempt
    from integrations.tasks import purge_login_attempts

    platform.login(client)
    platform.login(client)
    LoginAttempt.objects.filter(pk=LoginAttempt.objects.first().pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    assert purge_login_attempts.delay().get() == 1
    assert LoginAttempt.objects.count() == 1


def test_self_hosted_canvas_with_the_default_issuer_keeps_its_own_endpoints(db, tenants):
    # A self-hosted Canvas keeps lti_iss = https://canvas.instructure.com unless changed.
    from integrations.services import registration_save

    registration = registration_save(
        registration=LtiRegistration(
            workspace=tenants[0].workspace,
            preset=LtiRegistration.Preset.OTHER,
            issuer="https://canvas.instructure.com",
            client_id="10000000000002",
            auth_url="https://canvas.school.edu/api/lti/authorize_redirect",
            jwks_url="https://canvas.school.edu/api/lti/security/jwks",
            token_url="https://canvas.school.edu/login/oauth2/token",
        )
    )
    assert registration.jwks_url == "https://canvas.school.edu/api/lti/security/jwks"
    assert registration.auth_url == "https://canvas.school.edu/api/lti/authorize_redirect"


def test_tool_jwks_of_a_new_installation_publishes_a_first_key(client, db):
    body = client.get("/.well-known/jwks.json", secure=True).json()
    assert len(body["keys"]) == 1
    assert ToolKey.objects.get().status == ToolKey.Status.ACTIVE


def test_registration_created_by_command_is_audited(db, tenants):
    from privacy.models import AuditEntry

    call_command(
        "lti_register",
        "--workspace",
        "alpha",
        "--issuer",
        "https://lms.example.edu",
        "--client-id",
        "42",
        "--auth-url",
        "https://lms.example.edu/auth",
        "--jwks-url",
        "https://lms.example.edu/jwks",
        "--token-url",
        "https://lms.example.edu/token",
    )
    entry = AuditEntry.objects.get(action="lti.registration.created")
    assert entry.workspace == tenants[0].workspace
    assert entry.details["client_id"] == "42"
