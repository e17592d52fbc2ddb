"""Scoping: two courses with overlapping content, two workspaces. Every endpoint is
tenant- and group-scoped: another workspace's or another group's objects are 404."""

import pytest

from assistant.models import AssistantWorkspaceSettings, Message
from assistant.retrieval import retrieve
from assistant.services import assistant_get_or_create_for_group, conversation_start, question_ask
from tests.assistant.conftest import join
from tests.assistant.helpers import ask
from workspaces.models import GroupRole


def _urls(assistant, conversation, answer, group):
    return [
        ("get", f"/api/assistant/groups/{group.uuid}/assistants/"),
        ("get", f"/api/assistant/assistants/{assistant.uuid}/conversations/"),
        ("post", f"/api/assistant/assistants/{assistant.uuid}/conversations/"),
        ("delete", f"/api/assistant/assistants/{assistant.uuid}/history/"),
        ("get", f"/api/assistant/conversations/{conversation.uuid}/"),
        ("delete", f"/api/assistant/conversations/{conversation.uuid}/"),
        ("post", f"/api/assistant/conversations/{conversation.uuid}/ask/"),
        ("get", f"/api/assistant/messages/{answer.uuid}/stream/"),
        ("get", f"/api/assistant/groups/{group.uuid}/usage/"),
        ("get", f"/groups/{group.uuid}/assistant/settings/"),
        ("get", f"/groups/{group.uuid}/assistant/usage/"),
    ]


@pytest.fixture
def bio102_objects(courses, tenants):
    """A conversation with a pending answer in Biology 102 (alpha's outsider is its member)."""
    assistant = assistant_get_or_create_for_group(group=courses["bio102"])
    conversation = conversation_start(assistant=assistant, user=tenants[0].outsider)
    _, answer = question_ask(conversation=conversation, user=tenants[0].outsider, question="When is the midterm?")
    return assistant, conversation, answer


@pytest.mark.parametrize("who", ["member_other_group", "member_other_workspace", "owner_other_workspace"])
def test_every_endpoint_is_404_outside_ones_groups(client, courses, tenants, bio102_objects, who):
    a, b = tenants
    user = {"member_other_group": a.member, "member_other_workspace": b.member, "owner_other_workspace": b.owner}[who]
    client.force_login(user)
    assistant, conversation, answer = bio102_objects
    for method, url in _urls(assistant, conversation, answer, courses["bio102"]):
        kwargs = {"data": {"question": "x"}, "content_type": "application/json"} if method == "post" else {}
        response = getattr(client, method)(url, secure=True, **kwargs)
        assert response.status_code == 404, (method, url, response.status_code)
    answer.refresh_from_db()
    assert answer.status == Message.Status.PENDING
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_a_group_member_cannot_reach_another_members_conversation(client, courses, tenants, bio102_objects):
    a, _ = tenants
    _, conversation, answer = bio102_objects
    join(courses["bio102"], a.member)
    client.force_login(a.member)
    assert client.get(f"/api/assistant/conversations/{conversation.uuid}/", secure=True).status_code == 404
    assert client.get(f"/api/assistant/messages/{answer.uuid}/stream/", secure=True).status_code == 404
    assert client.delete(f"/api/assistant/conversations/{conversation.uuid}/", secure=True).status_code == 404


def test_low_role_gets_403_for_staff_pages(client, courses, tenants):
    a, _ = tenants
    client.force_login(a.member)
    group = courses["bio101"]
    assert client.get(f"/api/assistant/groups/{group.uuid}/usage/", secure=True).status_code == 403
    assert client.get(f"/groups/{group.uuid}/assistant/settings/", secure=True).status_code == 403
    assert client.get(f"/groups/{group.uuid}/assistant/usage/", secure=True).status_code == 403


def test_roles_that_may_manage_and_see_usage(client, courses, tenants):
    a, _ = tenants
    group = courses["bio101"]
    join(group, a.outsider, role=GroupRole.FACILITATOR)
    client.force_login(a.outsider)
    assert client.get(f"/groups/{group.uuid}/assistant/usage/", secure=True).status_code == 200
    assert client.get(f"/groups/{group.uuid}/assistant/settings/", secure=True).status_code == 403
    client.force_login(a.editor)  # workspace Editor, no membership
    assert client.get(f"/groups/{group.uuid}/assistant/settings/", secure=True).status_code == 200


def test_retrieval_never_returns_another_courses_passages(courses):
    """Biology 102 has a midterm announcement too; Biology 101 must only see its own."""
    own = set(courses["ids101"].values())
    for question in ["When is the midterm?", "Who is the instructor?", "photosynthesis C4 maize", "office hours"]:
        hits = retrieve(group_id=courses["bio101"].pk, question=question).hits
        assert hits and {h.passage_id for h in hits} <= own
        hits = retrieve(group_id=courses["bio102"].pk, question=question).hits
        assert {h.passage_id for h in hits} <= set(courses["ids102"].values())


def test_answer_in_one_course_cites_only_that_course(client, courses, tenants):
    a, _ = tenants
    client.force_login(a.outsider)  # member of Biology 102 only
    assistant = assistant_get_or_create_for_group(group=courses["bio102"])
    _, _, events = ask(client, assistant.uuid, "When is the midterm exam?")
    text = "".join(d["text"] for n, d in events if n == "delta")
    assert "November 3" in text and "October 14" not in text
    titles = {s["title"] for s in dict(events)["sources"]["sources"]}
    assert "Announcement: Midterm 1" in titles and titles <= {"Announcement: Midterm 1", "Syllabus"}
    item_ids = {s["item_id"] for s in dict(events)["sources"]["sources"]}
    assert item_ids <= set(courses["bio102"].knowledge_items.values_list("id", flat=True))


def test_knowledge_selection_limits_retrieval(courses):
    from assistant.services import assistant_item_ids, assistant_update

    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    lab = courses["bio101"].knowledge_items.get(title="Lab 2: Microscope use")
    other = courses["bio102"].knowledge_items.first()
    assistant_update(
        assistant=assistant,
        name="Lab helper",
        instructions="",
        allow_general_knowledge=False,
        use_all_knowledge=False,
        item_ids=[lab.pk, other.pk],
    )
    assert assistant_item_ids(assistant=assistant) == [lab.pk]  # the other course's item is ignored
    hits = retrieve(group_id=courses["bio101"].pk, question="When is the midterm?", item_ids=[lab.pk]).hits
    assert {h.item_id for h in hits} == {lab.pk}


def test_staff_reading_is_off_by_default_and_announced_when_on(client, courses, tenants):
    a, _ = tenants
    group = courses["bio101"]
    join(group, a.outsider, role=GroupRole.OWNER)
    assistant = assistant_get_or_create_for_group(group=group)
    conversation = conversation_start(assistant=assistant, user=a.member)
    client.force_login(a.outsider)
    url = f"/groups/{group.uuid}/assistant/conversations/{conversation.uuid}/"
    assert client.get(url, secure=True).status_code == 403
    AssistantWorkspaceSettings.objects.update_or_create(
        workspace=a.workspace, defaults={"staff_can_read_conversations": True}
    )
    assert client.get(url, secure=True).status_code == 200
    client.force_login(a.member)
    listed = client.get(f"/api/assistant/groups/{group.uuid}/assistants/", secure=True).json()
    assert listed[0]["staff_can_read_conversations"] is True
