"""The Canvas admin: the three fields (secret write-only), what to copy onto the developer key,
status, course links with progress, Sync now, the course picker, imported content, and tenant
isolation (404 for another workspace, 403 for too low a role, members never get in)."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations.canvas import client as canvas
from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection, CanvasCourseSync
from integrations.canvas.sync import course_sync_run
from tests.canvas.conftest import make_connection
from workspaces.models import Group

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_owner_creates_a_connection_with_three_fields_and_the_secret_is_never_shown(tenants):
    alpha = tenants[0]
    browser = logged_in(alpha.owner)
    response = browser.post(
        reverse("admin:integrations_canvasconnection_add"),
        {
            "workspace": alpha.workspace.pk,
            "instance_url": "https://Alpha.Instructure.com/",
            "client_id": "10000000000042",
            "new_client_secret": "super-secret-value",
        },
    )
    assert response.status_code == 302
    connection = CanvasConnection.objects.get(workspace=alpha.workspace)
    assert connection.instance_url == "https://alpha.instructure.com"
    assert connection.client_secret == "super-secret-value"
    assert connection.status == CanvasConnection.Status.NOT_AUTHORIZED

    page = browser.get(reverse("admin:integrations_canvasconnection_change", args=[connection.pk]))
    html = page.content.decode()
    assert "super-secret-value" not in html
    assert "https://tool.test/canvas/oauth/callback" in html
    for scope in canvas.SCOPES:
        assert scope in html
    assert "Authorize with Canvas" in html and "Test connection" in html and "Disconnect" in html


def test_saving_without_a_secret_keeps_it_and_changing_the_key_drops_tokens(tenants, fake_canvas):
    connection = make_connection(tenants[0].workspace, fake_canvas)
    browser = logged_in(tenants[0].editor)
    url = reverse("admin:integrations_canvasconnection_change", args=[connection.pk])
    assert (
        browser.post(
            url, {"instance_url": fake_canvas.url, "client_id": "10000000000042", "use_pkce": "on"}
        ).status_code
        == 302
    )
    connection.refresh_from_db()
    assert connection.client_secret == fake_canvas.state.client_secret
    assert connection.use_pkce and connection.status == CanvasConnection.Status.CONNECTED

    browser.post(url, {"instance_url": fake_canvas.url, "client_id": "10000000000099", "new_client_secret": "new"})
    connection.refresh_from_db()
    assert (connection.client_id, connection.client_secret) == ("10000000000099", "new")
    assert (connection.access_token, connection.refresh_token, connection.status) == ("", "", "not_authorized")


@pytest.mark.parametrize("url", ["ftp://canvas.example.edu", "http://canvas.example.edu", "https://x.edu/login?a=1"])
def test_instance_url_must_be_an_https_origin(tenants, url):
    response = logged_in(tenants[0].owner).post(
        reverse("admin:integrations_canvasconnection_add"),
        {"workspace": tenants[0].workspace.pk, "instance_url": url, "client_id": "1", "new_client_secret": "s"},
    )
    assert response.status_code == 200
    assert not CanvasConnection.objects.exists()


@pytest.fixture
def two_tenants(tenants, fake_canvas, course):
    """Both workspaces connected, each with a synced course link."""
    links = []
    for tenant in tenants:
        make_connection(tenant.workspace, fake_canvas)
        group = Group.objects.create(
            workspace=tenant.workspace, name=f"{tenant.workspace.name} Biology", canvas_course_id="370663"
        )
        link = CanvasCourseSync.objects.create(workspace=tenant.workspace, group=group)
        course_sync_run(course_sync_id=link.pk)
        links.append(link)
    return tenants, links


def test_course_link_shows_progress_last_success_and_content(two_tenants):
    (alpha, _), (link, _) = two_tenants
    browser = logged_in(alpha.editor)
    change = browser.get(reverse("admin:integrations_canvascoursesync_change", args=[link.pk])).content.decode()
    assert "done: 19 of 19 items" in change
    assert "InstructureCon 2012 (370663, from the LTI launch)" in change
    content = browser.get(reverse("admin:integrations_canvascoursesync_content", args=[link.pk])).content.decode()
    assert "19 item(s) imported from Canvas course 370663" in content
    assert "Ünïcödé — 生物学 🧬" in content
    changelist = browser.get(reverse("admin:integrations_canvascoursesync_changelist")).content.decode()
    assert "Alpha University Biology" in changelist and "Beta University Biology" not in changelist


@pytest.mark.parametrize(
    "name",
    [
        "integrations_canvascoursesync_change",
        "integrations_canvascoursesync_content",
        "integrations_canvascoursesync_pick",
        "integrations_canvascoursesync_sync",
        "integrations_canvasconnection_change",
        "integrations_canvas_test",
        "integrations_canvas_authorize",
        "integrations_canvas_disconnect",
        "integrations_canvas_sync_all",
    ],
)
@pytest.mark.parametrize("role", ["owner", "editor"])
def test_another_workspaces_objects_are_404(two_tenants, name, role):
    (alpha, _), (_, beta_link) = two_tenants
    target = beta_link.pk if "coursesync" in name else CanvasConnection.objects.get(workspace=beta_link.workspace).pk
    browser = logged_in(getattr(alpha, role))
    url = reverse(f"admin:{name}", args=[target])
    assert browser.get(url).status_code == 404
    assert browser.post(url).status_code == 404
    beta = CanvasConnection.objects.get(workspace=beta_link.workspace)
    assert beta.access_token and beta.status == "connected"


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_members_and_outsiders_never_get_in(two_tenants, role):
    (alpha, _), (link, _) = two_tenants
    browser = logged_in(getattr(alpha, role))
    for url in (
        reverse("admin:integrations_canvasconnection_changelist"),
        reverse("admin:integrations_canvascoursesync_content", args=[link.pk]),
    ):
        response = browser.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert browser.post(reverse("admin:integrations_canvas_disconnect", args=[link.pk])).status_code == 302
    assert CanvasConnection.objects.get(workspace=alpha.workspace).access_token


def test_request_counts_are_for_owners_only(two_tenants):
    (alpha, _), _ = two_tenants
    url = reverse("admin:integrations_canvasapirequestcount_changelist")
    assert logged_in(alpha.editor).get(url).status_code == 403
    page = logged_in(alpha.owner).get(url).content.decode()
    assert "GET /api/v1/courses/:course_id/pages/:url_or_id" in page
    alpha_rows = CanvasApiRequestCount.objects.filter(workspace=alpha.workspace).count()
    assert page.count('class="field-endpoint"') == alpha_rows


def test_editor_of_alpha_cannot_act_on_alpha_while_only_member_of_beta(two_tenants):
    (alpha, beta), (_, beta_link) = two_tenants
    # alpha's editor is also a plain member of beta: beta stays invisible (404), not 403.
    from workspaces.models import WorkspaceMembership

    WorkspaceMembership.objects.create(workspace=beta.workspace, user=alpha.editor, role="member")
    response = logged_in(alpha.editor).post(reverse("admin:integrations_canvascoursesync_sync", args=[beta_link.pk]))
    assert response.status_code == 404


def test_sync_now_queues_after_commit_and_runs(two_tenants, django_capture_on_commit_callbacks, fake_canvas):
    (alpha, _), (link, _) = two_tenants
    fake_canvas.state.add_page(77, "New page", "<p>fresh</p>")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(alpha.editor).post(reverse("admin:integrations_canvascoursesync_sync", args=[link.pk]))
    assert [m.message for m in get_messages(response.wsgi_request)] == ["Sync queued."]
    link.refresh_from_db()
    assert (link.state, link.items_total, link.last_stats["created"]) == ("succeeded", 20, 1)


def test_sync_now_refuses_a_second_run_while_one_is_running(two_tenants):
    from django.utils import timezone

    (alpha, _), (link, _) = two_tenants
    CanvasCourseSync.objects.filter(pk=link.pk).update(state="running", heartbeat_at=timezone.now())
    response = logged_in(alpha.owner).post(reverse("admin:integrations_canvascoursesync_sync", args=[link.pk]))
    assert [m.message for m in get_messages(response.wsgi_request)] == ["A sync of this course is already running."]


def test_connection_sync_links_groups_from_the_launch_and_queues_them(
    tenants, fake_canvas, course, django_capture_on_commit_callbacks
):
    alpha = tenants[0]
    connection = make_connection(alpha.workspace, fake_canvas)
    group = Group.objects.create(workspace=alpha.workspace, name="From launch", canvas_course_id="370663")
    Group.objects.create(workspace=alpha.workspace, name="No course")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(alpha.owner).post(reverse("admin:integrations_canvas_sync_all", args=[connection.pk]))
    assert [m.message for m in get_messages(response.wsgi_request)] == ["Sync queued for 1 linked course(s)."]
    link = CanvasCourseSync.objects.get(group=group)
    assert (link.state, link.items_done) == ("succeeded", 19)


def test_owner_picks_the_course_from_the_list_the_token_sees(tenants, fake_canvas):
    alpha = tenants[0]
    make_connection(alpha.workspace, fake_canvas)
    fake_canvas.state.courses_list.append({"id": 555, "name": "Genetics", "course_code": "GEN1"})
    group = Group.objects.create(workspace=alpha.workspace, name="Manual group")
    link = CanvasCourseSync.objects.create(workspace=alpha.workspace, group=group)
    browser = logged_in(alpha.owner)
    url = reverse("admin:integrations_canvascoursesync_pick", args=[link.pk])
    page = browser.get(url).content.decode()
    assert "Genetics" in page and "InstructureCon 2012" in page
    assert browser.post(url, {"course_id": "999"}).status_code == 200  # not in the list
    assert browser.post(url, {"course_id": "555"}).status_code == 302
    link.refresh_from_db()
    assert (link.picked_course_id, link.course_name, link.course_id) == ("555", "Genetics", "555")
