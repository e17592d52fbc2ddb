"""Test settings: the real settings with a fast password hasher.

The database is always PostgreSQL (``DATABASE_URL``, set by ``scripts/devenv.py`` to an
embedded server when unset). The cache is process-local unless ``CACHE_URL`` is given so
that query-count assertions do not depend on the cache backend.
"""

import base64
import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("PUBLIC_BASE_URL", "https://tool.test")
os.environ.setdefault("ALLOWED_HOSTS", "tool.test,127.0.0.1,localhost,testserver")
os.environ.setdefault("CACHE_URL", "locmemcache://")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

from nectir.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run without a broker unless CELERY_BROKER_URL is set; the worker test starts a
# real worker on that broker. Everything else runs tasks in-process.
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
