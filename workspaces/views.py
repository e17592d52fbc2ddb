from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from workspaces.selectors import group_get_for_user, group_role_label


@require_GET
def group_detail(request: HttpRequest, group_uuid) -> HttpResponse:
    """The group's page inside the Canvas iframe: course, the person's role, content area."""
    if not request.user.is_authenticated:
        response = render(request, "workspaces/group_signed_out.html", status=403)
        return response
    group, membership = group_get_for_user(user=request.user, group_uuid=group_uuid)
    response = render(
        request,
        "workspaces/group_detail.html",
        {"group": group, "membership": membership, "role_label": group_role_label(membership)},
    )
    response.frame_origins = group.workspace.frame_origins
    return response
