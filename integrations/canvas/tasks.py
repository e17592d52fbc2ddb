"""Celery tasks for Canvas sync (imported by integrations/tasks.py).

Tasks take ids, re-fetch, and are idempotent: a course sync takes the group's single-flight
slot with a conditional UPDATE before doing anything, and the import itself is hash-based.
"""

import logging

from celery import shared_task
from django.conf import settings

from integrations.canvas import client as canvas
from integrations.canvas.models import CanvasConnection, CanvasCourseSync
from integrations.canvas.services import course_links_ensure, oauth_states_purge
from integrations.canvas.sync import course_sync_run

logger = logging.getLogger(__name__)


@shared_task(name="canvas.sync_course", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def sync_course(self, *, course_sync_id: int) -> dict:
    """Import one group's Canvas course. Transient Canvas errors retry with backoff, bounded by
    CANVAS_SYNC_TASK_MAX_RETRIES; the error stays visible in the admin meanwhile."""
    try:
        return course_sync_run(course_sync_id=course_sync_id)
    except canvas.CanvasRetryableError as exc:
        if self.request.retries >= settings.CANVAS_SYNC_TASK_MAX_RETRIES:
            logger.warning("canvas sync %s gave up after %s retries: %s", course_sync_id, self.request.retries, exc)
            return {"status": "failed", "error": str(exc)[:500]}
        retry_after = getattr(exc, "retry_after", None) or 0
        countdown = max(retry_after, settings.CANVAS_BACKOFF_BASE_SECONDS * 30 * (2**self.request.retries))
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="canvas.sync_connection", acks_late=True)
def sync_connection(*, connection_id: int) -> int:
    """Queue a sync for every enabled course link of the connection's workspace."""
    connection = CanvasConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != CanvasConnection.Status.CONNECTED:
        return 0
    course_links_ensure(workspace_id=connection.workspace_id)
    ids = list(
        CanvasCourseSync.objects.filter(workspace_id=connection.workspace_id, enabled=True, group__is_active=True)
        .exclude(state=CanvasCourseSync.State.RUNNING)
        .values_list("pk", flat=True)
    )
    for pk in ids:
        sync_course.delay(course_sync_id=pk)
    return len(ids)


@shared_task(name="canvas.sync_all", acks_late=True)
def sync_all() -> int:
    """Periodic (Celery beat): sync every connected workspace."""
    ids = list(CanvasConnection.objects.filter(status=CanvasConnection.Status.CONNECTED).values_list("pk", flat=True))
    for pk in ids:
        sync_connection.delay(connection_id=pk)
    return len(ids)


@shared_task(name="canvas.purge_oauth_states", acks_late=True)
def purge_oauth_states() -> int:
    return oauth_states_purge()
