from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from assistant import api, views

app_name = "assistant"

urlpatterns = [
    path("api/assistant/schema/", SpectacularAPIView.as_view(urlconf="assistant.urls"), name="api-schema"),
    path(
        "api/assistant/groups/<uuid:group_uuid>/assistants/", api.GroupAssistantsView.as_view(), name="api-assistants"
    ),
    path("api/assistant/groups/<uuid:group_uuid>/usage/", api.UsageView.as_view(), name="api-usage"),
    path(
        "api/assistant/assistants/<uuid:assistant_uuid>/conversations/",
        api.ConversationsView.as_view(),
        name="api-conversations",
    ),
    path("api/assistant/assistants/<uuid:assistant_uuid>/history/", api.HistoryView.as_view(), name="api-history"),
    path(
        "api/assistant/conversations/<uuid:conversation_uuid>/", api.ConversationView.as_view(), name="api-conversation"
    ),
    path("api/assistant/conversations/<uuid:conversation_uuid>/ask/", api.AskView.as_view(), name="api-ask"),
    path("api/assistant/messages/<uuid:message_uuid>/stream/", api.StreamView.as_view(), name="api-stream"),
    path("groups/<uuid:group_uuid>/assistant/settings/", views.assistant_settings, name="settings"),
    path("groups/<uuid:group_uuid>/assistant/usage/", views.assistant_usage, name="usage"),
    path(
        "groups/<uuid:group_uuid>/assistant/conversations/<uuid:conversation_uuid>/",
        views.conversation_read,
        name="conversation-read",
    ),
]
