from celery import shared_task

from integrations.services import login_attempts_purge


@shared_task(name="integrations.purge_login_attempts", acks_late=True, max_retries=3)
def purge_login_attempts() -> int:
    """Delete login attempts past LTI_LOGIN_TTL_SECONDS (idempotent)."""
    return login_attempts_purge()


from integrations.canvas import tasks as canvas_tasks  # noqa: E402,F401
