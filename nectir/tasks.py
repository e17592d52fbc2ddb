from celery import shared_task


@shared_task(name="nectir.ping")
def ping(*, value: str) -> str:
    """Round-trip probe used by the health check and the worker test."""
    return f"pong:{value}"
