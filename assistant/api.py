"""The chat API used by the group page: every endpoint is tenant- and group-scoped.

The group (and so the knowledge searched) always comes from the server-side access
helpers, from the signed-in person's membership; nothing the client sends chooses it.
"""

import json

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant import selectors, services
from assistant.serializers import (
    AskResultSerializer,
    AskSerializer,
    AssistantSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
    UsageSerializer,
)
from workspaces.selectors import group_get_for_user


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def _modes(assistants) -> dict:
    return {a.pk: services.mode_of(services.assistant_provider(assistant=a)) for a in assistants}


class GroupAssistantsView(APIView):
    @extend_schema(responses=AssistantSerializer(many=True), summary="List the assistants of a group")
    def get(self, request, group_uuid):
        group, _ = group_get_for_user(user=request.user, group_uuid=group_uuid)
        services.assistant_get_or_create_for_group(group=group)
        assistants = list(selectors.assistant_list_for_group(group=group).select_related("group"))
        staff_can_read = services.workspace_settings_get(workspace_id=group.workspace_id).staff_can_read_conversations
        context = {"modes": _modes(assistants), "staff_can_read_conversations": staff_can_read}
        data = AssistantSerializer(assistants, many=True, context=context).data
        return Response(data)


class ConversationsView(APIView):
    @extend_schema(responses=ConversationSerializer(many=True), summary="List my conversations with an assistant")
    def get(self, request, assistant_uuid):
        assistant, _ = selectors.assistant_get_for_user(user=request.user, assistant_uuid=assistant_uuid)
        conversations = selectors.conversation_list_for_user(user=request.user, assistant=assistant)
        return Response(ConversationSerializer(conversations.select_related("assistant"), many=True).data)

    @extend_schema(request=None, responses={201: ConversationSerializer}, summary="Start a conversation")
    def post(self, request, assistant_uuid):
        assistant, _ = selectors.assistant_get_for_user(user=request.user, assistant_uuid=assistant_uuid)
        conversation = services.conversation_start(assistant=assistant, user=request.user)
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)


class HistoryView(APIView):
    @extend_schema(responses={204: None}, summary="Delete all of my conversations with an assistant")
    def delete(self, request, assistant_uuid):
        assistant, _ = selectors.assistant_get_for_user(user=request.user, assistant_uuid=assistant_uuid)
        services.history_delete_for_user(assistant=assistant, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationView(APIView):
    @extend_schema(responses=ConversationDetailSerializer, summary="One of my conversations with its messages")
    def get(self, request, conversation_uuid):
        conversation = selectors.conversation_get_for_user(user=request.user, conversation_uuid=conversation_uuid)
        return Response(ConversationDetailSerializer(conversation).data)

    @extend_schema(responses={204: None}, summary="Delete one of my conversations")
    def delete(self, request, conversation_uuid):
        conversation = selectors.conversation_get_for_user(user=request.user, conversation_uuid=conversation_uuid)
        services.conversation_delete(conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AskView(APIView):
    @extend_schema(
        request=AskSerializer,
        responses={
            201: AskResultSerializer,
            400: OpenApiResponse(description="Empty or too long"),
            429: OpenApiResponse(description="Rate limited"),
        },
        summary="Ask a question; the answer is produced by the stream endpoint",
    )
    def post(self, request, conversation_uuid):
        conversation = selectors.conversation_get_for_user(user=request.user, conversation_uuid=conversation_uuid)
        serializer = AskSerializer(data=request.data)
        if not serializer.is_valid():
            message = " ".join(str(e) for errors in serializer.errors.values() for e in errors)
            return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)
        try:
            asked, answer = services.question_ask(
                conversation=conversation, user=request.user, question=serializer.validated_data["question"]
            )
        except services.QuestionRejected as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return Response({"detail": exc.message}, status=exc.status, headers=headers)
        result = {
            "question": asked,
            "answer": answer,
            "stream_url": reverse("assistant:api-stream", kwargs={"message_uuid": answer.uuid}),
        }
        return Response(AskResultSerializer(result).data, status=status.HTTP_201_CREATED)


def _sse(events):
    yield ": stream open\n\n"
    for event in events:
        yield f"event: {event.event}\ndata: {json.dumps(event.data)}\n\n"


class StreamView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        responses={(200, "text/event-stream"): OpenApiTypes.STR},
        summary="Stream an answer as server-sent events (meta, delta, sources, error, done)",
    )
    def get(self, request, message_uuid):
        answer = selectors.message_get_for_user(user=request.user, message_uuid=message_uuid)
        if answer.role != answer.Role.ASSISTANT:
            return Response({"detail": "Not an answer."}, status=status.HTTP_400_BAD_REQUEST)
        response = StreamingHttpResponse(_sse(services.answer_stream(answer=answer)), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


class UsageView(APIView):
    @extend_schema(responses=UsageSerializer, summary="Usage of a group's assistant (Owners and Facilitators)")
    def get(self, request, group_uuid):
        group, _ = selectors.group_get_for_usage(user=request.user, group_uuid=group_uuid)
        return Response(UsageSerializer(selectors.usage_for_group(group=group)).data)
