"""Tenant-scoped reads for the Canvas integration."""

from django.db.models import Count, QuerySet

from assistant.models import KnowledgeItem
from integrations.canvas.models import CanvasConnection, CanvasCourseSync


def connection_for_workspace(*, workspace_id: int) -> CanvasConnection | None:
    return CanvasConnection.objects.filter(workspace_id=workspace_id).first()


def knowledge_items_for_course_sync(*, course_sync: CanvasCourseSync) -> QuerySet[KnowledgeItem]:
    """What the import stored for this link's group (same workspace, Canvas source only)."""
    return (
        KnowledgeItem.objects.filter(
            workspace_id=course_sync.workspace_id,
            group_id=course_sync.group_id,
            source=KnowledgeItem.Source.CANVAS,
        )
        .annotate(passage_count=Count("passages"))
        .order_by("item_type", "position", "title")
    )
