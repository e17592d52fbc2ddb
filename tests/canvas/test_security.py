"""Security regressions: the stored client secret never follows a changed instance URL or client
ID; no request reaches a non-public address (instance URL, token endpoint, file-store redirects,
DNS rebinding); Test connection says only "could not reach Canvas"; failed token exchanges leak
no secret or token into the admin message, the audit log or the logs."""

import logging
import socket
from types import SimpleNamespace

import httpx
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations.canvas import client as canvas
from integrations.canvas import services
from integrations.canvas.models import CanvasConnection
from integrations.canvas.services import canvas_client_for
from privacy.models import AuditEntry
from tests.canvas.conftest import make_connection

pytestmark = pytest.mark.django_db

PUBLIC_IP = "93.184.216.34"
PUBLIC_ERROR = "The Canvas address must be a public address on the internet."
NON_PUBLIC_URLS = [
    "https://10.0.0.5",
    "https://172.16.0.1",
    "https://192.168.1.10",
    "https://169.254.169.254",
    "https://100.64.0.1",
    "https://0.0.0.0",
    "https://127.0.0.1",
    "https://[::1]",
    "https://[fe80::1]",
    "https://[fd00::1]",
    "https://[::ffff:10.0.0.5]",
    "https://localhost:6379",
    "https://2130706433",  # 127.0.0.1 written as a number
    "https://intranet.school.example",  # a name that resolves to a private address
]

# make_connection's fake for rows that never reach the fake Canvas.
UNUSED = SimpleNamespace(
    url="https://unused.invalid",
    state=SimpleNamespace(
        client_id="10000000000042",
        client_secret="s3cret",
        issue_token=lambda: "1~token",
        issue_refresh_token=lambda: "refresh",
    ),
)


@pytest.fixture
def dns(monkeypatch):
    """A resolver for the tests: names in the table resolve to their addresses (a list of lists
    answers one list per lookup, for rebinding); everything else goes to the real resolver."""
    table: dict[str, list] = {"intranet.school.example": ["10.1.2.3"]}
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        answer = table[host]
        addresses = answer.pop(0) if answer and isinstance(answer[0], list) else answer
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 443))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return table


@pytest.fixture
def no_loopback(settings):
    settings.CANVAS_ALLOW_LOOPBACK_HTTP = False
    return settings


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def texts(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


class Recorder:
    """A transport that records what reached it (nothing must, when a guard refuses)."""

    def __init__(self, handler=None):
        self.seen: list[str] = []
        self.handler = handler or (lambda request: httpx.Response(200, json={"id": 42, "name": "X"}))

    def __call__(self, request):
        self.seen.append(str(request.url))
        return self.handler(request)

    def transport(self):
        return httpx.MockTransport(self)


# --- 1. the client secret never follows a changed instance URL or client ID ---------------------
@pytest.mark.parametrize(
    "change",
    [{"instance_url": "https://canvas.attacker.example"}, {"client_id": "10000000000099"}],
    ids=["instance_url", "client_id"],
)
def test_changing_url_or_client_id_requires_the_secret_again(tenants, fake_canvas, dns, change):
    dns["canvas.attacker.example"] = [PUBLIC_IP]
    connection = make_connection(tenants[0].workspace, fake_canvas)
    before = CanvasConnection.objects.values().get(pk=connection.pk)
    url = reverse("admin:integrations_canvasconnection_change", args=[connection.pk])
    form = {"instance_url": fake_canvas.url, "client_id": fake_canvas.state.client_id, **change}
    browser = logged_in(tenants[0].editor)

    response = browser.post(url, form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"new_client_secret": [services.SECRET_AGAIN]}
    assert CanvasConnection.objects.values().get(pk=connection.pk) == before  # nothing saved
    assert not AuditEntry.objects.filter(action="canvas.connection_changed").exists()

    # Authorize still goes to the stored address with the stored client ID.
    location = browser.post(reverse("admin:integrations_canvas_authorize", args=[connection.pk]))["Location"]
    assert location.startswith(f"{fake_canvas.url}/login/oauth2/auth?client_id={fake_canvas.state.client_id}&")

    # With the secret entered again the change is saved and the old key's tokens are dropped.
    assert browser.post(url, {**form, "new_client_secret": "the-new-secret"}).status_code == 302
    connection.refresh_from_db()
    assert connection.client_secret == "the-new-secret"
    assert (connection.instance_url, connection.client_id) == (form["instance_url"], form["client_id"])
    assert (connection.access_token, connection.refresh_token, connection.token_expires_at) == ("", "", None)
    assert connection.status == CanvasConnection.Status.NOT_AUTHORIZED


def test_service_refuses_a_changed_url_without_the_secret(tenants, fake_canvas, dns):
    dns["canvas.attacker.example"] = [PUBLIC_IP]
    connection = make_connection(tenants[0].workspace, fake_canvas)
    before = CanvasConnection.objects.values().get(pk=connection.pk)
    connection.instance_url = "https://canvas.attacker.example"

    with pytest.raises(ValueError) as info:
        services.canvas_connection_save(connection=connection, actor=tenants[0].editor)

    assert str(info.value) == services.SECRET_AGAIN
    assert CanvasConnection.objects.values().get(pk=before["id"]) == before
    assert not AuditEntry.objects.filter(action="canvas.connection_changed").exists()


def test_same_url_in_another_spelling_keeps_the_secret(tenants, dns):
    dns["alpha.instructure.com"] = [PUBLIC_IP]
    connection = services.canvas_connection_save(
        connection=CanvasConnection(
            workspace=tenants[0].workspace, instance_url="https://alpha.instructure.com", client_id="10000000000042"
        ),
        new_secret="kept-secret",
    )
    url = reverse("admin:integrations_canvasconnection_change", args=[connection.pk])
    form = {"instance_url": "https://Alpha.Instructure.com/", "client_id": "10000000000042", "use_pkce": "on"}
    assert logged_in(tenants[0].owner).post(url, form).status_code == 302
    connection.refresh_from_db()
    assert (connection.client_secret, connection.use_pkce) == ("kept-secret", True)


# --- 2. no request reaches a non-public address -------------------------------------------------
@pytest.mark.parametrize("url", [u for u in NON_PUBLIC_URLS if u != "https://2130706433"])  # URLField refuses that
def test_admin_refuses_a_non_public_instance_url(tenants, dns, no_loopback, url):
    response = logged_in(tenants[0].owner).post(
        reverse("admin:integrations_canvasconnection_add"),
        {"workspace": tenants[0].workspace.pk, "instance_url": url, "client_id": "1", "new_client_secret": "s"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"instance_url": [PUBLIC_ERROR]}
    assert not CanvasConnection.objects.exists()


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
def test_service_refuses_a_non_public_instance_url(tenants, dns, no_loopback, url):
    with pytest.raises(ValueError, match=PUBLIC_ERROR):
        services.canvas_connection_save(
            connection=CanvasConnection(workspace=tenants[0].workspace, instance_url=url, client_id="1"),
            new_secret="s",
        )
    assert not CanvasConnection.objects.exists()


@pytest.mark.parametrize("url", ["https://10.0.0.5", "https://169.254.169.254", "https://intranet.school.example"])
def test_private_addresses_stay_refused_with_loopback_allowed(tenants, dns, url):
    with pytest.raises(ValueError, match=PUBLIC_ERROR):
        services.canvas_connection_save(
            connection=CanvasConnection(workspace=tenants[0].workspace, instance_url=url, client_id="1"),
            new_secret="s",
        )
    assert not CanvasConnection.objects.exists()


def test_loopback_is_accepted_when_allowed(tenants, fake_canvas):
    response = logged_in(tenants[0].owner).post(
        reverse("admin:integrations_canvasconnection_add"),
        {
            "workspace": tenants[0].workspace.pk,
            "instance_url": fake_canvas.url,
            "client_id": "1",
            "new_client_secret": "s",
        },
    )
    assert response.status_code == 302
    assert CanvasConnection.objects.get().instance_url == fake_canvas.url


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
def test_rest_calls_to_a_non_public_address_are_refused_before_sending(tenants, dns, no_loopback, url):
    # A row saved before the check existed (or whose name now resolves elsewhere).
    connection = make_connection(tenants[0].workspace, UNUSED, instance_url=url)
    recorder = Recorder()
    with canvas_client_for(connection, transport=recorder.transport()) as api:
        with pytest.raises(canvas.CanvasAddressRefused) as info:
            api.get_self()
    assert str(info.value) == "could not reach Canvas"
    assert recorder.seen == []


@pytest.mark.parametrize("call", ["exchange", "refresh", "revoke"])
@pytest.mark.parametrize(
    "url", ["https://169.254.169.254", "https://localhost:6379", "https://intranet.school.example"]
)
def test_token_endpoint_calls_to_a_non_public_address_are_refused(dns, no_loopback, call, url):
    recorder = Recorder()
    common = {"base_url": url, "transport": recorder.transport()}
    with pytest.raises(canvas.CanvasAddressRefused):
        if call == "exchange":
            canvas.oauth_exchange_code(
                client_id="1", client_secret="the-secret", redirect_uri="https://t/cb", code="c", **common
            )
        elif call == "refresh":
            canvas.oauth_refresh(client_id="1", client_secret="the-secret", refresh_token="r", **common)
        else:
            canvas.oauth_revoke(access_token="t", **common)
    assert recorder.seen == []


def test_dns_rebinding_between_check_and_connect_is_refused(tenants, fake_canvas, dns, no_loopback):
    # The request hook sees a public address, the connection would go to 127.0.0.1: the
    # connect-time check (the address connected to is the address checked) refuses it.
    dns["rebind.school.example"] = [[PUBLIC_IP], ["127.0.0.1"]]
    connection = make_connection(tenants[0].workspace, fake_canvas, instance_url="https://rebind.school.example")
    with canvas_client_for(connection) as api, pytest.raises(canvas.CanvasAddressRefused):
        api.get_self()
    assert fake_canvas.state.log == []


def test_connect_time_check_refuses_non_public_addresses(dns, no_loopback):
    backend = canvas._PublicOnlyBackend()
    for host in ("10.0.0.5", "169.254.169.254", "::1", "127.0.0.1", "intranet.school.example"):
        with pytest.raises(canvas.CanvasAddressRefused):
            backend.connect_tcp(host, 443, timeout=0.5)


# file downloads: redirects to the file store
FILE_URL = "https://school.instructure.com/files/9/download?download_frd=1&verifier=v"


def download_with_redirect(tenants, dns, location, *, store=None):
    """Download FILE_URL from a mocked public Canvas that redirects to ``location``."""
    dns["school.instructure.com"] = [PUBLIC_IP]

    def handler(request):
        if request.url.host == "school.instructure.com":
            return httpx.Response(302, headers={"Location": location})
        return (store or (lambda r: httpx.Response(200, content=b"file body")))(request)

    recorder = Recorder(handler)
    connection = make_connection(tenants[0].workspace, UNUSED, instance_url="https://school.instructure.com")
    with canvas_client_for(connection, transport=recorder.transport()) as api:
        try:
            return api.download_file(FILE_URL, max_bytes=1000), recorder.seen
        except canvas.CanvasError as exc:
            return exc, recorder.seen


def test_file_store_redirect_to_a_public_https_host_is_followed(tenants, dns, no_loopback):
    dns["files.instructure-uploads.example"] = [PUBLIC_IP]
    body, seen = download_with_redirect(tenants, dns, "https://files.instructure-uploads.example/x?sig=1")
    assert body == b"file body"
    assert seen == [FILE_URL, "https://files.instructure-uploads.example/x?sig=1"]


@pytest.mark.parametrize(
    "location",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/internal",
        "https://[::1]:6379/",
        "https://localhost:6379/",
        "https://intranet.school.example/secret",
    ],
)
def test_file_store_redirect_to_a_non_public_address_is_refused(tenants, dns, no_loopback, location):
    result, seen = download_with_redirect(tenants, dns, location)
    assert isinstance(result, canvas.CanvasAddressRefused)
    assert str(result) == "could not reach Canvas"
    assert seen == [FILE_URL]  # the hop never left


def test_file_store_redirect_must_be_https(tenants, dns, no_loopback):
    dns["files.instructure-uploads.example"] = [PUBLIC_IP]
    result, seen = download_with_redirect(tenants, dns, "http://files.instructure-uploads.example/x")
    assert isinstance(result, canvas.CanvasRequestRefused)
    assert str(result) == "refused: file store redirect is not https"
    assert seen == [FILE_URL]


def test_a_public_hop_redirecting_to_an_internal_one_is_refused(tenants, dns, no_loopback):
    dns["files.instructure-uploads.example"] = [PUBLIC_IP]

    def store(request):
        return httpx.Response(302, headers={"Location": "https://169.254.169.254/latest/meta-data/"})

    result, seen = download_with_redirect(tenants, dns, "https://files.instructure-uploads.example/x", store=store)
    assert isinstance(result, canvas.CanvasAddressRefused)
    assert seen == [FILE_URL, "https://files.instructure-uploads.example/x"]


def test_file_store_redirects_are_bounded(tenants, dns, no_loopback):
    dns["files.instructure-uploads.example"] = [PUBLIC_IP]
    hops = iter(range(1, 100))

    def store(request):  # redirects forever, to a new public URL each time
        return httpx.Response(302, headers={"Location": f"https://files.instructure-uploads.example/{next(hops)}"})

    result, seen = download_with_redirect(tenants, dns, "https://files.instructure-uploads.example/0", store=store)
    assert isinstance(result, canvas.CanvasPermanentError)
    assert str(result) == "too many redirects on a file download"
    assert seen == [FILE_URL, *(f"https://files.instructure-uploads.example/{n}" for n in range(canvas.MAX_REDIRECTS))]


# Test connection: one message for every network condition
def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("where", ["private", "metadata", "unresolvable", "closed_port"])
def test_test_connection_says_only_could_not_reach_canvas(tenants, dns, where):
    url = {
        "private": "https://10.0.0.5",
        "metadata": "https://169.254.169.254",
        "unresolvable": "https://no-such-canvas.invalid",
        "closed_port": _closed_port_url(),
    }[where]
    connection = make_connection(tenants[0].workspace, UNUSED, instance_url=url)

    response = logged_in(tenants[0].editor).post(reverse("admin:integrations_canvas_test", args=[connection.pk]))

    assert texts(response) == ["Canvas test failed: could not reach Canvas."]
    connection.refresh_from_db()
    assert connection.last_error == "could not reach Canvas"


# --- 3. no secret or token in admin messages, audit entries or logs ------------------------------
@pytest.fixture
def fresh(tenants, fake_canvas):
    return make_connection(
        tenants[0].workspace,
        fake_canvas,
        status=CanvasConnection.Status.NOT_AUTHORIZED,
        access_token="",
        refresh_token="",
        token_expires_at=None,
    )


@pytest.mark.parametrize(
    "answer, expected",
    [
        (
            {"error": "invalid_grant", "error_description": "code {code} for secret {secret} not found"},
            "Canvas authorization failed: Canvas refused the grant (code [redacted] for secret [redacted] not found)",
        ),
        ({"error": "{secret}", "error_description": ""}, "Canvas authorization failed: Canvas token endpoint said 400"),
        ({"error": "invalid_client", "error_description": "{secret}"}, None),  # the fixed invalid-client text
    ],
)
def test_failed_token_exchange_leaks_no_secret_or_token(tenants, fresh, fake_canvas, caplog, answer, expected):
    caplog.set_level(logging.DEBUG)
    state = fake_canvas.state
    browser = logged_in(tenants[0].owner)
    location = browser.post(reverse("admin:integrations_canvas_authorize", args=[fresh.pk]))["Location"]
    code, oauth_state = state.consent(location)
    secret = state.client_secret
    body = {k: v.format(code=code, secret=secret) for k, v in answer.items()}
    state.fail(r"/login/oauth2/token", 401 if answer["error"] == "invalid_client" else 400, body, method="POST")

    response = browser.get("/canvas/oauth/callback", {"code": code, "state": oauth_state})

    messages = texts(response)
    if expected is None:
        expected = (
            "Canvas rejected the client ID or client secret. Copy both again from the API developer key "
            "(Admin › Developer Keys), save, and authorize again."
        )
    assert messages == [expected]
    fresh.refresh_from_db()
    assert fresh.last_error == expected
    entries = list(AuditEntry.objects.filter(workspace=tenants[0].workspace).values("action", "target", "details"))
    assert [e["action"] for e in entries] == ["canvas.oauth_failed"]
    secrets_ = {secret, code, *state.valid_tokens, *state.refresh_tokens}
    shown = [*messages, fresh.last_error, str(entries), caplog.text]
    assert not [s for s in secrets_ for text in shown if s in text]
