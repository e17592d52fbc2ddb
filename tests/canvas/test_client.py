"""The Canvas client against the fake Canvas: read-only by construction, pagination, throttling,
retries, typed errors, User-Agent and request counting."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from integrations.canvas import client as canvas
from integrations.canvas.models import CanvasApiRequestCount
from integrations.canvas.services import canvas_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(connection):
    with canvas_client_for(connection) as client:
        yield client


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"])
def test_no_write_method_leaves_the_client(api, fake_canvas, method):
    with pytest.raises(canvas.CanvasRequestRefused):
        api.request(method, "/api/v1/courses/370663/pages")
    assert fake_canvas.state.log == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/courses/370663/enrollments",
        "/api/v1/courses/370663/users",
        "/api/v1/courses/370663/assignments/11/submissions",
        "/api/v1/courses/370663/students/submissions",
        "/api/v1/courses/370663/discussion_topics/21/entries",
        "/api/v1/courses/370663/discussion_topics/21/view",
        "/api/v1/courses/370663/pages/../../users",
        "/login/oauth2/token",
    ],
)
def test_paths_outside_the_read_allow_list_are_refused(api, fake_canvas, path):
    with pytest.raises(canvas.CanvasRequestRefused):
        api.request("GET", path)
    assert fake_canvas.state.log == []


def test_wire_guard_refuses_writes_even_through_the_inner_httpx_client(api, fake_canvas):
    with pytest.raises(canvas.CanvasRequestRefused):
        api._http.post(f"{fake_canvas.url}/api/v1/courses/370663/pages", data={"wiki_page[title]": "x"})
    with pytest.raises(canvas.CanvasRequestRefused):
        api._http.delete(f"{fake_canvas.url}/api/v1/courses/370663")
    with pytest.raises(canvas.CanvasRequestRefused):
        api._http.get("http://127.0.0.2:9/api/v1/courses")  # another origin
    assert fake_canvas.state.log == []


def test_another_origin_is_refused_and_bad_ids_too(api, fake_canvas):
    with pytest.raises(canvas.CanvasRequestRefused):
        api.request("GET", "https://evil.example/api/v1/courses")
    with pytest.raises(canvas.CanvasRequestRefused):
        api.get_page("370663", "../users")
    with pytest.raises(canvas.CanvasRequestRefused):
        api.download_file("https://evil.example/files/1/download?verifier=x", max_bytes=10)
    assert fake_canvas.state.log == []


def test_oauth_functions_only_reach_the_token_path(fake_canvas):
    with pytest.raises(canvas.CanvasRequestRefused):
        canvas._oauth_call("GET", base_url=fake_canvas.url, workspace_id=None)
    assert fake_canvas.state.log == []


def test_pagination_follows_link_headers_with_per_page_100(api, fake_canvas):
    for n in range(1, 251):
        fake_canvas.state.add_page(n, f"Page {n:03d}", f"<p>{n}</p>")

    pages = api.list_pages("370663")

    assert [p["page_id"] for p in pages] == sorted(range(1, 251), key=lambda n: f"Page {n:03d}")
    listing = fake_canvas.state.requests_to(r"/pages$")
    assert [r["query"].get("page", ["1"])[0] for r in listing] == ["1", "2", "3"]
    assert all(r["query"]["per_page"] == ["100"] for r in listing)
    assert all("body" not in p for p in pages)


def test_a_next_link_to_another_host_makes_the_listing_incomplete(api, fake_canvas):
    fake_canvas.state.fail(
        r"/pages$", 200, [], headers={"Link": '<https://evil.example/api/v1/courses/370663/pages?page=2>; rel="next"'}
    )
    with pytest.raises(canvas.CanvasIncompleteListing):
        api.list_pages("370663")
    assert [r["path"] for r in fake_canvas.state.log] == ["/api/v1/courses/370663/pages"]


def test_page_cap_makes_the_listing_incomplete(api, fake_canvas, settings):
    settings.CANVAS_MAX_PAGES = 2
    for n in range(1, 251):
        fake_canvas.state.add_page(n, f"Page {n}", "")
    with pytest.raises(canvas.CanvasIncompleteListing):
        api.list_pages("370663")
    assert len(fake_canvas.state.log) == 2


def test_429_honours_retry_after_then_succeeds(api, fake_canvas, waits):
    fake_canvas.state.fail(r"/users/self", 429, "", headers={"Retry-After": "7"})
    assert api.get_self()["name"] == "Jimi Hendrix"
    assert 7.0 in waits
    assert len(fake_canvas.state.log) == 2
    assert api.stats.retries == 1


def test_403_rate_limit_exceeded_backs_off_with_jitter(api, fake_canvas, waits, settings):
    settings.CANVAS_BACKOFF_BASE_SECONDS = 1.0
    settings.CANVAS_BACKOFF_MAX_SECONDS = 60.0
    fake_canvas.state.fail(r"/users/self", 403, "403 Forbidden (Rate Limit Exceeded)", times=3)
    assert api.get_self()["id"] == 42
    assert len(waits) == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0


def test_a_long_retry_after_ends_as_a_retryable_error(api, fake_canvas, settings):
    settings.CANVAS_RETRY_AFTER_MAX_SECONDS = 30
    fake_canvas.state.fail(r"/users/self", 429, "", headers={"Retry-After": "3600"})
    with pytest.raises(canvas.CanvasRateLimitedError) as info:
        api.get_self()
    assert info.value.retryable and info.value.retry_after == 3600.0


def test_plain_403_is_permanent_and_not_retried(api, fake_canvas):
    fake_canvas.state.fail(r"/users/self", 403, {"status": "unauthorized"})
    with pytest.raises(canvas.CanvasForbiddenError) as info:
        api.get_self()
    assert not info.value.retryable
    assert len(fake_canvas.state.log) == 1


def test_burst_of_5xx_is_retried_then_succeeds(api, fake_canvas):
    fake_canvas.state.fail(r"/users/self", 503, "<html>maintenance</html>", times=3)
    assert api.get_self()["id"] == 42
    assert len(fake_canvas.state.log) == 4


def test_endless_5xx_gives_a_retryable_error_after_bounded_retries(api, fake_canvas, settings):
    fake_canvas.state.fail(r"/users/self", 502, "", times=100)
    with pytest.raises(canvas.CanvasUnavailableError) as info:
        api.get_self()
    assert info.value.retryable
    assert len(fake_canvas.state.log) == settings.CANVAS_MAX_RETRIES + 1


def test_timeouts_are_retried_and_typed(connection, fake_canvas, settings):
    settings.CANVAS_READ_TIMEOUT_SECONDS = 0.2
    fake_canvas.state.fail(r"/users/self", 200, {"id": 1}, delay=0.6, times=1)
    with canvas_client_for(connection) as api:
        assert api.get_self()["id"] == 42
    fake_canvas.state.fail(r"/users/self", 200, {"id": 1}, delay=0.6, times=100)
    settings.CANVAS_MAX_RETRIES = 1
    with canvas_client_for(connection) as api, pytest.raises(canvas.CanvasTimeoutError) as info:
        api.get_self()
    assert info.value.retryable


def test_html_maintenance_page_with_200_is_never_an_empty_list(api, fake_canvas):
    fake_canvas.state.fail(r"/pages$", 200, "<html>Down for maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(canvas.CanvasUnavailableError):
        api.list_pages("370663")


def test_low_rate_limit_budget_slows_down(api, fake_canvas, waits):
    fake_canvas.state.rate_remaining = 50.0
    api.get_self()
    api.get_self()
    assert len(waits) == 1 and waits[0] > 0  # the second call waited: the first reported a low budget


def test_expired_token_is_refreshed_once_and_the_old_refresh_token_kept(connection, fake_canvas):
    old_refresh = connection.refresh_token
    fake_canvas.state.expire_all_tokens()
    with canvas_client_for(connection) as api:
        assert api.get_self()["id"] == 42
    connection.refresh_from_db()
    assert connection.refresh_token == old_refresh
    assert connection.access_token in fake_canvas.state.valid_tokens
    assert len(fake_canvas.state.requests_to(r"/login/oauth2/token", "POST")) == 1
    assert connection.last_refresh_at is not None


def test_token_near_expiry_is_refreshed_before_the_call(connection, fake_canvas):
    connection.token_expires_at = timezone.now() + timedelta(seconds=30)
    connection.save()
    with canvas_client_for(connection) as api:
        api.get_self()
    assert [r["method"] for r in fake_canvas.state.log] == ["POST", "GET"]


def test_insufficient_scopes_is_permanent_and_never_refreshed(api, fake_canvas):
    fake_canvas.state.denied_scopes.add(r"/users/self")
    with pytest.raises(canvas.CanvasScopeError) as info:
        api.get_self()
    assert "url:GET|/api/v1/users/:id" in str(info.value)
    assert fake_canvas.state.requests_to(r"/login/oauth2/token", "POST") == []
    assert len(fake_canvas.state.log) == 1


def test_every_request_sends_the_user_agent_and_a_bearer_token(api, fake_canvas, settings):
    api.get_self()
    entry = fake_canvas.state.log[0]
    assert settings.PRODUCT_NAME in entry["user_agent"] and settings.CONTACT_EMAIL in entry["user_agent"]
    assert entry["auth"].startswith("Bearer 1~")
    assert "access_token" not in entry["query"]


def test_requests_are_counted_per_workspace_endpoint_and_day(connection, fake_canvas):
    fake_canvas.state.fail(r"/users/self", 503, "", times=1)
    with canvas_client_for(connection) as api:
        api.get_self()
        api.list_pages("370663")
        api.get_course("370663")
    rows = dict(
        CanvasApiRequestCount.objects.filter(workspace=connection.workspace, day=timezone.localdate()).values_list(
            "endpoint", "count"
        )
    )
    assert rows == {
        "GET /api/v1/users/:id": 2,
        "GET /api/v1/courses/:course_id/pages": 1,
        "GET /api/v1/courses/:id": 1,
    }


def test_file_download_over_the_limit_returns_none(api, fake_canvas):
    fake_canvas.state.add_file(9, "big.txt", "text/plain", b"x" * 5000)
    url = fake_canvas.state.files[9]["url"]
    assert api.download_file(url, max_bytes=1000) is None
    assert api.download_file(url, max_bytes=10_000) == b"x" * 5000


def test_transport_errors_become_typed_errors(connection, settings):
    settings.CANVAS_MAX_RETRIES = 1

    def refuse(request):
        raise httpx.ConnectError("refused")

    with canvas_client_for(connection, transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(canvas.CanvasUnavailableError) as info:
            api.get_self()
    assert info.value.retryable
