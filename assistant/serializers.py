"""DRF serializers: shapes only, no writes (views call services)."""

from django.conf import settings
from rest_framework import serializers

from assistant.models import Assistant, Conversation, Message
from assistant.text import https_url


class HttpsUrlField(serializers.CharField):
    """A source link: emitted only when it is an absolute https URL, else ""."""

    def to_representation(self, value) -> str:
        return https_url(value)


class AssistantSerializer(serializers.ModelSerializer):
    group = serializers.UUIDField(source="group.uuid", read_only=True)
    mode = serializers.SerializerMethodField()
    mode_label = serializers.SerializerMethodField()
    staff_can_read_conversations = serializers.SerializerMethodField()

    class Meta:
        model = Assistant
        fields = [
            "uuid",
            "name",
            "group",
            "is_default",
            "allow_general_knowledge",
            "mode",
            "mode_label",
            "staff_can_read_conversations",
        ]

    def get_staff_can_read_conversations(self, obj) -> bool:
        return self.context["staff_can_read_conversations"]

    def get_mode(self, obj) -> str:
        return self.context["modes"][obj.pk]["mode"]

    def get_mode_label(self, obj) -> str:
        return self.context["modes"][obj.pk]["label"]


class SourceSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    item_id = serializers.IntegerField()
    passage_id = serializers.IntegerField()
    title = serializers.CharField()
    url = HttpsUrlField(allow_blank=True)
    type = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    citations = SourceSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["uuid", "role", "content", "status", "mode", "citations", "error", "created_at"]


class ConversationSerializer(serializers.ModelSerializer):
    assistant = serializers.UUIDField(source="assistant.uuid", read_only=True)

    class Meta:
        model = Conversation
        fields = ["uuid", "assistant", "title", "created_at", "updated_at"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=100_000)

    def validate_question(self, value: str) -> str:
        if len(value) > settings.ASSISTANT_MAX_QUESTION_CHARS:
            raise serializers.ValidationError(
                f"Questions are limited to {settings.ASSISTANT_MAX_QUESTION_CHARS} characters."
            )
        return value


class AskResultSerializer(serializers.Serializer):
    question = MessageSerializer()
    answer = MessageSerializer()
    stream_url = serializers.CharField()


class UsageDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    questions = serializers.IntegerField()


class CitedSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    title = serializers.CharField()
    url = HttpsUrlField(allow_blank=True)
    citations = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    questions = serializers.IntegerField()
    answers = serializers.IntegerField()
    unanswered = serializers.IntegerField()
    unanswered_rate = serializers.FloatField()
    questions_per_day = UsageDaySerializer(many=True)
    most_cited = CitedSerializer(many=True)
