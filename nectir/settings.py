"""Settings for every deployment. Every difference comes from the environment.

Each variable is documented in README.md ("Configuration") and in ``.env.example``.
"""

import logging
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

logger = logging.getLogger("nectir.settings")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# The public origin of this installation, used in LTI and OAuth URLs given to Canvas.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Plain http is only ever allowed for local work on a loopback address.
ALLOW_LOCAL_HTTP = env.bool("ALLOW_LOCAL_HTTP", default=False)
if _public.scheme != "https":
    if not (ALLOW_LOCAL_HTTP and _public.hostname in LOOPBACK_HOSTS):
        raise ImproperlyConfigured(
            "PUBLIC_BASE_URL must be https; plain http needs ALLOW_LOCAL_HTTP=true "
            "and a loopback host (127.0.0.1 or localhost)."
        )
LOCAL_HTTP = _public.scheme == "http"

INSTALLED_APPS = [
    "nectir.apps.NectirAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "workspaces",
    "integrations",
    "assistant",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "nectir.middleware.FramingPolicyMiddleware",
    "nectir.middleware.PartitionedCookieMiddleware",
]

ROOT_URLCONF = "nectir.urls"
WSGI_APPLICATION = "nectir.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared cache (platform JWKS, sessions, role mappings). Redis in production (with a
# non-evicting maxmemory policy: sessions live here); by default a table in PostgreSQL so
# that every process still shares one cache with no extra service. Django's DatabaseCache
# culls a third of its rows past MAX_ENTRIES (300 by default), which would sign people out
# at random: the default allows a million entries.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://nectir_cache?MAX_ENTRIES=1000000")}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Browser security -------------------------------------------------------------
# The tool lives inside Canvas's iframe: the cookies the launch and later pages need
# are SameSite=None; Secure; Partitioned (CHIPS). Plain-http local work falls back to
# Lax cookies, which only work top-level (the built-in test platform is top-level).
_cross_site = "Lax" if LOCAL_HTTP else "None"
SESSION_COOKIE_SECURE = not LOCAL_HTTP
SESSION_COOKIE_SAMESITE = _cross_site
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "nectir_session"
CSRF_COOKIE_SECURE = not LOCAL_HTTP
CSRF_COOKIE_SAMESITE = _cross_site
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"{_public.scheme}://{_public.netloc}"])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if LOCAL_HTTP else 31536000)
# X-Frame-Options is replaced by a per-workspace CSP frame-ancestors policy
# (nectir.middleware.FramingPolicyMiddleware); pages outside a workspace are never framed.
X_FRAME_OPTIONS = "DENY"

# --- Encryption at rest -----------------------------------------------------------
# Comma-separated urlsafe-base64 32-byte keys. The first encrypts; all decrypt, so a new
# key can be put first and old ciphertexts re-encrypted with `manage.py reencrypt_secrets`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one key.")

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "purge-login-attempts": {"task": "integrations.purge_login_attempts", "schedule": 15 * 60},
}

# --- LTI --------------------------------------------------------------------------
LTI_CLOCK_LEEWAY_SECONDS = env.int("LTI_CLOCK_LEEWAY_SECONDS", default=60)
LTI_MAX_ID_TOKEN_BYTES = env.int("LTI_MAX_ID_TOKEN_BYTES", default=64 * 1024)
LTI_LOGIN_TTL_SECONDS = env.int("LTI_LOGIN_TTL_SECONDS", default=600)
LTI_HTTP_TIMEOUT_SECONDS = env.float("LTI_HTTP_TIMEOUT_SECONDS", default=5.0)
LTI_JWKS_CACHE_MIN_SECONDS = env.int("LTI_JWKS_CACHE_MIN_SECONDS", default=300)
LTI_JWKS_CACHE_MAX_SECONDS = env.int("LTI_JWKS_CACHE_MAX_SECONDS", default=86400)
LTI_JWKS_REFETCH_COOLDOWN_SECONDS = env.int("LTI_JWKS_REFETCH_COOLDOWN_SECONDS", default=30)
LTI_KEY_OVERLAP_DAYS = env.int("LTI_KEY_OVERLAP_DAYS", default=7)
LTI_TEST_PLATFORM_ENABLED = env.bool("LTI_TEST_PLATFORM_ENABLED", default=DEBUG)
PRODUCT_NAME = env.str("PRODUCT_NAME", default="Nectir Course Assistant")
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="it-admin@example.edu")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.security": {"level": "WARNING"}},
}

# --- Canvas REST API (integrations/canvas) ------------------------------------------
# (section owned by the Canvas API work; add CANVAS_* settings here)
# Timeouts on every Canvas call (connect, read), in seconds.
CANVAS_CONNECT_TIMEOUT_SECONDS = env.float("CANVAS_CONNECT_TIMEOUT_SECONDS", default=5.0)
CANVAS_READ_TIMEOUT_SECONDS = env.float("CANVAS_READ_TIMEOUT_SECONDS", default=30.0)
# Bounded retries on 429 / 403 "Rate Limit Exceeded" / 5xx / timeouts, exponential backoff with jitter.
CANVAS_MAX_RETRIES = env.int("CANVAS_MAX_RETRIES", default=5)
CANVAS_BACKOFF_BASE_SECONDS = env.float("CANVAS_BACKOFF_BASE_SECONDS", default=1.0)
CANVAS_BACKOFF_MAX_SECONDS = env.float("CANVAS_BACKOFF_MAX_SECONDS", default=60.0)
# A Retry-After longer than this ends the run as retryable (the Celery task retries later).
CANVAS_RETRY_AFTER_MAX_SECONDS = env.float("CANVAS_RETRY_AFTER_MAX_SECONDS", default=120.0)
# Slow down when X-Rate-Limit-Remaining falls under this (Canvas's bucket holds 700).
CANVAS_RATE_LIMIT_LOW_WATER = env.float("CANVAS_RATE_LIMIT_LOW_WATER", default=150.0)
CANVAS_RATE_LIMIT_PAUSE_SECONDS = env.float("CANVAS_RATE_LIMIT_PAUSE_SECONDS", default=2.0)
# A listing longer than this many pages (of 100) is incomplete: the sync removes nothing.
CANVAS_MAX_PAGES = env.int("CANVAS_MAX_PAGES", default=500)
CANVAS_MAX_RESPONSE_BYTES = env.int("CANVAS_MAX_RESPONSE_BYTES", default=50 * 1024 * 1024)
# Refresh the access token this long before it expires (Canvas tokens last one hour).
CANVAS_TOKEN_REFRESH_MARGIN_SECONDS = env.int("CANVAS_TOKEN_REFRESH_MARGIN_SECONDS", default=300)
CANVAS_OAUTH_STATE_TTL_SECONDS = env.int("CANVAS_OAUTH_STATE_TTL_SECONDS", default=600)
# Files: text is extracted from PDF, DOCX, HTML, TXT and Markdown up to this size.
CANVAS_FILE_MAX_BYTES = env.int("CANVAS_FILE_MAX_BYTES", default=10 * 1024 * 1024)
CANVAS_PASSAGE_MAX_CHARS = env.int("CANVAS_PASSAGE_MAX_CHARS", default=1500)
# Announcements before this date are not imported (Canvas's default window is only 6 weeks).
CANVAS_ANNOUNCEMENTS_START_DATE = env.str("CANVAS_ANNOUNCEMENTS_START_DATE", default="2000-01-01")
CANVAS_SYNC_INTERVAL_SECONDS = env.int("CANVAS_SYNC_INTERVAL_SECONDS", default=6 * 3600)
# A running sync whose heartbeat is older than this is taken as dead and may be restarted.
CANVAS_SYNC_STALE_SECONDS = env.int("CANVAS_SYNC_STALE_SECONDS", default=30 * 60)
CANVAS_SYNC_TASK_MAX_RETRIES = env.int("CANVAS_SYNC_TASK_MAX_RETRIES", default=3)
# Plain-http Canvas URLs, and any loopback address, are refused unless this is on (local work, tests).
CANVAS_ALLOW_LOOPBACK_HTTP = env.bool("CANVAS_ALLOW_LOOPBACK_HTTP", default=LOCAL_HTTP)
# Compute passage embeddings at the end of each sync that changed something (assistant.embeddings).
CANVAS_EMBED_AFTER_SYNC = env.bool("CANVAS_EMBED_AFTER_SYNC", default=True)
# httpx logs every URL at INFO: file links carry a verifier, so keep it at WARNING.
LOGGING["loggers"].update({"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}})
CELERY_BEAT_SCHEDULE["canvas-sync-all"] = {"task": "canvas.sync_all", "schedule": CANVAS_SYNC_INTERVAL_SECONDS}
CELERY_BEAT_SCHEDULE["canvas-purge-oauth-states"] = {"task": "canvas.purge_oauth_states", "schedule": 15 * 60}

# --- Course assistant (assistant/) ---------------------------------------------------
# (section owned by the course-assistant work; add ASSISTANT_* settings here)
# Documented in docs/assistant.md ("Settings").
INSTALLED_APPS += ["drf_spectacular"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "Nectir course assistant API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
STATICFILES_DIRS = [BASE_DIR / "static"]
ASSISTANT_MAX_QUESTION_CHARS = env.int("ASSISTANT_MAX_QUESTION_CHARS", default=1000)
ASSISTANT_RATE_LIMIT_QUESTIONS = env.int("ASSISTANT_RATE_LIMIT_QUESTIONS", default=20)
ASSISTANT_RATE_LIMIT_WINDOW_SECONDS = env.int("ASSISTANT_RATE_LIMIT_WINDOW_SECONDS", default=600)
ASSISTANT_RETRIEVAL_K = env.int("ASSISTANT_RETRIEVAL_K", default=5)
ASSISTANT_MIN_SIMILARITY = env.float("ASSISTANT_MIN_SIMILARITY", default=0.25)
ASSISTANT_MIN_TERM_COVERAGE = env.float("ASSISTANT_MIN_TERM_COVERAGE", default=0.5)
ASSISTANT_VECTOR_CACHE_GROUPS = env.int("ASSISTANT_VECTOR_CACHE_GROUPS", default=32)
ASSISTANT_DEFAULT_RETENTION_DAYS = env.int("ASSISTANT_DEFAULT_RETENTION_DAYS", default=365)
ASSISTANT_MAX_UPLOAD_BYTES = env.int("ASSISTANT_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
ASSISTANT_PROVIDER_BACKOFF_SECONDS = env.float("ASSISTANT_PROVIDER_BACKOFF_SECONDS", default=0.5)
CELERY_BEAT_SCHEDULE["assistant-purge-conversations"] = {
    "task": "assistant.purge_conversations",
    "schedule": 6 * 3600,
}

# --- Privacy, audit and data access (privacy/) ---------------------------------------
# (section owned by the data-access work; add PRIVACY_* / AUDIT_* settings here)
# Retention defaults for a workspace whose Owner has not set its own (privacy.RetentionPolicy).
PRIVACY_DEFAULT_LAUNCH_EVENT_DAYS = env.int("PRIVACY_DEFAULT_LAUNCH_EVENT_DAYS", default=90)
PRIVACY_DEFAULT_AUDIT_ENTRY_DAYS = env.int("PRIVACY_DEFAULT_AUDIT_ENTRY_DAYS", default=400)
PRIVACY_DEFAULT_INACTIVE_MEMBERSHIP_DAYS = env.int("PRIVACY_DEFAULT_INACTIVE_MEMBERSHIP_DAYS", default=180)
# Platform-level records (no workspace: refused launches of unknown platforms, key rotations,
# operator sign-ins) are kept this long.
PRIVACY_PLATFORM_RETENTION_DAYS = env.int("PRIVACY_PLATFORM_RETENTION_DAYS", default=400)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {"task": "privacy.retention_purge", "schedule": 24 * 3600}
