"""Every rejection: a readable page (400/403), the recorded reason, and nothing created."""

import time

import jwt
import pytest
from django.contrib.auth import get_user_model

from integrations.models import LaunchEvent, LtiDeployment, LtiIdentity
from tests.integrations.platform import LTI, SigningKey
from workspaces.models import Group, GroupMembership, Workspace, WorkspaceMembership

User = get_user_model()


def snapshot():
    return (
        User.objects.count(),
        Group.objects.count(),
        WorkspaceMembership.objects.count(),
        GroupMembership.objects.count(),
        LtiIdentity.objects.count(),
    )


def assert_refused(response, *, status, reason, before):
    assert response.status_code == status, response.content[:500]
    body = response.content.decode()
    assert f'<span class="code">{reason}</span>' in body
    assert "What to do:" in body
    assert "Traceback" not in body
    event = LaunchEvent.objects.order_by("-pk").first()
    assert (event.outcome, event.reason) == ("rejected", reason)
    assert snapshot() == before


def hs256_with_public_key(platform, payload):
    """The classic alg-confusion attack: HMAC keyed with the platform's public key."""
    header = {"alg": "HS256", "typ": "JWT", "kid": platform.key.kid}
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    from cryptography.hazmat.primitives import serialization

    secret = platform.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def alg_none(payload):
    import base64
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}."


TOKEN_CASES = {
    # reason: function(platform, claims) -> id_token
    "bad_signature": lambda p, c: p.sign(c, key=SigningKey(p.key.kid)),
    "unknown_kid": lambda p, c: p.sign(c, key=SigningKey("never-published")),
    "alg_not_allowed": lambda p, c: alg_none(c),
    "hs256_public_key": lambda p, c: hs256_with_public_key(p, c),
    "header_not_allowed": lambda p, c: p.sign(c, headers={"jku": "https://evil.example/jwks.json"}),
    "wrong_issuer": lambda p, c: p.sign({**c, "iss": "https://canvas.evil.example"}),
    "aud_mismatch": lambda p, c: p.sign({**c, "aud": "99999", "azp": "99999"}),
    "azp_mismatch": lambda p, c: p.sign({**c, "aud": [p.client_id, "other-client"], "azp": "other-client"}),
    "azp_missing_with_several_audiences": lambda p, c: p.sign(
        {k: v for k, v in {**c, "aud": [p.client_id, "other"]}.items() if k != "azp"}
    ),
    "expired": lambda p, c: p.sign({**c, "exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}),
    "iat_in_future": lambda p, c: p.sign({**c, "iat": int(time.time()) + 600}),
    "nonce_mismatch": lambda p, c: p.sign({**c, "nonce": "not-the-issued-nonce"}),
    "deployment_missing": lambda p, c: p.sign({k: v for k, v in c.items() if k != LTI + "deployment_id"}),
    "wrong_version": lambda p, c: p.sign({**c, LTI + "version": "1.1"}),
    "wrong_message_type": lambda p, c: p.sign({**c, LTI + "message_type": "LtiSubmissionReviewRequest"}),
    "roles_missing": lambda p, c: p.sign({k: v for k, v in c.items() if k != LTI + "roles"}),
    "context_missing": lambda p, c: p.sign({k: v for k, v in c.items() if k != LTI + "context"}),
    "resource_link_missing": lambda p, c: p.sign({k: v for k, v in c.items() if k != LTI + "resource_link"}),
    "target_link_uri_mismatch": lambda p, c: p.sign({**c, LTI + "target_link_uri": "https://tool.test/elsewhere/"}),
    "sub_missing": lambda p, c: p.sign({k: v for k, v in c.items() if k != "sub"}),
    "token_too_large": lambda p, c: p.sign({**c, "padding": "x" * 70000}),
    "malformed": lambda p, c: "not-a-jwt",
}
EXPECTED_REASON = {
    "hs256_public_key": "alg_not_allowed",
    "azp_missing_with_several_audiences": "azp_mismatch",
}
EXPECTED_STATUS = {"token_too_large": 400, "malformed": 400}


@pytest.mark.parametrize("case", list(TOKEN_CASES))
def test_launch_with_bad_token_is_refused_cleanly(client, platform, case):
    auth = platform.auth_request(platform.login(client))
    claims = platform.claims(nonce=auth["nonce"])
    before = snapshot()
    token = TOKEN_CASES[case](platform, claims)
    response = platform.launch(client, id_token=token, state=auth["state"])
    assert_refused(
        response, status=EXPECTED_STATUS.get(case, 403), reason=EXPECTED_REASON.get(case, case), before=before
    )


def test_leeway_accepts_a_token_just_expired_within_60_seconds(client, platform):
    now = int(time.time())
    response, _ = platform.full_launch(client, exp=now - 30, iat=now - 3630)
    assert response.status_code == 302


def test_replayed_id_token_is_refused_even_from_the_same_browser(client, platform):
    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"]))
    assert platform.launch(client, id_token=token, state=auth["state"]).status_code == 302
    before = snapshot()
    assert_refused(
        platform.launch(client, id_token=token, state=auth["state"]), status=403, reason="nonce_replayed", before=before
    )


def test_replayed_id_token_with_a_fresh_login_is_refused(client, platform):
    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"]))
    assert platform.launch(client, id_token=token, state=auth["state"]).status_code == 302
    fresh = platform.auth_request(platform.login(client))
    before = snapshot()
    response = platform.launch(client, id_token=token, state=fresh["state"])
    assert_refused(response, status=403, reason="nonce_mismatch", before=before)


def test_missing_state_is_refused(client, platform):
    before = snapshot()
    response = client.post("/lti/launch/", {"id_token": "x.y.z"}, secure=True)
    assert_refused(response, status=400, reason="state_missing", before=before)


def test_unknown_state_is_refused(client, platform):
    before = snapshot()
    response = platform.launch(client, id_token="x.y.z", state="never-issued")
    assert_refused(response, status=403, reason="state_unknown", before=before)


def test_state_from_another_browser_is_refused(client, platform, django_user_model):
    from django.test import Client

    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"]))
    other = Client()
    other.cookies["nectir_lti_state_someotherstate"] = "value"
    before = snapshot()
    assert_refused(
        platform.launch(other, id_token=token, state=auth["state"]), status=403, reason="state_mismatch", before=before
    )


def test_tampered_state_cookie_is_refused(client, platform):
    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"]))
    client.cookies[f"nectir_lti_state_{auth['state']}"] = "forged-browser-key"
    before = snapshot()
    assert_refused(
        platform.launch(client, id_token=token, state=auth["state"]), status=403, reason="state_mismatch", before=before
    )


def test_browser_without_cookies_gets_the_new_window_page(client, platform):
    from django.test import Client

    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce=auth["nonce"]))
    before = snapshot()
    response = platform.launch(Client(), id_token=token, state=auth["state"])
    assert_refused(response, status=403, reason="cookies_blocked", before=before)
    assert b"new window" in response.content


def test_login_page_offers_a_new_window_when_cookies_are_blocked(client, platform):
    body = platform.login(client).content.decode()
    assert 'id="blocked" hidden' in body
    assert 'target="_blank"' in body
    assert "/lti/login/?iss=" in body


@pytest.mark.parametrize(
    ("overrides", "reason", "status"),
    [
        ({"client_id": "55555"}, "unknown_client", 403),
        ({"iss": "https://unknown.example", "client_id": None}, "unknown_issuer", 403),
        ({"target_link_uri": "https://evil.example/steal"}, "target_link_uri_invalid", 400),
        ({"login_hint": None}, "login_params_missing", 400),
    ],
)
def test_bad_login_initiation_is_refused(client, platform, overrides, reason, status):
    before = snapshot()
    assert_refused(platform.login(client, **overrides), status=status, reason=reason, before=before)


def test_inactive_registration_is_refused_at_login(client, platform):
    from integrations.models import LtiRegistration

    LtiRegistration.objects.update(is_active=False)
    before = snapshot()
    assert_refused(platform.login(client), status=403, reason="registration_inactive", before=before)


def test_platform_error_response_is_shown_readably(client, platform):
    before = snapshot()
    response = client.post(
        "/lti/launch/",
        {"error": "login_required", "error_description": "Must have an active user session", "state": "s"},
        secure=True,
    )
    assert_refused(response, status=403, reason="platform_error", before=before)
    assert LaunchEvent.objects.get().detail == "login_required: Must have an active user session"


def test_malformed_body_is_refused(client, platform):
    before = snapshot()
    response = client.post(
        "/lti/launch/", data=b"\xff\xfe not a form", content_type="application/octet-stream", secure=True
    )
    assert_refused(response, status=400, reason="state_missing", before=before)


def test_launch_into_new_deployment_waits_for_approval_and_creates_nothing_else(client, platform, tenants):
    before = snapshot()
    response, _ = platform.full_launch(client, **{LTI + "deployment_id": "99:new-install"})
    assert response.status_code == 403
    assert b"waiting for approval" in response.content
    deployment = LtiDeployment.objects.get(deployment_id="99:new-install")
    assert deployment.status == LtiDeployment.Status.PENDING
    assert deployment.platform_guid == "zOUAtkfS3gI8nh5IskzlgAro1oCx3rx6SGGahiLL:canvas-lms"
    assert deployment.platform_name == "ALT+CS Lab"
    assert LaunchEvent.objects.order_by("-pk").first().reason == "deployment_pending"
    assert snapshot() == before


def test_launch_into_pending_deployment_stays_pending(client, platform):
    platform.full_launch(client, **{LTI + "deployment_id": "99:new-install"})
    before = snapshot()
    response, _ = platform.full_launch(client, **{LTI + "deployment_id": "99:new-install"})
    assert response.status_code == 403
    assert LtiDeployment.objects.filter(deployment_id="99:new-install").count() == 1
    assert snapshot() == before


def test_new_deployment_is_approved_automatically_when_the_workspace_says_so(client, platform, tenants):
    Workspace.objects.filter(pk=tenants[0].workspace.pk).update(deployment_approval="automatic")
    response, _ = platform.full_launch(client, **{LTI + "deployment_id": "99:new-install"})
    assert response.status_code == 302
    assert LtiDeployment.objects.get(deployment_id="99:new-install").status == LtiDeployment.Status.APPROVED


def test_disabled_deployment_is_refused(client, platform):
    LtiDeployment.objects.update(status=LtiDeployment.Status.DISABLED)
    auth = platform.auth_request(platform.login(client))
    before = snapshot()
    response = platform.launch(
        client, id_token=platform.sign(platform.claims(nonce=auth["nonce"])), state=auth["state"]
    )
    assert_refused(response, status=403, reason="deployment_disabled", before=before)


def test_rejection_page_can_be_framed_by_the_workspace_canvas_only(client, platform):
    auth = platform.auth_request(platform.login(client))
    response = platform.launch(client, id_token="a.b.c", state=auth["state"])
    csp = response["Content-Security-Policy"]
    assert csp.startswith("frame-ancestors 'self'")
    assert "*" not in csp


def test_jwt_library_refuses_none_even_if_asked(platform):
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(alg_none({"a": 1}), key="", algorithms=["RS256"])


def test_refusal_after_registration_is_known_is_visible_to_that_workspace(client, platform, tenants):
    from integrations.models import LtiRegistration

    LtiRegistration.objects.update(is_active=False)
    platform.login(client)
    assert LaunchEvent.objects.get().workspace == tenants[0].workspace


def test_oversized_request_body_gets_a_readable_page(client, platform):
    response = client.post("/lti/launch/", {"id_token": "x" * (3 * 1024 * 1024), "state": "s"}, secure=True)
    assert response.status_code == 400
    assert b"Bad request" in response.content
    assert snapshot() == (4 * 2, 0, 3 * 2, 0, 0)


@pytest.mark.parametrize("field", ["iss", "login_hint", "target_link_uri"])
def test_nul_bytes_in_login_parameters_are_refused_cleanly(client, platform, field):
    response = platform.login(client, **{field: "abc\x00def"})
    # NUL is dropped (PostgreSQL refuses it): a bad issuer or target is refused, a hint goes on.
    assert response.status_code == {"iss": 403, "login_hint": 200, "target_link_uri": 400}[field]
    assert b"Traceback" not in response.content


@pytest.mark.parametrize("field", ["state", "error", "id_token"])
def test_nul_bytes_in_launch_parameters_are_refused_cleanly(client, platform, field):
    response = client.post("/lti/launch/", {"state": "s", "id_token": "a.b.c", field: "x\x00y"}, secure=True)
    assert response.status_code in (400, 403)
    assert b"What to do:" in response.content


def test_login_page_is_not_framed_by_a_foreign_origin(client, platform):
    response = client.post(
        "/lti/login/",
        {
            "iss": platform.issuer,
            "login_hint": "h",
            "client_id": platform.client_id,
            "target_link_uri": "https://tool.test/lti/launch/",
        },
        secure=True,
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 200
    assert "evil.example" not in response["Content-Security-Policy"]


def test_login_page_is_framed_by_the_platform_institution_host(client, platform):
    from integrations.models import LtiRegistration

    LtiRegistration.objects.update(issuer="https://canvas.instructure.com")
    response = client.post(
        "/lti/login/",
        {
            "iss": "https://canvas.instructure.com",
            "login_hint": "h",
            "client_id": platform.client_id,
            "target_link_uri": "https://tool.test/lti/launch/",
        },
        secure=True,
        HTTP_ORIGIN="https://school.instructure.com",
    )
    assert "https://school.instructure.com" in response["Content-Security-Policy"]


def test_launch_url_opened_directly_explains_and_records_nothing(client, platform):
    response = client.get("/lti/launch/", secure=True)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert b"Open the course assistant from Canvas" in response.content
    assert LaunchEvent.objects.count() == 0
