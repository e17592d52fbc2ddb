"""A real Celery worker on the configured broker runs ``nectir.ping`` and returns its result.

The test settings run tasks eagerly; this test alone turns eager mode off for its call so
the message goes through the broker (CELERY_BROKER_URL) and the result comes back
through the result backend (the same Redis).
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not BROKER_URL,
        reason="CELERY_BROKER_URL is not set: no broker to start a real Celery worker on "
        "(e.g. CELERY_BROKER_URL=redis://127.0.0.1:6379/5)",
    ),
]


@pytest.fixture
def worker():
    """A worker subprocess (solo pool, queue 'celery'), always terminated."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "nectir.settings_test", "PYTHONUNBUFFERED": "1"}
    node = f"test-{uuid.uuid4().hex[:8]}@%h"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "nectir", "worker", "--pool=solo", "--concurrency=1", "-Q", "celery"]
        + ["-n", node, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture
def not_eager():
    from nectir.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield app
    finally:
        app.conf.task_always_eager = previous


def test_celery_worker_round_trips_ping(worker, not_eager):
    from nectir.tasks import ping

    assert not_eager.conf.broker_url == BROKER_URL
    value = uuid.uuid4().hex
    result = ping.delay(value=value)
    assert result.__class__.__name__ == "AsyncResult"  # sent to the broker, not run in-process

    deadline = time.monotonic() + 60
    while not result.ready():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{worker.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail("no result from the worker within 60 s")
        time.sleep(0.2)

    assert result.get(timeout=5) == f"pong:{value}"
    assert result.status == "SUCCESS"
    result.forget()
