from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from workspaces.models import GroupRole
from workspaces.selectors import group_get_for_user, group_role_label


@require_GET
@ensure_csrf_cookie
def group_detail(request: HttpRequest, group_uuid) -> HttpResponse:
    """The group's page inside the Canvas iframe: course, the person's role, the course assistant's chat.

    The chat loads its assistant through the assistant API (which creates it when needed),
    so this page stays at the launch path's query budget.
    """
    if not request.user.is_authenticated:
        response = render(request, "workspaces/group_signed_out.html", status=403)
        return response
    group, membership = group_get_for_user(user=request.user, group_uuid=group_uuid)
    # No membership means a workspace Owner/Editor or a superuser (group_get_for_user let them in).
    role = membership.role if membership else GroupRole.OWNER
    response = render(
        request,
        "workspaces/group_detail.html",
        {
            "group": group,
            "membership": membership,
            "role_label": group_role_label(membership),
            "can_manage": role == GroupRole.OWNER,
            "can_view_usage": role in (GroupRole.OWNER, GroupRole.FACILITATOR),
            "max_question_chars": settings.ASSISTANT_MAX_QUESTION_CHARS,
        },
    )
    response.frame_origins = group.workspace.frame_origins
    return response
