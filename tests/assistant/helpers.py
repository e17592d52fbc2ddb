import json


def sse_events(response) -> list[tuple[str, dict]]:
    """Parse a streamed text/event-stream response into [(event, data)]."""
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.split("\n\n"):
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if data:
            events.append((name, json.loads(data)))
    return events


def ask(client, assistant_uuid, question):
    """Start a conversation, ask, stream; returns (conversation uuid, ask json, events)."""
    conv = client.post(f"/api/assistant/assistants/{assistant_uuid}/conversations/", secure=True)
    assert conv.status_code == 201, conv.content
    asked = client.post(
        f"/api/assistant/conversations/{conv.json()['uuid']}/ask/",
        {"question": question},
        content_type="application/json",
        secure=True,
    )
    assert asked.status_code == 201, asked.content
    stream = client.get(asked.json()["stream_url"], secure=True, HTTP_ACCEPT="text/event-stream")
    assert stream.status_code == 200
    assert stream["Content-Type"] == "text/event-stream"
    return conv.json()["uuid"], asked.json(), sse_events(stream)
