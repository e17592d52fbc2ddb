"""OAuth 2.0 authorization-code flow from the admin against the fake Canvas: happy path with and
without PKCE, tampered / replayed / foreign state, denied consent, wrong secret, disconnect."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.canvas import client as canvas
from integrations.canvas.models import CanvasConnection, CanvasOAuthState
from integrations.canvas.services import BAD_STATE
from tests.canvas.conftest import make_connection

pytestmark = pytest.mark.django_db
CALLBACK = "/canvas/oauth/callback"


@pytest.fixture
def fresh(tenants, fake_canvas):
    """Alpha's connection as an Owner leaves it after saving the three fields: not authorized."""
    return make_connection(
        tenants[0].workspace,
        fake_canvas,
        status=CanvasConnection.Status.NOT_AUTHORIZED,
        access_token="",
        refresh_token="",
        token_expires_at=None,
        canvas_user_id="",
        canvas_user_name="",
        scopes=[],
    )


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def authorize(browser, connection) -> str:
    response = browser.post(reverse("admin:integrations_canvas_authorize", args=[connection.pk]))
    assert response.status_code == 302
    return response["Location"]


def texts(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def raw_column(pk: int, column: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_canvasconnection WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_authorize_sends_the_exact_scopes_state_and_redirect_uri(tenants, fresh, fake_canvas):
    location = authorize(logged_in(tenants[0].owner), fresh)
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake_canvas.url}/login/oauth2/auth"
    assert query["client_id"] == fake_canvas.state.client_id
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "https://tool.test/canvas/oauth/callback"
    assert query["scope"].split(" ") == list(canvas.SCOPES)
    assert all(scope.startswith("url:GET|/api/v1/") for scope in query["scope"].split(" "))
    assert len(query["state"]) >= 40
    assert "code_challenge" not in query
    assert fake_canvas.state.log == []  # the browser goes to Canvas, we send nothing


def test_full_flow_stores_encrypted_tokens_expiry_and_canvas_user(tenants, fresh, fake_canvas):
    browser = logged_in(tenants[0].editor)
    code, state = fake_canvas.state.consent(authorize(browser, fresh))

    response = browser.get(CALLBACK, {"code": code, "state": state})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:integrations_canvasconnection_change", args=[fresh.pk])
    assert response["Referrer-Policy"] == "no-referrer"
    assert texts(response) == ["Connected to Canvas as Jimi Hendrix."]
    fresh.refresh_from_db()
    assert fresh.status == CanvasConnection.Status.CONNECTED
    assert fresh.access_token in fake_canvas.state.valid_tokens
    assert fresh.refresh_token in fake_canvas.state.refresh_tokens
    assert (fresh.canvas_user_id, fresh.canvas_user_name) == ("42", "Jimi Hendrix")
    assert 3590 <= (fresh.token_expires_at - timezone.now()).total_seconds() <= 3600
    assert fresh.scopes == list(canvas.SCOPES)
    assert fresh.authorized_by == tenants[0].editor
    for column in ("access_token", "refresh_token", "client_secret"):
        assert raw_column(fresh.pk, column).startswith("enc1:")
    token_call = fake_canvas.state.requests_to(r"/login/oauth2/token", "POST")
    assert len(token_call) == 1 and token_call[0]["query"] == {}  # secrets in the body, never the URL


def test_replayed_state_is_refused(tenants, fresh, fake_canvas):
    browser = logged_in(tenants[0].owner)
    code, state = fake_canvas.state.consent(authorize(browser, fresh))
    assert browser.get(CALLBACK, {"code": code, "state": state}).status_code == 302
    token_before = CanvasConnection.objects.get(pk=fresh.pk).access_token

    replay = browser.get(CALLBACK, {"code": code, "state": state})

    assert replay["Location"] == reverse("admin:integrations_canvasconnection_changelist")
    assert texts(replay)[-1] == BAD_STATE
    assert CanvasConnection.objects.get(pk=fresh.pk).access_token == token_before
    assert len(fake_canvas.state.requests_to(r"/login/oauth2/token", "POST")) == 1


def test_tampered_state_is_refused(tenants, fresh, fake_canvas):
    browser = logged_in(tenants[0].owner)
    code, state = fake_canvas.state.consent(authorize(browser, fresh))

    response = browser.get(CALLBACK, {"code": code, "state": state[:-2] + "xy"})

    assert texts(response) == [BAD_STATE]
    assert CanvasConnection.objects.get(pk=fresh.pk).status == CanvasConnection.Status.NOT_AUTHORIZED
    assert fake_canvas.state.requests_to(r"/login/oauth2/token", "POST") == []


def test_state_from_another_admin_session_is_refused(tenants, fresh, fake_canvas):
    code, state = fake_canvas.state.consent(authorize(logged_in(tenants[0].owner), fresh))
    # Same user, another browser (session): the state is bound to the session that started it.
    other_browser = logged_in(tenants[0].owner)
    assert texts(other_browser.get(CALLBACK, {"code": code, "state": state})) == [BAD_STATE]
    # Another user of the workspace.
    assert texts(logged_in(tenants[0].editor).get(CALLBACK, {"code": code, "state": state})) == [BAD_STATE]
    assert fake_canvas.state.requests_to(r"/login/oauth2/token", "POST") == []


def test_expired_state_is_refused(tenants, fresh, fake_canvas, settings):
    browser = logged_in(tenants[0].owner)
    code, state = fake_canvas.state.consent(authorize(browser, fresh))
    CanvasOAuthState.objects.update(created_at=timezone.now() - timezone.timedelta(seconds=601))
    assert texts(browser.get(CALLBACK, {"code": code, "state": state})) == [BAD_STATE]


def test_denied_consent_gives_a_clear_message(tenants, fresh, fake_canvas):
    browser = logged_in(tenants[0].owner)
    _, state = fake_canvas.state.consent(authorize(browser, fresh))

    response = browser.get(CALLBACK, {"error": "access_denied", "state": state})

    assert texts(response) == [
        "Canvas authorization was cancelled: consent was denied in Canvas, so nothing was connected."
    ]
    fresh.refresh_from_db()
    assert fresh.status == CanvasConnection.Status.NOT_AUTHORIZED and fresh.access_token == ""
    assert CanvasOAuthState.objects.get().consumed_at is not None


def test_wrong_secret_gives_a_clear_message(tenants, fresh, fake_canvas):
    browser = logged_in(tenants[0].owner)
    code, state = fake_canvas.state.consent(authorize(browser, fresh))
    fake_canvas.state.client_secret = "rotated-in-canvas"

    response = browser.get(CALLBACK, {"code": code, "state": state})

    assert texts(response) == [
        "Canvas rejected the client ID or client secret. Copy both again from the API developer key "
        "(Admin › Developer Keys), save, and authorize again."
    ]
    fresh.refresh_from_db()
    assert fresh.status == CanvasConnection.Status.CONFIG_ERROR
    assert fresh.access_token == ""


def test_pkce_sends_an_s256_challenge_and_the_verifier(tenants, fresh, fake_canvas):
    fresh.use_pkce = True
    fresh.save()
    browser = logged_in(tenants[0].owner)
    location = authorize(browser, fresh)
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    code, state = fake_canvas.state.consent(location)

    response = browser.get(CALLBACK, {"code": code, "state": state})

    assert texts(response) == ["Connected to Canvas as Jimi Hendrix."]


def test_authorize_is_post_only_and_scoped(tenants, fresh):
    assert (
        logged_in(tenants[0].owner).get(reverse("admin:integrations_canvas_authorize", args=[fresh.pk])).status_code
        == 405
    )
    assert (
        logged_in(tenants[1].owner).post(reverse("admin:integrations_canvas_authorize", args=[fresh.pk])).status_code
        == 404
    )
    assert CanvasOAuthState.objects.count() == 0


def test_refresh_token_not_found_asks_to_authorize_again(connection, fake_canvas):
    from integrations.canvas.services import canvas_client_for

    fake_canvas.state.expire_all_tokens()
    fake_canvas.state.refresh_tokens.clear()
    with canvas_client_for(connection) as api, pytest.raises(canvas.CanvasReauthRequired):
        api.get_self()
    connection.refresh_from_db()
    assert connection.status == CanvasConnection.Status.REAUTH_REQUIRED
    assert connection.last_error == (
        "Canvas no longer accepts this authorization (refresh token not found): authorize again."
    )


def test_disconnect_revokes_at_canvas_and_deletes_tokens(tenants, connection, fake_canvas):
    token = connection.access_token
    response = logged_in(tenants[0].owner).post(reverse("admin:integrations_canvas_disconnect", args=[connection.pk]))

    assert texts(response) == ["Disconnected: the token was revoked at Canvas and deleted here."]
    assert fake_canvas.state.revoked == [token]
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token, connection.token_expires_at) == ("", "", None)
    assert connection.status == CanvasConnection.Status.NOT_AUTHORIZED
    revoke = fake_canvas.state.requests_to(r"/login/oauth2/token", "DELETE")
    assert len(revoke) == 1 and revoke[0]["auth"] == f"Bearer {token}"


def test_disconnect_with_an_expired_token_refreshes_then_revokes(tenants, connection, fake_canvas):
    fake_canvas.state.expire_all_tokens()
    response = logged_in(tenants[0].owner).post(reverse("admin:integrations_canvas_disconnect", args=[connection.pk]))
    assert texts(response) == ["Disconnected: the token was revoked at Canvas and deleted here."]
    assert len(fake_canvas.state.revoked) == 1
    assert CanvasConnection.objects.get(pk=connection.pk).access_token == ""


def test_test_connection_reports_the_canvas_user(tenants, connection):
    response = logged_in(tenants[0].editor).post(reverse("admin:integrations_canvas_test", args=[connection.pk]))
    assert texts(response) == ["Canvas answered: connected as Jimi Hendrix (Canvas user 42)."]


def test_test_connection_shows_insufficient_scopes_as_configuration_error(tenants, connection, fake_canvas):
    fake_canvas.state.denied_scopes.add(r"/users/self")
    response = logged_in(tenants[0].owner).post(reverse("admin:integrations_canvas_test", args=[connection.pk]))
    assert texts(response) == [
        "Canvas test failed: Insufficient scopes on access token for GET /api/v1/users/:id: enable "
        "url:GET|/api/v1/users/:id on the developer key, then authorize again."
    ]
    connection.refresh_from_db()
    assert connection.status == CanvasConnection.Status.CONFIG_ERROR
    assert fake_canvas.state.requests_to(r"/login/oauth2/token", "POST") == []
