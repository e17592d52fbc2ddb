from datetime import timedelta

from django.utils import timezone

from assistant.models import AssistantWorkspaceSettings, Conversation, Message
from assistant.services import (
    assistant_get_or_create_for_group,
    conversation_start,
    conversations_purge_expired,
    question_ask,
)
from assistant.tasks import purge_conversations


def _conversation(group, user, *, age_days):
    assistant = assistant_get_or_create_for_group(group=group)
    conversation = conversation_start(assistant=assistant, user=user)
    question_ask(conversation=conversation, user=user, question="Did I pass?")
    then = timezone.now() - timedelta(days=age_days)
    Message.objects.filter(conversation=conversation).update(created_at=then)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=then)
    return conversation


def test_purge_follows_each_workspaces_retention(courses, tenants):
    a, b = tenants
    AssistantWorkspaceSettings.objects.create(workspace=a.workspace, retention_days=30)
    AssistantWorkspaceSettings.objects.create(workspace=b.workspace, retention_days=0)  # keep forever
    old_a = _conversation(courses["bio101"], a.member, age_days=31)
    new_a = _conversation(courses["bio101"], a.member, age_days=29)
    old_b = _conversation(courses["beta101"], b.member, age_days=4000)
    assert purge_conversations.delay().get() == 1
    assert set(Conversation.objects.values_list("pk", flat=True)) == {new_a.pk, old_b.pk}
    assert not Message.objects.filter(conversation_id=old_a.pk).exists()


def test_purge_uses_the_default_retention_without_settings(courses, tenants, settings):
    settings.ASSISTANT_DEFAULT_RETENTION_DAYS = 10
    a, _ = tenants
    old = _conversation(courses["bio101"], a.member, age_days=11)
    kept = _conversation(courses["bio101"], a.member, age_days=9)
    assert conversations_purge_expired() == 1
    assert list(Conversation.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Conversation.objects.filter(pk=old.pk).exists()


def test_purge_job_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["assistant-purge-conversations"]["task"] == "assistant.purge_conversations"
