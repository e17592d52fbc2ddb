"""Fixtures for the Canvas tests: a fake Canvas on 127.0.0.1, a connection to it, a linked group."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assistant.models import KnowledgeItem, Passage
from integrations.canvas import client as canvas_client
from integrations.canvas.models import CanvasConnection, CanvasCourseSync
from tests.canvas.fake_canvas import FakeCanvas, make_docx, make_pdf
from workspaces.models import Group


@pytest.fixture(autouse=True)
def canvas_settings(settings):
    settings.CANVAS_ALLOW_LOOPBACK_HTTP = True
    settings.CANVAS_BACKOFF_BASE_SECONDS = 0.001
    settings.CANVAS_BACKOFF_MAX_SECONDS = 0.005
    settings.CANVAS_RATE_LIMIT_PAUSE_SECONDS = 0.001
    settings.CANVAS_SYNC_TASK_MAX_RETRIES = 0
    settings.CANVAS_MAX_RETRIES = 4
    settings.CANVAS_READ_TIMEOUT_SECONDS = 2.0
    settings.CANVAS_CONNECT_TIMEOUT_SECONDS = 1.0
    # The encoder is the course-assistant work's; one test below runs it for real.
    settings.CANVAS_EMBED_AFTER_SYNC = False
    return settings


@pytest.fixture(autouse=True)
def waits(monkeypatch):
    """Every wait the client asks for (backoff, Retry-After, pacing), recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(canvas_client, "_pause", recorded.append)
    return recorded


def populate(state) -> None:
    """A small realistic course: every content type, published and unpublished, unicode, files."""
    state.add_page(1, "Welcome", "<h1>Welcome</h1><p>Office hours are on <b>Tuesday</b>.</p><script>x()</script>")
    state.add_page(2, "Reading list", "<ul><li>Campbell Biology</li><li>Alberts</li></ul>")
    state.add_page(3, "Draft notes", "<p>not ready</p>", published=False)
    state.add_page(4, "Ünïcödé — 生物学 🧬", "<p>Photosynthèse: 光合成 — CO₂ + H₂O → C₆H₁₂O₆ 🌱</p>")
    state.add_assignment(11, "Lab report 1", "<p>Write up the <em>osmosis</em> lab.</p>")
    state.add_assignment(12, "Hidden essay", "<p>secret</p>", published=False)
    state.add_discussion(21, "Introduce yourself", "<p>Tell us about your favourite organism.</p>")
    state.add_discussion(22, "Unpublished topic", "<p>draft</p>", published=False)
    state.add_quiz(31, "Cell quiz", "<p>Covers chapters 1–3.</p>")
    state.add_quiz(32, "Draft quiz", "<p>draft</p>", published=False)
    state.add_announcement(41, "Welcome to the course", "<p>Class starts Monday.</p>", posted_at="2024-09-01T08:00:00Z")
    state.add_announcement(42, "Exam moved", "<p>The exam is now on Friday.</p>", posted_at="2025-01-15T08:00:00Z")
    state.add_module(51, "Week 1: Cells", 1, [(501, "Welcome", "Page"), (502, "Lab report 1", "Assignment")])
    state.add_module(52, "Week 2: Energy", 2, [(503, "Cell quiz", "Quiz")])
    state.add_module(53, "Week 3 (draft)", 3, [(504, "Later", "Page")], published=False)
    state.add_file(61, "syllabus.pdf", "application/pdf", make_pdf("Grading policy: labs 40 percent"))
    state.add_file(
        62,
        "lab-guide.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        make_docx(["Lab safety first", "Wear goggles"]),
    )
    state.add_file(63, "notes.md", "text/markdown", b"# Notes\n\nMitochondria are the powerhouse.")
    state.add_file(64, "diagram.png", "image/png", b"\x89PNG\r\n\x1a\nfake")
    state.add_file(65, "unpublished.txt", "text/plain", b"do not import", locked=True)
    state.add_file(66, "glossary.html", "text/html", b"<html><body><p>Osmosis: water moves.</p></body></html>")


# Published items of ``populate`` (type, external id): what the knowledge base must hold.
EXPECTED = {
    ("syllabus", "370663"),
    ("page", "1"),
    ("page", "2"),
    ("page", "4"),
    ("assignment", "11"),
    ("discussion", "21"),
    ("quiz", "31"),
    ("announcement", "41"),
    ("announcement", "42"),
    ("module", "51"),
    ("module", "52"),
    ("module_item", "501"),
    ("module_item", "502"),
    ("module_item", "503"),
    ("file", "61"),
    ("file", "62"),
    ("file", "63"),
    ("file", "64"),
    ("file", "66"),
}


@pytest.fixture
def fake_canvas():
    with FakeCanvas() as fake:
        fake.state.redirect_uri = "https://tool.test/canvas/oauth/callback"
        yield fake


@pytest.fixture
def course(fake_canvas):
    populate(fake_canvas.state)
    return fake_canvas


def make_connection(workspace, fake, **extra) -> CanvasConnection:
    state = fake.state
    fields = {
        "workspace": workspace,
        "instance_url": fake.url,
        "client_id": state.client_id,
        "client_secret": state.client_secret,
        "status": CanvasConnection.Status.CONNECTED,
        "access_token": state.issue_token(),
        "refresh_token": state.issue_refresh_token(),
        "token_expires_at": timezone.now() + timedelta(hours=1),
        "canvas_user_id": "42",
        "canvas_user_name": "Jimi Hendrix",
        "scopes": list(canvas_client.SCOPES),
    }
    fields.update(extra)
    return CanvasConnection.objects.create(**fields)


@pytest.fixture
def connection(tenants, fake_canvas):
    return make_connection(tenants[0].workspace, fake_canvas)


@pytest.fixture
def link(tenants, fake_canvas, connection):
    group = Group.objects.create(
        workspace=tenants[0].workspace, name="Alpha Biology 101", canvas_course_id=str(fake_canvas.state.course_id)
    )
    return CanvasCourseSync.objects.create(workspace=tenants[0].workspace, group=group)


def kb(group) -> dict[tuple[str, str], dict]:
    """The stored knowledge base of a group: one dict per item, with its passages' texts."""
    items = {}
    for item in KnowledgeItem.objects.filter(group=group).select_related("parent"):
        passages = list(Passage.objects.filter(item=item).order_by("position").values_list("position", "text"))
        assert [p for p, _ in passages] == list(range(len(passages))), "passage positions are contiguous"
        assert all(p.workspace_id == item.workspace_id for p in Passage.objects.filter(item=item))
        items[(item.item_type, item.external_id)] = {
            "title": item.title,
            "url": item.url,
            "text": item.text,
            "parent": (item.parent.item_type, item.parent.external_id) if item.parent else None,
            "position": item.position,
            "hash": item.content_hash,
            "pk": item.pk,
            "passages": [t for _, t in passages],
            "metadata": item.metadata,
        }
    return items
