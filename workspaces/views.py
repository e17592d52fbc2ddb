from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from workspaces.selectors import group_get_for_user, group_role_label


@require_GET
@ensure_csrf_cookie
def group_detail(request: HttpRequest, group_uuid) -> HttpResponse:
    """The group's page inside the Canvas iframe: course, the person's role, the course assistant's chat."""
    if not request.user.is_authenticated:
        response = render(request, "workspaces/group_signed_out.html", status=403)
        return response
    group, membership = group_get_for_user(user=request.user, group_uuid=group_uuid)
    from assistant import selectors as assistant_selectors
    from assistant import services as assistant_services

    assistant = assistant_services.assistant_get_or_create_for_group(group=group)
    ws_settings = assistant_services.workspace_settings_get(workspace_id=group.workspace_id)
    response = render(
        request,
        "workspaces/group_detail.html",
        {
            "group": group,
            "membership": membership,
            "role_label": group_role_label(membership),
            "assistant": assistant,
            "mode": assistant_services.mode_of(assistant_services.assistant_provider(assistant=assistant)),
            "staff_can_read": ws_settings.staff_can_read_conversations,
            "max_question_chars": settings.ASSISTANT_MAX_QUESTION_CHARS,
            "can_manage": assistant_selectors.can_manage_assistant(
                user=request.user, group=group, membership=membership
            ),
            "can_view_usage": assistant_selectors.can_view_usage(user=request.user, group=group, membership=membership),
        },
    )
    response.frame_origins = group.workspace.frame_origins
    return response
