"""HTML pages of the assistant: settings (with uploads) and usage for course staff.

The chat itself lives on the group page (workspaces.views.group_detail) and talks to
``assistant.api``. Every page starts from an access helper and keeps the CSP
frame-ancestors of the workspace so it works inside the Canvas iframe.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from assistant import selectors, services
from assistant.forms import AssistantSettingsForm, UploadForm
from assistant.models import AssistantKnowledge, KnowledgeItem
from assistant.text import UnsupportedFile


def _framed(response: HttpResponse, group) -> HttpResponse:
    response.frame_origins = group.workspace.frame_origins
    return response


@require_http_methods(["GET", "POST"])
def assistant_settings(request: HttpRequest, group_uuid) -> HttpResponse:
    group, _ = selectors.group_get_for_manager(user=request.user, group_uuid=group_uuid)
    assistant = services.assistant_get_or_create_for_group(group=group)
    items = list(selectors.knowledge_list_for_group(group=group))
    selected = list(AssistantKnowledge.objects.filter(assistant=assistant).values_list("item_id", flat=True))
    initial = {
        "name": assistant.name,
        "instructions": assistant.instructions,
        "allow_general_knowledge": assistant.allow_general_knowledge,
        "use_all_knowledge": assistant.use_all_knowledge,
        "items": selected,
    }
    form = AssistantSettingsForm(initial=initial, items=items)
    upload_form = UploadForm()
    message = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "settings":
            form = AssistantSettingsForm(request.POST, items=items)
            if form.is_valid():
                services.assistant_update(
                    assistant=assistant,
                    name=form.cleaned_data["name"],
                    instructions=form.cleaned_data["instructions"],
                    allow_general_knowledge=form.cleaned_data["allow_general_knowledge"],
                    use_all_knowledge=form.cleaned_data["use_all_knowledge"],
                    item_ids=form.cleaned_data["items"],
                )
                return redirect("assistant:settings", group_uuid=group.uuid)
        elif action == "upload":
            upload_form = UploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                upload = upload_form.cleaned_data["file"]
                try:
                    services.knowledge_upload_create(
                        group=group, name=upload.name, data=upload.read(), title=upload_form.cleaned_data["title"]
                    )
                except UnsupportedFile as exc:
                    upload_form.add_error("file", str(exc))
                else:
                    return redirect("assistant:settings", group_uuid=group.uuid)
        elif action == "delete-upload":
            item = next((i for i in items if str(i.pk) == request.POST.get("item")), None)
            if item is None or item.source != KnowledgeItem.Source.UPLOAD:
                raise Http404("No such upload")
            services.knowledge_upload_delete(item=item)
            return redirect("assistant:settings", group_uuid=group.uuid)
    response = render(
        request,
        "assistant/assistant_settings.html",
        {
            "group": group,
            "assistant": assistant,
            "form": form,
            "upload_form": upload_form,
            "uploads": [i for i in items if i.source == KnowledgeItem.Source.UPLOAD],
            "mode": services.mode_of(services.assistant_provider(assistant=assistant)),
            "message": message,
        },
    )
    return _framed(response, group)


@require_GET
def assistant_usage(request: HttpRequest, group_uuid) -> HttpResponse:
    group, membership = selectors.group_get_for_usage(user=request.user, group_uuid=group_uuid)
    staff_can_read = services.workspace_settings_get(workspace_id=group.workspace_id).staff_can_read_conversations
    may_read = staff_can_read and selectors.can_read_conversations(user=request.user, membership=membership)
    conversations = selectors.conversation_list_for_staff(group=group)[:100] if may_read else None
    response = render(
        request,
        "assistant/assistant_usage.html",
        {
            "group": group,
            "usage": selectors.usage_for_group(group=group),
            "conversations": conversations,
            "staff_can_read": staff_can_read,
        },
    )
    return _framed(response, group)


@require_GET
def conversation_read(request: HttpRequest, group_uuid, conversation_uuid) -> HttpResponse:
    group, membership = selectors.group_get_for_usage(user=request.user, group_uuid=group_uuid)
    if not services.workspace_settings_get(workspace_id=group.workspace_id).staff_can_read_conversations:
        raise PermissionDenied("This workspace does not let course staff read conversations.")
    if not selectors.can_read_conversations(user=request.user, membership=membership):
        raise PermissionDenied("Only the course's Owners and Facilitators read individual conversations.")
    conversation = selectors.conversation_list_for_staff(group=group).filter(uuid=conversation_uuid).first()
    if conversation is None:
        raise Http404("No such conversation")
    response = render(
        request,
        "assistant/conversation_read.html",
        {"group": group, "conversation": conversation, "messages": conversation.messages.order_by("created_at")},
    )
    return _framed(response, group)
