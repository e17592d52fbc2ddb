"""The content import against the fake Canvas: exact knowledge base after each scenario."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from assistant.models import KnowledgeItem, Passage
from integrations.canvas.models import CanvasApiRequestCount, CanvasConnection, CanvasCourseSync
from integrations.canvas.sync import course_sync_run
from tests.canvas.conftest import EXPECTED, kb

pytestmark = pytest.mark.django_db


def test_first_sync_imports_every_published_item_and_nothing_else(course, link):
    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded"
    stored = kb(link.group)
    assert set(stored) == EXPECTED
    assert stored[("page", "1")]["title"] == "Welcome"
    assert stored[("page", "1")]["text"] == "Welcome\n\nOffice hours are on Tuesday."  # <script> dropped
    assert stored[("page", "1")]["passages"] == ["Welcome\n\nWelcome\n\nOffice hours are on Tuesday."]
    assert stored[("page", "4")]["title"] == "Ünïcödé — 生物学 🧬"
    assert "光合成 — CO₂ + H₂O → C₆H₁₂O₆ 🌱" in stored[("page", "4")]["text"]
    assert stored[("page", "2")]["text"] == "- Campbell Biology\n\n- Alberts"
    assert stored[("syllabus", "370663")]["text"] == "syllabus html goes here"
    assert stored[("assignment", "11")]["text"] == (
        "Due: 2025-02-01T23:59:00Z\nAvailable from: 2025-01-20T00:00:00Z\n\nWrite up the osmosis lab."
    )
    assert stored[("assignment", "11")]["metadata"] == {
        "due_at": "2025-02-01T23:59:00Z",
        "unlock_at": "2025-01-20T00:00:00Z",
        "lock_at": None,
        "points_possible": 10.0,
        "submission_types": ["online_text_entry"],
    }
    assert stored[("discussion", "21")]["text"] == "Tell us about your favourite organism."
    assert stored[("quiz", "31")]["text"] == "Covers chapters 1–3."
    assert stored[("announcement", "41")]["title"] == "Welcome to the course"  # older than 14 days: history
    assert stored[("module", "51")]["text"] == "1. Welcome (Page)\n2. Lab report 1 (Assignment)"
    assert stored[("module_item", "502")]["parent"] == ("module", "51")
    assert stored[("module_item", "502")]["position"] == 2
    assert stored[("module_item", "503")]["parent"] == ("module", "52")
    assert stored[("module_item", "501")]["passages"] == []
    assert stored[("file", "61")]["text"] == "Grading policy: labs 40 percent"
    assert stored[("file", "62")]["text"] == "Lab safety first\nWear goggles"
    assert stored[("file", "63")]["text"] == "# Notes\n\nMitochondria are the powerhouse."
    assert stored[("file", "66")]["text"] == "Osmosis: water moves."
    assert stored[("file", "64")]["text"] == ""
    assert stored[("file", "64")]["metadata"]["text"] == "unsupported_type"
    assert stored[("file", "61")]["url"] == f"{course.url}/courses/370663/files/61"  # never the verifier link
    link.refresh_from_db()
    assert (link.state, link.phase, link.items_done, link.items_total) == ("succeeded", "done", 19, 19)
    assert link.last_error == ""
    assert link.course_name == "InstructureCon 2012"
    assert link.last_stats["created"] == 19


def test_second_sync_skips_unchanged_and_fetches_no_page_bodies(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    course.state.log.clear()

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded"
    assert (result["created"], result["updated"], result["removed"]) == (0, 0, 0)
    assert kb(link.group) == before
    assert course.state.requests_to(r"/pages/page_id:") == []
    assert course.state.requests_to(r"/files/\d+/download") == []


def test_pagination_across_many_pages_imports_every_page_once(fake_canvas, link):
    for n in range(1, 351):
        fake_canvas.state.add_page(n, f"Lecture {n:03d}", f"<p>Notes for lecture {n}.</p>")

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded"
    stored = kb(link.group)
    assert set(stored) == {("page", str(n)) for n in range(1, 351)} | {("syllabus", "370663")}
    assert all(stored[("page", str(n))]["text"] == f"Notes for lecture {n}." for n in range(1, 351))
    assert len(fake_canvas.state.requests_to(r"/pages$")) == 4
    assert Passage.objects.filter(group=link.group).count() == 351


def test_item_deleted_or_unpublished_between_runs_is_removed_and_the_rest_kept(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    del course.state.pages[2]
    course.state.assignments[11]["published"] = False
    course.state.files[63]["locked"] = True  # unpublished file
    course.state.modules[52]["published"] = False

    result = course_sync_run(course_sync_id=link.pk)

    after = kb(link.group)
    gone = {("page", "2"), ("assignment", "11"), ("file", "63"), ("module", "52"), ("module_item", "503")}
    assert set(after) == EXPECTED - gone
    assert {key: row["pk"] for key, row in after.items()} == {k: before[k]["pk"] for k in EXPECTED - gone}
    assert result["removed"] == 5  # the module item went with its module
    assert Passage.objects.filter(item_id__in=[before[k]["pk"] for k in gone]).count() == 0


def test_changed_item_is_replaced_in_place(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    course.state.pages[1].update(
        body="<p>Office hours moved to <b>Thursday</b>.</p>", updated_at="2025-02-01T10:00:00Z"
    )
    course.state.quizzes[31]["description"] = "<p>Covers chapters 1–4.</p>"

    result = course_sync_run(course_sync_id=link.pk)

    after = kb(link.group)
    assert (result["created"], result["updated"], result["removed"]) == (0, 2, 0)
    assert after[("page", "1")]["pk"] == before[("page", "1")]["pk"]
    assert after[("page", "1")]["passages"] == ["Welcome\n\nOffice hours moved to Thursday."]
    assert after[("quiz", "31")]["passages"] == ["Cell quiz\n\nCovers chapters 1–4."]
    assert after[("page", "1")]["hash"] != before[("page", "1")]["hash"]
    unchanged = set(EXPECTED) - {("page", "1"), ("quiz", "31")}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert [r["path"] for r in course.state.requests_to(r"/pages/page_id:")][-1:] == [
        "/api/v1/courses/370663/pages/page_id:1"
    ]


def test_failure_halfway_keeps_the_knowledge_base_consistent_and_the_next_run_picks_up(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    del course.state.pages[2]  # must not be removed by a failing run
    course.state.pages[1].update(body="<p>New text</p>", updated_at="2025-02-01T10:00:00Z")
    course.state.files[61]["modified_at"] = "2025-02-02T10:00:00Z"
    course.state.fail(r"/files/61/download", 500, "", times=100)

    with pytest.raises(Exception) as info:
        course_sync_run(course_sync_id=link.pk)
    assert info.value.retryable

    middle = kb(link.group)
    assert set(middle) == EXPECTED  # nothing removed on a failed run
    assert middle[("page", "1")]["passages"] == ["Welcome\n\nNew text"]  # its batch committed whole
    assert middle[("file", "61")] == before[("file", "61")]
    link.refresh_from_db()
    assert (link.state, link.phase) == ("failed", "failed")
    assert link.last_error == "Canvas error 500 on GET /files/:id/download"
    assert link.last_success_at is not None

    course.state.faults.clear()
    course.state.log.clear()
    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded"
    assert set(kb(link.group)) == EXPECTED - {("page", "2")}
    assert course.state.requests_to(r"/pages/page_id:") == []  # page 1 was already current
    assert len(course.state.requests_to(r"/files/\d+/download")) == 1
    link.refresh_from_db()
    assert (link.state, link.last_error) == ("succeeded", "")


def test_listing_error_writes_and_removes_nothing(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    del course.state.pages[1]
    course.state.add_page(99, "Brand new", "<p>new</p>")
    course.state.fail(r"/modules$", 404, {"errors": [{"message": "The specified resource does not exist."}]})

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "failed"
    assert kb(link.group) == before


def test_item_listed_then_gone_before_its_fetch_is_not_stored(course, link):
    course.state.fail(r"/pages/page_id:2$", 404, {"errors": [{"message": "The specified resource does not exist."}]})
    result = course_sync_run(course_sync_id=link.pk)
    assert result["gone"] == 1
    assert set(kb(link.group)) == EXPECTED - {("page", "2")}


def test_expired_token_mid_sync_is_refreshed_and_the_import_completes(course, link):
    old_refresh = link.group.workspace.canvas_connection.refresh_token
    course.state.expire_all_tokens()

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded" and result["retries"] == 0
    assert set(kb(link.group)) == EXPECTED
    connection = CanvasConnection.objects.get(workspace=link.workspace)
    assert connection.refresh_token == old_refresh
    assert len(course.state.requests_to(r"/login/oauth2/token", "POST")) == 1


def test_insufficient_scopes_fails_the_run_as_a_configuration_error(course, link):
    course_sync_run(course_sync_id=link.pk)
    before = kb(link.group)
    course.state.denied_scopes.add(r"/quizzes$")

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "failed"
    assert kb(link.group) == before
    connection = CanvasConnection.objects.get(workspace=link.workspace)
    assert connection.status == CanvasConnection.Status.CONFIG_ERROR
    assert connection.last_error == (
        "Insufficient scopes on access token for GET /api/v1/courses/:course_id/quizzes: enable "
        "url:GET|/api/v1/courses/:course_id/quizzes on the developer key, then authorize again."
    )
    assert course.state.requests_to(r"/login/oauth2/token", "POST") == []


def test_429_and_5xx_bursts_during_import_still_give_the_exact_knowledge_base(course, link, waits):
    course.state.fail(r"/pages$", 429, "", headers={"Retry-After": "3"})
    course.state.fail(r"/assignments$", 503, "", times=3)
    course.state.fail(r"/files/62/download", 502, "", times=2)

    result = course_sync_run(course_sync_id=link.pk)

    assert result["status"] == "succeeded" and result["retries"] == 6
    assert 3.0 in waits
    assert set(kb(link.group)) == EXPECTED
    assert KnowledgeItem.objects.filter(group=link.group).count() == len(EXPECTED)


def test_timeouts_during_import_are_retried(course, link, settings):
    settings.CANVAS_READ_TIMEOUT_SECONDS = 0.2
    course.state.fail(r"/pages/page_id:4$", 200, {}, delay=0.5, times=2)
    result = course_sync_run(course_sync_id=link.pk)
    assert result["status"] == "succeeded" and result["retries"] == 2
    assert "🌱" in kb(link.group)[("page", "4")]["text"]


def test_very_large_page_is_split_into_bounded_passages(fake_canvas, link, settings):
    paragraphs = [f"Paragraph {n}: " + ("Zellbiologie ünd Ökologie 🧫 " * 40) for n in range(400)]
    fake_canvas.state.add_page(1, "Huge reader", "".join(f"<p>{p}</p>" for p in paragraphs))

    course_sync_run(course_sync_id=link.pk)

    page = kb(link.group)[("page", "1")]
    assert len(page["text"]) > 400_000
    assert all(len(p) <= settings.CANVAS_PASSAGE_MAX_CHARS for p in page["passages"])
    assert "\n\n".join(page["passages"]) == "Huge reader\n\n" + "\n\n".join(p.strip() for p in paragraphs)


def test_syllabus_removed_only_when_canvas_says_it_is_empty(course, link):
    course_sync_run(course_sync_id=link.pk)
    course.state.include_syllabus = False  # key without "Allow Include Parameters": unknown, keep it
    course_sync_run(course_sync_id=link.pk)
    assert ("syllabus", "370663") in kb(link.group)
    course.state.include_syllabus = True
    course.state.syllabus_body = ""
    course_sync_run(course_sync_id=link.pk)
    assert ("syllabus", "370663") not in kb(link.group)


def test_never_reads_submissions_grades_replies_or_people(course, link):
    course_sync_run(course_sync_id=link.pk)
    paths = {r["path"] for r in course.state.log}
    forbidden = ("submissions", "grades", "entries", "/view", "enrollments", "/users", "/students")
    assert not [p for p in paths if any(word in p for word in forbidden)]
    assert all(r["method"] == "GET" for r in course.state.log)
    stored = KnowledgeItem.objects.get(group=link.group, item_type="assignment")
    assert "needs_grading_count" not in stored.metadata and "has_submitted_submissions" not in stored.metadata


def test_requests_of_a_sync_are_counted(course, link):
    course_sync_run(course_sync_id=link.pk)
    counted = sum(CanvasApiRequestCount.objects.filter(workspace=link.workspace).values_list("count", flat=True))
    assert counted == len(course.state.log)
    rows = dict(CanvasApiRequestCount.objects.filter(workspace=link.workspace).values_list("endpoint", "count"))
    assert rows["GET /api/v1/courses/:course_id/pages/:url_or_id"] == 3
    assert rows["GET /files/:id/download"] == 4


def test_at_most_one_sync_per_group(course, link, settings):
    CanvasCourseSync.objects.filter(pk=link.pk).update(state="running", heartbeat_at=timezone.now())
    assert course_sync_run(course_sync_id=link.pk) == {"status": "skipped", "reason": "already running"}
    assert course.state.log == []
    stale = timezone.now() - timedelta(seconds=settings.CANVAS_SYNC_STALE_SECONDS + 1)
    CanvasCourseSync.objects.filter(pk=link.pk).update(heartbeat_at=stale)
    assert course_sync_run(course_sync_id=link.pk)["status"] == "succeeded"


def test_a_superseded_run_stops_without_touching_the_new_runs_state(course, link, monkeypatch):
    from integrations.canvas import sync

    real_progress = sync.CourseImporter.progress

    def steal_slot(self, phase):
        if phase == "pages":
            CanvasCourseSync.objects.filter(pk=self.link.pk).update(run_token=uuid.uuid4())
        return real_progress(self, phase)

    monkeypatch.setattr(sync.CourseImporter, "progress", steal_slot)
    assert course_sync_run(course_sync_id=link.pk) == {"status": "superseded"}
    assert KnowledgeItem.objects.filter(group=link.group, item_type="page").count() == 0


def test_task_is_idempotent(course, link):
    from integrations.canvas.tasks import sync_course

    first = sync_course.delay(course_sync_id=link.pk).get()
    second = sync_course.delay(course_sync_id=link.pk).get()
    assert first["created"] == len(EXPECTED)
    assert (second["created"], second["updated"], second["removed"]) == (0, 0, 0)
    assert set(kb(link.group)) == EXPECTED


def test_unconnected_workspace_records_a_clear_error(course, link):
    CanvasConnection.objects.filter(workspace=link.workspace).update(status="reauth_required")
    assert course_sync_run(course_sync_id=link.pk)["status"] == "failed"
    link.refresh_from_db()
    assert link.last_error == "Canvas is not connected for this workspace: connect and authorize it first."
    assert course.state.log == []


def test_sync_embeds_the_passages_it_wrote(course, link, settings):
    settings.CANVAS_EMBED_AFTER_SYNC = True
    result = course_sync_run(course_sync_id=link.pk)
    assert result["embedded"] == Passage.objects.filter(group=link.group).count()
    assert not Passage.objects.filter(group=link.group, embedding__isnull=True).exists()
    again = course_sync_run(course_sync_id=link.pk)
    assert "embedded" not in again  # nothing changed, nothing to embed
