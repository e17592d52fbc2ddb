"""Retention: the daily purge (CELERY_BEAT_SCHEDULE["privacy-retention"])."""

from celery import shared_task

from privacy.services import retention_purge_platform, retention_purge_workspace
from workspaces.models import Workspace


@shared_task(name="privacy.retention_purge", acks_late=True, max_retries=3, time_limit=30 * 60)
def retention_purge() -> dict[str, int]:
    """Apply every workspace's retention policy, then the platform one (idempotent).

    Each workspace is purged in its own transaction, so one failure does not undo the
    others; a rerun only finds what is still past its retention.
    """
    totals: dict[str, int] = {}
    for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True):
        for key, value in retention_purge_workspace(workspace_id=workspace_id).items():
            totals[key] = totals.get(key, 0) + value
    for key, value in retention_purge_platform().items():
        totals[f"platform_{key}"] = value
    return totals
