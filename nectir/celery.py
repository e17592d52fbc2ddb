"""The Celery application.

With ``CELERY_BROKER_URL`` unset, tasks run in-process (``task_always_eager``); the
settings module logs that at startup so nobody mistakes it for a production layout.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nectir.settings")

app = Celery("nectir", include=["nectir.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
