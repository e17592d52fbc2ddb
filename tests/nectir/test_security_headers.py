"""Cookies fit for Canvas's iframe, framing denied where not meant, CSRF still enforced.

The test settings use an https PUBLIC_BASE_URL, so cookies are ``SameSite=None; Secure``
and must also be ``Partitioned`` (CHIPS) for browsers that block third-party cookies.
"""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from nectir.middleware import FramingPolicyMiddleware, PartitionedCookieMiddleware

LOGIN = "/admin/login/"


def attributes(morsel) -> list[str]:
    """The Set-Cookie attributes after name=value, as sent on the wire."""
    return [part.strip() for part in morsel.OutputString().split(";")[1:]]


@pytest.fixture
def owner(tenants):
    return tenants[0].owner


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def get_login_form(client):
    response = client.get(LOGIN, secure=True)
    assert response.status_code == 200
    return response, response.cookies[settings.CSRF_COOKIE_NAME].value


def test_csrf_cookie_is_samesite_none_secure_partitioned(db):
    response, _token = get_login_form(csrf_client())
    cookie = response.cookies["csrftoken"]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == ("None", True, True)
    assert "Partitioned" in attributes(cookie)


def test_session_cookie_is_samesite_none_secure_partitioned(owner):
    client = csrf_client()
    _response, token = get_login_form(client)
    response = client.post(
        LOGIN,
        {"username": owner.username, "password": "pw-owner", "csrfmiddlewaretoken": token, "next": "/admin/"},
        secure=True,
        HTTP_ORIGIN="https://testserver",
    )
    assert response.status_code == 302
    cookie = response.cookies["nectir_session"]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == ("None", True, True)
    assert "Partitioned" in attributes(cookie)
    assert client.get("/admin/", secure=True).status_code == 200


def test_partitioned_attribute_appears_once(db):
    response, _token = get_login_form(csrf_client())
    assert attributes(response.cookies["csrftoken"]).count("Partitioned") == 1


def _cookie_response(samesite, secure):
    def view(request):
        response = HttpResponse("ok")
        response.set_cookie("probe", "1", samesite=samesite, secure=secure)
        return response

    return view


@pytest.mark.parametrize(
    ("samesite", "secure", "partitioned"),
    [("None", True, True), ("Lax", True, False), ("None", False, False), (None, False, False), ("Strict", True, False)],
)
def test_partitioned_only_for_samesite_none_secure_cookies(rf, samesite, secure, partitioned):
    response = PartitionedCookieMiddleware(_cookie_response(samesite, secure))(rf.get("/"))
    assert ("Partitioned" in attributes(response.cookies["probe"])) is partitioned


def test_partitioned_also_for_cookies_set_by_outer_middleware(rf):
    """Session and CSRF middleware set their cookies after inner middleware has run."""
    response = PartitionedCookieMiddleware(lambda request: HttpResponse("ok"))(rf.get("/"))
    response.set_cookie("late", "1", samesite="None", secure=True)
    assert "Partitioned" in attributes(response.cookies["late"])


@pytest.mark.parametrize("path", [LOGIN, "/admin/", "/healthz", "/"])
def test_pages_not_meant_to_be_framed_deny_framing(client, db, path):
    response = client.get(path, secure=True)
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_framing_policy_allows_only_the_workspace_canvas_origins(rf):
    def view(request):
        response = HttpResponse("ok")
        response.frame_origins = ["https://alpha.instructure.com", "https://alpha.instructure.com"]
        return response

    response = FramingPolicyMiddleware(view)(rf.get("/"))
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://alpha.instructure.com"
    assert "X-Frame-Options" not in response


def test_admin_login_without_csrf_token_is_403(owner):
    client = csrf_client()
    get_login_form(client)
    response = client.post(
        LOGIN, {"username": owner.username, "password": "pw-owner"}, secure=True, HTTP_ORIGIN="https://testserver"
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_login_with_wrong_csrf_token_is_403(owner):
    client = csrf_client()
    get_login_form(client)
    data = {"username": owner.username, "password": "pw-owner", "csrfmiddlewaretoken": "x" * 64}
    response = client.post(LOGIN, data, secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_login_from_a_foreign_origin_is_403(owner):
    client = csrf_client()
    _response, token = get_login_form(client)
    data = {"username": owner.username, "password": "pw-owner", "csrfmiddlewaretoken": token}
    response = client.post(LOGIN, data, secure=True, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_login_with_csrf_token_signs_in(owner):
    client = csrf_client()
    _response, token = get_login_form(client)
    data = {"username": owner.username, "password": "pw-owner", "csrfmiddlewaretoken": token, "next": "/admin/"}
    response = client.post(LOGIN, data, secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(owner.pk)
