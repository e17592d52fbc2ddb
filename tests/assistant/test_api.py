"""The chat API end to end in offline mode: exact answers, sources and stored rows."""

from assistant.models import Conversation, Message, MessageCitation
from assistant.services import DECLINE_ANSWER, assistant_get_or_create_for_group
from tests.assistant.conftest import needs_model
from tests.assistant.helpers import ask


def test_list_assistants_creates_the_default_one(client, courses, tenants):
    client.force_login(tenants[0].member)
    response = client.get(f"/api/assistant/groups/{courses['bio101'].uuid}/assistants/", secure=True)
    assert response.status_code == 200
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    assert response.json() == [
        {
            "uuid": str(assistant.uuid),
            "name": "Course assistant",
            "group": str(courses["bio101"].uuid),
            "is_default": True,
            "allow_general_knowledge": False,
            "mode": "offline",
            "mode_label": "Offline mode: quotes the course materials, generates nothing",
            "staff_can_read_conversations": False,
        }
    ]


@needs_model
def test_offline_answer_quotes_the_materials_with_citations(client, courses, tenants):
    client.force_login(tenants[0].member)
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    conv_uuid, asked, events = ask(client, assistant.uuid, "Where does the Calvin cycle run?")
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["sources", "done"]
    assert events[0][1]["mode"] == "offline"
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text.startswith("From the course materials:\n\n> The Calvin cycle runs in the stroma. [1]")
    sources = dict(events)["sources"]["sources"]
    assert sources[0]["title"] == "Week 3: Photosynthesis"
    assert sources[0]["url"].startswith("https://canvas.example.edu/courses/")
    assert dict(events)["done"]["status"] == "answered"
    answer = Message.objects.get(uuid=asked["answer"]["uuid"])
    assert (answer.status, answer.mode, answer.content) == ("answered", "offline", text)
    assert answer.citations == sources
    assert list(MessageCitation.objects.filter(message=answer).values_list("number", flat=True)) == [
        s["number"] for s in sources
    ]
    assert Conversation.objects.get(uuid=conv_uuid).title == "Where does the Calvin cycle run?"


@needs_model
def test_offline_mode_declines_below_the_threshold(client, courses, tenants):
    client.force_login(tenants[0].member)
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    _, asked, events = ask(client, assistant.uuid, "What is the capital of France?")
    assert [d["text"] for n, d in events if n == "delta"] == [DECLINE_ANSWER]
    assert dict(events)["sources"] == {"sources": []}
    assert Message.objects.get(uuid=asked["answer"]["uuid"]).status == "declined"


def test_stream_replays_a_finished_answer(client, courses, tenants):
    client.force_login(tenants[0].member)
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    _, asked, events = ask(client, assistant.uuid, "What is my grade?")
    again = client.get(asked["stream_url"], secure=True)
    from tests.assistant.helpers import sse_events

    replay = sse_events(again)
    assert [d for n, d in replay if n == "delta"] == [d for n, d in events if n == "delta"]


def test_history_list_detail_and_delete(client, courses, tenants):
    client.force_login(tenants[0].member)
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    conv_uuid, _, _ = ask(client, assistant.uuid, "Did I pass?")
    listed = client.get(f"/api/assistant/assistants/{assistant.uuid}/conversations/", secure=True).json()
    assert [c["uuid"] for c in listed] == [conv_uuid]
    detail = client.get(f"/api/assistant/conversations/{conv_uuid}/", secure=True).json()
    assert [(m["role"], m["status"]) for m in detail["messages"]] == [("user", "question"), ("assistant", "rule")]
    assert client.delete(f"/api/assistant/conversations/{conv_uuid}/", secure=True).status_code == 204
    assert not Conversation.objects.filter(uuid=conv_uuid).exists()
    ask(client, assistant.uuid, "Did I pass?")
    ask(client, assistant.uuid, "Did I fail?")
    assert client.delete(f"/api/assistant/assistants/{assistant.uuid}/history/", secure=True).status_code == 204
    assert not Conversation.objects.filter(user=tenants[0].member).exists()


def test_question_length_and_rate_limit(client, courses, tenants, settings):
    settings.ASSISTANT_RATE_LIMIT_QUESTIONS = 2
    settings.ASSISTANT_MAX_QUESTION_CHARS = 50
    client.force_login(tenants[0].member)
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    conv = client.post(f"/api/assistant/assistants/{assistant.uuid}/conversations/", secure=True).json()["uuid"]
    url = f"/api/assistant/conversations/{conv}/ask/"
    too_long = client.post(url, {"question": "x" * 51}, content_type="application/json", secure=True)
    assert too_long.status_code == 400
    assert too_long.json() == {"detail": "Questions are limited to 50 characters."}
    for _ in range(2):
        assert (
            client.post(url, {"question": "Did I pass?"}, content_type="application/json", secure=True).status_code
            == 201
        )
    limited = client.post(url, {"question": "Did I pass?"}, content_type="application/json", secure=True)
    assert limited.status_code == 429
    assert limited.json()["detail"].startswith("You have asked many questions in a short time.")
    assert Message.objects.filter(conversation__uuid=conv, role="user").count() == 2


def test_openapi_schema_is_published(client, tenants):
    client.force_login(tenants[0].member)
    response = client.get("/api/assistant/schema/?format=json", secure=True)
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/assistant/groups/{group_uuid}/assistants/",
        "/api/assistant/groups/{group_uuid}/usage/",
        "/api/assistant/assistants/{assistant_uuid}/conversations/",
        "/api/assistant/assistants/{assistant_uuid}/history/",
        "/api/assistant/conversations/{conversation_uuid}/",
        "/api/assistant/conversations/{conversation_uuid}/ask/",
        "/api/assistant/messages/{message_uuid}/stream/",
    }


def test_group_page_shows_the_chat_and_the_mode(client, courses, tenants):
    client.force_login(tenants[0].member)
    response = client.get(f"/groups/{courses['bio101'].uuid}/", secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="ask-form"' in html
    assert f'data-assistants-url="/api/assistant/groups/{courses["bio101"].uuid}/assistants/"' in html
    assert 'id="staff-notice" hidden' in html
    assert "Assistant settings" not in html
