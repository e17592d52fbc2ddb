"""Celery tasks of the course assistant."""

from celery import shared_task

from assistant import embeddings, services


@shared_task(
    name="assistant.embed_group",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def embed_group(*, group_id: int) -> int:
    """Embed the group's new or changed passages (idempotent: only pending ones are done)."""
    return embeddings.embed_pending(group_id=group_id)


@shared_task(name="assistant.purge_conversations", acks_late=True, time_limit=30 * 60)
def purge_conversations() -> int:
    """Delete conversations past their workspace's retention."""
    return services.conversations_purge_expired()
