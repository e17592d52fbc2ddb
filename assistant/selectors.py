"""Tenant-scoped reads for the assistant. Access helpers raise 404 for missing and
not-yours alike and PermissionDenied (403) for too low a role."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from assistant.models import Assistant, Conversation, KnowledgeItem, Message, MessageCitation
from assistant.text import https_url
from workspaces.models import Group, GroupMembership, GroupRole, WorkspaceRole
from workspaces.selectors import group_get_for_user, workspace_admin_roles_for_user


def _is_workspace_admin(*, user, workspace_id: int) -> bool:
    return user.is_superuser or workspace_admin_roles_for_user(user=user).get(workspace_id) in (
        WorkspaceRole.OWNER,
        WorkspaceRole.EDITOR,
    )


def can_manage_assistant(*, user, group: Group, membership: GroupMembership | None) -> bool:
    """Workspace Owners and Editors, and the group's Owners."""
    if _is_workspace_admin(user=user, workspace_id=group.workspace_id):
        return True
    return membership is not None and membership.role == GroupRole.OWNER


def can_view_usage(*, user, group: Group, membership: GroupMembership | None) -> bool:
    """Workspace Owners and Editors, and the group's Owners and Facilitators."""
    if _is_workspace_admin(user=user, workspace_id=group.workspace_id):
        return True
    return membership is not None and membership.role in (GroupRole.OWNER, GroupRole.FACILITATOR)


def can_read_conversations(*, user, membership: GroupMembership | None) -> bool:
    """The group's active Owners and Facilitators, and superusers (workspace Owners and
    Editors without such a group role see usage aggregates only)."""
    if user.is_superuser:
        return True
    return (
        membership is not None and membership.is_active and membership.role in (GroupRole.OWNER, GroupRole.FACILITATOR)
    )


def group_get_for_manager(*, user, group_uuid) -> tuple[Group, GroupMembership | None]:
    group, membership = group_get_for_user(user=user, group_uuid=group_uuid)
    if not can_manage_assistant(user=user, group=group, membership=membership):
        raise PermissionDenied("Only the course's Owners and workspace Owners or Editors manage the assistant.")
    return group, membership


def group_get_for_usage(*, user, group_uuid) -> tuple[Group, GroupMembership | None]:
    group, membership = group_get_for_user(user=user, group_uuid=group_uuid)
    if not can_view_usage(user=user, group=group, membership=membership):
        raise PermissionDenied("Only the course's Owners and Facilitators see usage.")
    return group, membership


def assistant_list_for_group(*, group: Group) -> QuerySet[Assistant]:
    return Assistant.objects.filter(workspace_id=group.workspace_id, group=group).order_by("-is_default", "name")


def assistant_get_for_user(*, user, assistant_uuid) -> tuple[Assistant, GroupMembership | None]:
    """The assistant when the user may use its group (404 otherwise)."""
    try:
        assistant = Assistant.objects.select_related("group__workspace").filter(uuid=assistant_uuid).first()
    except (ValueError, ValidationError) as exc:
        raise Http404("No such assistant") from exc
    if assistant is None:
        raise Http404("No such assistant")
    group, membership = group_get_for_user(user=user, group_uuid=assistant.group.uuid)
    if group.pk != assistant.group_id:
        raise Http404("No such assistant")
    return assistant, membership


def conversation_get_for_user(*, user, conversation_uuid) -> Conversation:
    """One of the user's own conversations, while they may still use its group."""
    if not user.is_authenticated:
        raise Http404("No such conversation")
    try:
        conversation = (
            Conversation.objects.select_related("assistant__group__workspace")
            .filter(uuid=conversation_uuid, user=user)
            .first()
        )
    except (ValueError, ValidationError) as exc:
        raise Http404("No such conversation") from exc
    if conversation is None:
        raise Http404("No such conversation")
    group_get_for_user(user=user, group_uuid=conversation.assistant.group.uuid)
    return conversation


def message_get_for_user(*, user, message_uuid) -> Message:
    try:
        message = (
            Message.objects.select_related("conversation__assistant__group__workspace", "question")
            .filter(uuid=message_uuid, conversation__user=user)
            .first()
        )
    except (ValueError, ValidationError) as exc:
        raise Http404("No such message") from exc
    if message is None:
        raise Http404("No such message")
    group_get_for_user(user=user, group_uuid=message.conversation.assistant.group.uuid)
    return message


def conversation_list_for_user(*, user, assistant: Assistant) -> QuerySet[Conversation]:
    return Conversation.objects.filter(workspace_id=assistant.workspace_id, assistant=assistant, user=user).order_by(
        "-updated_at"
    )


def conversation_list_for_staff(*, group: Group) -> QuerySet[Conversation]:
    """Every conversation of the group (only used when the workspace allows staff to read them)."""
    return (
        Conversation.objects.filter(workspace_id=group.workspace_id, assistant__group=group)
        .select_related("user")
        .annotate(questions=Count("messages", filter=Q(messages__role=Message.Role.USER)))
        .order_by("-updated_at")
    )


def knowledge_list_for_group(*, group: Group) -> QuerySet[KnowledgeItem]:
    return KnowledgeItem.objects.filter(workspace_id=group.workspace_id, group=group).order_by("source", "title")


def usage_for_group(*, group: Group, days: int = 30) -> dict:
    """Questions per day, the unanswered rate and the most cited materials (last ``days`` days)."""
    since = timezone.now() - timedelta(days=days)
    messages = Message.objects.filter(
        workspace_id=group.workspace_id, conversation__assistant__group=group, created_at__gte=since
    )
    per_day = list(
        messages.filter(role=Message.Role.USER)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(questions=Count("id"))
        .order_by("day")
    )
    answers = messages.filter(role=Message.Role.ASSISTANT).exclude(
        status__in=[Message.Status.PENDING, Message.Status.STREAMING]
    )
    totals = answers.aggregate(
        total=Count("id"),
        unanswered=Count("id", filter=Q(status__in=[Message.Status.DECLINED, Message.Status.ERROR])),
    )
    cited = list(
        MessageCitation.objects.filter(workspace_id=group.workspace_id, message__in=answers, item__group=group)
        .values("item_id", "item__title", "item__url")
        .annotate(citations=Count("id"))
        .order_by("-citations", "item__title")[:10]
    )
    total = totals["total"] or 0
    return {
        "days": days,
        "questions_per_day": [{"day": row["day"].isoformat(), "questions": row["questions"]} for row in per_day],
        "questions": sum(row["questions"] for row in per_day),
        "answers": total,
        "unanswered": totals["unanswered"],
        "unanswered_rate": round(totals["unanswered"] / total, 3) if total else 0.0,
        "most_cited": [
            {
                "item_id": r["item_id"],
                "title": r["item__title"],
                "url": https_url(r["item__url"]),
                "citations": r["citations"],
            }
            for r in cited
        ],
    }
