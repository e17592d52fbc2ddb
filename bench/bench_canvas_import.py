"""Canvas course import benchmark against the fake Canvas on 127.0.0.1.

    python bench/bench_canvas_import.py [--pages 1000] [--files 200] [--embed]

Prepares a clean database ``nectir_bench_canvas`` (on the embedded PostgreSQL when
DATABASE_URL is unset, as scripts/devenv.py does), serves a course of ``--pages`` pages and
``--files`` files (PDF, DOCX, HTML, TXT, Markdown) from the tests' fake Canvas, and runs the
import twice in this process: a first full import, then an incremental run with nothing
changed. Prints items/s and SQL queries per item for each, and writes
bench/results/canvas_import.json. Passage embeddings (the course-assistant encoder) are left
out unless ``--embed`` is given, so the figure is the import's own.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.devenv import DATA, ensure_database, local_secrets  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DB_NAME = "nectir_bench_canvas"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def prepare() -> None:
    DATA.mkdir(exist_ok=True)
    env = dict(os.environ)
    for key, value in local_secrets().items():
        env.setdefault(key, value)
    ensure_database(env)
    import psycopg

    with psycopg.connect(with_database(env["DATABASE_URL"], "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    env["DATABASE_URL"] = with_database(env["DATABASE_URL"], DB_NAME)
    env.update(
        DJANGO_SETTINGS_MODULE="nectir.settings",
        ALLOW_LOCAL_HTTP="true",
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
        CANVAS_ALLOW_LOOPBACK_HTTP="true",
        LOG_LEVEL="WARNING",
    )
    os.environ.update(env)


def build_course(state, *, pages: int, files: int) -> None:
    from tests.canvas.fake_canvas import make_docx, make_pdf

    paragraph = (
        "<p>Cellular respiration converts glucose into ATP through glycolysis, the Krebs cycle and "
        "oxidative phosphorylation. Students should be able to explain each stage. </p>"
    )
    for n in range(1, pages + 1):
        body = f"<h2>Lecture {n}</h2>" + paragraph * 8 + f"<ul><li>Reading {n}.1</li><li>Reading {n}.2</li></ul>"
        state.add_page(n, f"Lecture {n:04d}", body)
    kinds = [
        ("pdf", "application/pdf", lambda n: make_pdf(f"Handout {n}: enzymes lower activation energy")),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            lambda n: make_docx([f"Worksheet {n}", "Explain the role of ATP synthase."] * 5),
        ),
        ("html", "text/html", lambda n: f"<html><body><h1>Guide {n}</h1>{paragraph * 4}</body></html>".encode()),
        ("txt", "text/plain", lambda n: (f"Notes {n}\n\n" + "Mitosis has four phases. " * 40).encode()),
        ("md", "text/markdown", lambda n: (f"# Summary {n}\n\n- photosynthesis\n- respiration\n" * 10).encode()),
    ]
    for n in range(1, files + 1):
        ext, mime, make = kinds[n % len(kinds)]
        state.add_file(10_000 + n, f"material-{n:03d}.{ext}", mime, make(n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--embed", action="store_true", help="also compute passage embeddings")
    args = parser.parse_args()
    prepare()
    os.environ["CANVAS_EMBED_AFTER_SYNC"] = "true" if args.embed else "false"

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)

    from datetime import timedelta

    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from assistant.models import KnowledgeItem, Passage
    from integrations.canvas.client import SCOPES
    from integrations.canvas.models import CanvasConnection, CanvasCourseSync
    from integrations.canvas.sync import course_sync_run
    from tests.canvas.fake_canvas import FakeCanvas
    from workspaces.models import Group
    from workspaces.services import workspace_create

    with FakeCanvas() as fake:
        build_course(fake.state, pages=args.pages, files=args.files)
        workspace = workspace_create(name="Bench University", slug="bench")
        CanvasConnection.objects.create(
            workspace=workspace,
            instance_url=fake.url,
            client_id=fake.state.client_id,
            client_secret=fake.state.client_secret,
            status=CanvasConnection.Status.CONNECTED,
            access_token=fake.state.issue_token(),
            refresh_token=fake.state.issue_refresh_token(),
            token_expires_at=timezone.now() + timedelta(hours=1),
            scopes=list(SCOPES),
        )
        group = Group.objects.create(workspace=workspace, name="Bench Biology", canvas_course_id="370663")
        link = CanvasCourseSync.objects.create(workspace=workspace, group=group)

        runs = {}
        for label in ("first_import", "incremental_no_change"):
            fake.state.rate_remaining = 700.0
            fake.state.log.clear()
            with CaptureQueriesContext(db) as queries:
                started = time.perf_counter()
                result = course_sync_run(course_sync_id=link.pk)
                elapsed = time.perf_counter() - started
            assert result["status"] == "succeeded", result
            items = KnowledgeItem.objects.filter(group=group).count()
            runs[label] = {
                "items": items,
                "seconds": round(elapsed, 3),
                "items_per_second": round(items / elapsed, 1),
                "sql_queries": len(queries),
                "sql_queries_per_item": round(len(queries) / items, 3),
                "canvas_requests": len(fake.state.log),
                "created": result["created"],
                "updated": result["updated"],
                "unchanged": result["unchanged"],
                "files_with_text": result["files_text"],
            }
        passages = Passage.objects.filter(group=group).count()

    report = {
        "pages": args.pages,
        "files": args.files,
        "passages": passages,
        "embeddings": args.embed,
        "runs": runs,
        "target_items_per_second": 50,
    }
    print(f"Canvas import: {args.pages} pages + {args.files} files -> {passages} passages (embeddings: {args.embed})")
    print(f"{'run':24} {'items':>6} {'seconds':>8} {'items/s':>8} {'SQL':>6} {'SQL/item':>9} {'requests':>9}")
    for label, run in runs.items():
        print(
            f"{label:24} {run['items']:>6} {run['seconds']:>8} {run['items_per_second']:>8} "
            f"{run['sql_queries']:>6} {run['sql_queries_per_item']:>9} {run['canvas_requests']:>9}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "canvas_import.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if runs["first_import"]["items_per_second"] >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
