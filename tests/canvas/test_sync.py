"""The content import against the fake Canvas: exact knowledge base after each scenario."""

import pytest

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
