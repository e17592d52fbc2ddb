from assistant.services import assistant_get_or_create_for_group
from tests.assistant.conftest import join, needs_model
from tests.assistant.helpers import ask
from workspaces.models import GroupRole


@needs_model
def test_usage_counts_questions_unanswered_and_cited(client, courses, tenants):
    a, _ = tenants
    group = courses["bio101"]
    assistant = assistant_get_or_create_for_group(group=group)
    client.force_login(a.member)
    ask(client, assistant.uuid, "Where does the Calvin cycle run?")
    ask(client, assistant.uuid, "What is the capital of France?")
    ask(client, assistant.uuid, "What is my grade?")
    join(group, a.outsider, role=GroupRole.FACILITATOR)
    client.force_login(a.outsider)
    usage = client.get(f"/api/assistant/groups/{group.uuid}/usage/", secure=True).json()
    assert usage["questions"] == 3
    assert usage["answers"] == 3
    assert usage["unanswered"] == 1
    assert usage["unanswered_rate"] == 0.333
    assert len(usage["questions_per_day"]) == 1 and usage["questions_per_day"][0]["questions"] == 3
    assert usage["most_cited"][0]["title"] == "Week 3: Photosynthesis"
