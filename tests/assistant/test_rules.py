import pytest

from assistant.models import Message
from assistant.rules import GRADE_RULE_ANSWER, is_personal_record_question
from assistant.services import answer_stream, assistant_get_or_create_for_group, conversation_start, question_ask

PERSONAL = [
    "What is my grade?",
    "what's my midterm score",
    "Did I pass the final exam?",
    "Have I submitted lab report 2?",
    "Did I submit the essay on time?",
    "Was my lab report graded yet?",
    "How many points did I get on quiz 3?",
    "What grade did I get on the midterm?",
    "Am I failing this class?",
    "How am I doing in this course?",
    "Can you show my submissions?",
    "Has my essay been received?",
    "What is my attendance record?",
]
COURSE = [
    "How is the final grade calculated?",
    "How are lab reports submitted?",
    "When is the lab report due?",
    "What percentage of the grade is the final exam?",
    "What happens to late lab reports?",
    "Where does the Calvin cycle run?",
    "How do I submit my lab report?",
]


@pytest.mark.parametrize("question", PERSONAL)
def test_personal_record_questions_match(question):
    assert is_personal_record_question(question)


@pytest.mark.parametrize("question", COURSE)
def test_course_questions_do_not_match(question):
    assert not is_personal_record_question(question)


def test_grade_question_gets_the_fixed_answer_whatever_retrieval_finds(courses, tenants):
    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    conversation = conversation_start(assistant=assistant, user=tenants[0].member)
    # The syllabus talks about grades at length; the rule still wins.
    _, answer = question_ask(conversation=conversation, user=tenants[0].member, question="What is my final grade?")
    events = list(answer_stream(answer=answer))
    assert [e.data["text"] for e in events if e.event == "delta"] == [GRADE_RULE_ANSWER]
    answer.refresh_from_db()
    assert (answer.status, answer.content, answer.citations) == (Message.Status.RULE, GRADE_RULE_ANSWER, [])


def test_grade_rule_applies_in_ai_mode_without_calling_the_provider(courses, tenants, fake_openai):
    from assistant.models import ProviderConfig

    assistant = assistant_get_or_create_for_group(group=courses["bio101"])
    assistant.provider = ProviderConfig.objects.create(
        workspace=assistant.workspace, name="Fake", base_url=fake_openai.base_url, model="gpt-test"
    )
    assistant.save()
    conversation = conversation_start(assistant=assistant, user=tenants[0].member)
    _, answer = question_ask(conversation=conversation, user=tenants[0].member, question="Did I pass the midterm?")
    list(answer_stream(answer=answer))
    answer.refresh_from_db()
    assert answer.status == Message.Status.RULE
    assert fake_openai.requests == []
