"""Course content import from Canvas into a group's knowledge base (assistant.KnowledgeItem/Passage).

One run (``course_sync_run``), for one group, at most one at a time:

1. listing: the course (syllabus), pages, assignments, discussion topics, quizzes,
   announcements, modules and their items, files. Every listing is complete or the run stops
   (nothing is written yet). Unpublished items are dropped here and never imported.
2. content: for pages and files, only new or changed ones (Canvas ``updated_at`` differs) are
   fetched; every item is hashed, unchanged ones are skipped, changed ones replaced. Writes go in
   batches, each in one transaction (item rows upserted in bulk, their passages replaced), so an
   item and its passages always change together.
3. removals: only after every listing and fetch of the run succeeded, items no longer in
   Canvas (deleted or unpublished) are removed. A run that fails halfway removes nothing; the
   next run skips what is already current and picks up the rest.

Never read: submissions, grades, discussion replies, users or enrolments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from assistant.embeddings import embed_pending
from assistant.models import KnowledgeItem, Passage
from integrations.canvas import client as canvas
from integrations.canvas.extract import file_kind, file_to_text, html_to_text, split_passages
from integrations.canvas.models import CanvasConnection, CanvasCourseSync
from integrations.canvas.services import canvas_client_for, canvas_error_record
from privacy.audit import audit_record

logger = logging.getLogger(__name__)

T = KnowledgeItem.ItemType
BATCH = 100
UNIQUE_FIELDS = ["workspace", "group", "source", "item_type", "external_id"]
UPDATE_FIELDS = [
    "title",
    "url",
    "source_updated_at",
    "content_hash",
    "text",
    "parent",
    "position",
    "metadata",
    "updated_at",
]


class SyncSuperseded(Exception):
    """Another run took over this group's sync (ours was considered stale)."""


@dataclass
class Staged:
    """One item as Canvas has it now, ready to compare and write."""

    item_type: str
    external_id: str
    title: str
    url: str = ""
    updated_at: datetime | None = None
    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    position: int = 0
    parent_key: tuple[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.item_type, self.external_id)

    @property
    def content_hash(self) -> str:
        payload = [self.item_type, self.title, self.url, self.text, self.metadata, self.position, self.parent_key]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Existing:
    pk: int
    content_hash: str
    updated_at: datetime | None


def _dt(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _published(obj: dict) -> bool:
    """Canvas tells teachers ``published``; absent means the token user only sees published items."""
    return obj.get("published") is not False


def _title(value: Any, fallback: str) -> str:
    text = " ".join(str(value or "").split())
    return (text or fallback)[:500]


def _dates_line(obj: dict, fields: tuple[tuple[str, str], ...]) -> str:
    parts = [f"{label}: {obj[key]}" for key, label in fields if obj.get(key)]
    return "\n".join(parts)


class CourseImporter:
    def __init__(self, *, link: CanvasCourseSync, api: canvas.CanvasClient, run_token: uuid.UUID):
        self.link = link
        self.api = api
        self.run_token = run_token
        self.course_id = link.course_id
        self.base = api.base_url
        self.workspace_id = link.workspace_id
        self.group_id = link.group_id
        self.existing: dict[tuple[str, str], Existing] = {}
        self.ids: dict[tuple[str, str], int] = {}
        self.seen: set[tuple[str, str]] = set()
        self.done = 0
        self.total = 0
        self.phase = "starting"
        self.stats = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0, "gone": 0, "files_text": 0}

    # progress ---------------------------------------------------------------------------------
    def progress(self, phase: str) -> None:
        self.phase = phase
        updated = CanvasCourseSync.objects.filter(pk=self.link.pk, run_token=self.run_token).update(
            phase=phase, items_done=self.done, items_total=self.total, heartbeat_at=timezone.now()
        )
        if updated != 1:
            raise SyncSuperseded

    # listing ----------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        cid = self.course_id
        self.progress("listing")
        course = self.api.get_course(cid, include_syllabus=True)
        course_name = _title(course.get("name"), f"Course {cid}")
        listed: list[Staged] = []
        syllabus_known = "syllabus_body" in course
        if syllabus_known and html_to_text(course.get("syllabus_body")):
            listed.append(
                Staged(
                    T.SYLLABUS,
                    str(cid),
                    f"Syllabus: {course_name}"[:500],
                    url=f"{self.base}/courses/{cid}/assignments/syllabus",
                    text=html_to_text(course.get("syllabus_body")),
                )
            )
        listed += [self._assignment(a) for a in self.api.list_assignments(cid) if _published(a)]
        listed += [self._discussion(d) for d in self.api.list_discussion_topics(cid) if self._discussion_ok(d)]
        listed += [self._quiz(q) for q in self.api.list_quizzes(cid) if _published(q)]
        end = (timezone.now() + timedelta(days=366)).date().isoformat()
        announcements = self.api.list_announcements(
            cid, start_date=settings.CANVAS_ANNOUNCEMENTS_START_DATE, end_date=end
        )
        listed += [self._announcement(a) for a in announcements if self._announcement_ok(a)]
        pages = [p for p in self.api.list_pages(cid) if _published(p) and not p.get("hide_from_students")]
        files = [f for f in self.api.list_files(cid) if not f.get("locked") and not f.get("hidden")]
        modules = sorted((m for m in self.api.list_modules(cid) if _published(m)), key=lambda m: m.get("position") or 0)
        module_items = {
            m["id"]: [i for i in self.api.list_module_items(cid, m["id"]) if _published(i)] for m in modules
        }

        self.total = len(listed) + len(pages) + len(files) + len(modules) + sum(map(len, module_items.values()))
        self.existing = {
            (item_type, ext): Existing(pk, content_hash, updated_at)
            for pk, item_type, ext, content_hash, updated_at in KnowledgeItem.objects.filter(
                workspace_id=self.workspace_id, group_id=self.group_id, source=KnowledgeItem.Source.CANVAS
            ).values_list("pk", "item_type", "external_id", "content_hash", "source_updated_at")
        }
        self.ids = {key: row.pk for key, row in self.existing.items()}
        if not syllabus_known and (T.SYLLABUS, str(cid)) in self.existing:
            self.seen.add((T.SYLLABUS, str(cid)))  # include[] ignored by the key: keep what we have
        CanvasCourseSync.objects.filter(pk=self.link.pk).update(course_name=course_name)

        self.progress("items")
        for start in range(0, len(listed), BATCH):
            self.write(listed[start : start + BATCH])
        self.progress("pages")
        self.import_pages(pages)
        self.progress("files")
        self.import_files(files)
        self.progress("modules")
        self.import_modules(modules, module_items)
        self.progress("removing")
        self.remove_missing()
        return self.stats

    # content ----------------------------------------------------------------------------------
    def _unchanged_upstream(self, key: tuple[str, str], updated_at: datetime | None) -> bool:
        row = self.existing.get(key)
        return row is not None and updated_at is not None and row.updated_at == updated_at

    def import_pages(self, pages: list[dict]) -> None:
        batch: list[Staged] = []
        for page in pages:
            page_id = str(page.get("page_id") or page.get("id"))
            key, updated_at = (T.PAGE, page_id), _dt(page.get("updated_at"))
            if self._unchanged_upstream(key, updated_at):
                self.skip(key)
                continue
            try:
                full = self.api.get_page(self.course_id, page_id)
            except canvas.CanvasNotFoundError:
                self.gone()
                continue
            if not _published(full):
                self.gone()
                continue
            batch.append(
                Staged(
                    T.PAGE,
                    page_id,
                    _title(full.get("title"), "Untitled page"),
                    url=str(
                        full.get("html_url") or f"{self.base}/courses/{self.course_id}/pages/{full.get('url', '')}"
                    ),
                    updated_at=_dt(full.get("updated_at")) or updated_at,
                    text=html_to_text(full.get("body")),
                    metadata={"front_page": bool(full.get("front_page")), "slug": str(full.get("url") or "")},
                )
            )
            if len(batch) >= BATCH:
                self.write(batch)
                batch = []
        self.write(batch)

    def import_files(self, files: list[dict]) -> None:
        batch: list[Staged] = []
        for item in files:
            file_id = str(item.get("id"))
            key = (T.FILE, file_id)
            updated_at = _dt(item.get("modified_at")) or _dt(item.get("updated_at"))
            if self._unchanged_upstream(key, updated_at):
                self.skip(key)
                continue
            name = str(item.get("display_name") or item.get("filename") or f"file {file_id}")
            content_type = str(item.get("content-type") or item.get("content_type") or "")
            size = item.get("size") if isinstance(item.get("size"), int) else None
            metadata: dict[str, Any] = {"display_name": name, "content_type": content_type, "size": size}
            text = ""
            kind = file_kind(filename=name, content_type=content_type)
            if kind is None:
                metadata["text"] = "unsupported_type"
            elif size is not None and size > settings.CANVAS_FILE_MAX_BYTES:
                metadata["text"] = "too_large"
            elif item.get("url"):
                try:
                    data = self.api.download_file(str(item["url"]), max_bytes=settings.CANVAS_FILE_MAX_BYTES)
                except canvas.CanvasNotFoundError:
                    self.gone()
                    continue
                if data is None:
                    metadata["text"] = "too_large"
                else:
                    try:
                        text = file_to_text(data, kind=kind)
                        metadata["text"] = "extracted"
                        self.stats["files_text"] += 1
                    except ValueError:
                        metadata["text"] = "unreadable"
            batch.append(
                Staged(
                    T.FILE,
                    file_id,
                    _title(name, f"File {file_id}"),
                    url=f"{self.base}/courses/{self.course_id}/files/{file_id}",
                    updated_at=updated_at,
                    text=text,
                    metadata=metadata,
                )
            )
            if len(batch) >= BATCH:
                self.write(batch)
                batch = []
        self.write(batch)

    def import_modules(self, modules: list[dict], module_items: dict[Any, list[dict]]) -> None:
        staged_modules = []
        staged_items = []
        for module in modules:
            module_key = (T.MODULE, str(module["id"]))
            items = sorted(module_items.get(module["id"], []), key=lambda i: i.get("position") or 0)
            outline = "\n".join(
                f"{n}. {_title(i.get('title'), 'Untitled')} ({i.get('type', 'Item')})" for n, i in enumerate(items, 1)
            )
            staged_modules.append(
                Staged(
                    T.MODULE,
                    str(module["id"]),
                    _title(module.get("name"), "Untitled module"),
                    url=f"{self.base}/courses/{self.course_id}/modules#module_{module['id']}",
                    text=outline,
                    position=int(module.get("position") or 0),
                    metadata={"unlock_at": module.get("unlock_at"), "items_count": len(items)},
                )
            )
            for item in items:
                staged_items.append(
                    Staged(
                        T.MODULE_ITEM,
                        str(item["id"]),
                        _title(item.get("title"), "Untitled item"),
                        url=str(item.get("html_url") or ""),
                        position=int(item.get("position") or 0),
                        parent_key=module_key,
                        metadata={
                            "type": str(item.get("type") or ""),
                            "content_id": item.get("content_id"),
                            "page_url": item.get("page_url"),
                            "external_url": item.get("external_url"),
                            "indent": item.get("indent") or 0,
                        },
                    )
                )
        for start in range(0, len(staged_modules), BATCH):
            self.write(staged_modules[start : start + BATCH])
        for start in range(0, len(staged_items), BATCH):
            self.write(staged_items[start : start + BATCH])

    # per-type shaping (only the fields we keep) ------------------------------------------------
    def _assignment(self, a: dict) -> Staged:
        dates = _dates_line(a, (("due_at", "Due"), ("unlock_at", "Available from"), ("lock_at", "Available until")))
        body = html_to_text(a.get("description"))
        return Staged(
            T.ASSIGNMENT,
            str(a["id"]),
            _title(a.get("name"), "Untitled assignment"),
            url=str(a.get("html_url") or ""),
            updated_at=_dt(a.get("updated_at")),
            text="\n\n".join(part for part in (dates, body) if part),
            position=int(a.get("position") or 0),
            metadata={
                "due_at": a.get("due_at"),
                "unlock_at": a.get("unlock_at"),
                "lock_at": a.get("lock_at"),
                "points_possible": a.get("points_possible"),
                "submission_types": a.get("submission_types") or [],
            },
        )

    @staticmethod
    def _discussion_ok(d: dict) -> bool:
        return _published(d) and not d.get("is_announcement") and d.get("subscription_hold") != "topic_is_announcement"

    def _discussion(self, d: dict) -> Staged:
        # The instructor's prompt (``message``) only; replies are never requested.
        return Staged(
            T.DISCUSSION,
            str(d["id"]),
            _title(d.get("title"), "Untitled discussion"),
            url=str(d.get("html_url") or ""),
            updated_at=_dt(d.get("updated_at")),
            text=html_to_text(d.get("message")),
            metadata={"posted_at": d.get("posted_at"), "assignment_id": d.get("assignment_id")},
        )

    def _quiz(self, q: dict) -> Staged:
        return Staged(
            T.QUIZ,
            str(q["id"]),
            _title(q.get("title"), "Untitled quiz"),
            url=str(q.get("html_url") or ""),
            updated_at=_dt(q.get("updated_at")),
            text=html_to_text(q.get("description")),
            metadata={"due_at": q.get("due_at"), "quiz_type": q.get("quiz_type")},
        )

    def _announcement_ok(self, a: dict) -> bool:
        if not _published(a) or a.get("context_code", f"course_{self.course_id}") != f"course_{self.course_id}":
            return False
        delayed = _dt(a.get("delayed_post_at"))
        return delayed is None or delayed <= timezone.now()

    def _announcement(self, a: dict) -> Staged:
        return Staged(
            T.ANNOUNCEMENT,
            str(a["id"]),
            _title(a.get("title"), "Announcement"),
            url=str(a.get("html_url") or f"{self.base}/courses/{self.course_id}/discussion_topics/{a['id']}"),
            updated_at=_dt(a.get("updated_at")),
            text=html_to_text(a.get("message")),
            metadata={"posted_at": a.get("posted_at")},
        )

    # writes -----------------------------------------------------------------------------------
    def skip(self, key: tuple[str, str]) -> None:
        self.seen.add(key)
        self.stats["unchanged"] += 1
        self.done += 1

    def gone(self) -> None:
        """Listed, then 404 on fetch: deleted in between. Not seen, so removed at the end."""
        self.stats["gone"] += 1
        self.done += 1

    def write(self, batch: list[Staged]) -> None:
        if not batch:
            return
        changed = []
        for staged in batch:
            self.seen.add(staged.key)
            row = self.existing.get(staged.key)
            if row is None or row.content_hash != staged.content_hash or row.updated_at != staged.updated_at:
                changed.append(staged)
            else:
                self.stats["unchanged"] += 1
        if changed:
            max_chars = settings.CANVAS_PASSAGE_MAX_CHARS
            with transaction.atomic():
                objs = [
                    KnowledgeItem(
                        workspace_id=self.workspace_id,
                        group_id=self.group_id,
                        source=KnowledgeItem.Source.CANVAS,
                        item_type=s.item_type,
                        external_id=s.external_id[:255],
                        title=s.title,
                        url=s.url[:1000],
                        source_updated_at=s.updated_at,
                        content_hash=s.content_hash,
                        text=s.text,
                        parent_id=self.ids.get(s.parent_key) if s.parent_key else None,
                        position=s.position,
                        metadata=s.metadata,
                    )
                    for s in changed
                ]
                KnowledgeItem.objects.bulk_create(
                    objs, update_conflicts=True, unique_fields=UNIQUE_FIELDS, update_fields=UPDATE_FIELDS
                )
                Passage.objects.filter(item_id__in=[o.pk for o in objs]).delete()
                passages = [
                    Passage(workspace_id=self.workspace_id, group_id=self.group_id, item_id=o.pk, position=n, text=text)
                    for o, s in zip(objs, changed, strict=True)
                    if s.text
                    for n, text in enumerate(split_passages(f"{s.title}\n\n{s.text}", max_chars=max_chars))
                ]
                Passage.objects.bulk_create(passages, batch_size=1000)
            for obj, staged in zip(objs, changed, strict=True):
                self.stats["updated" if staged.key in self.existing else "created"] += 1
                self.ids[staged.key] = obj.pk
        self.done += len(batch)
        self.progress(self.phase)

    def remove_missing(self) -> None:
        """Only reached when every listing and fetch succeeded: drop what Canvas no longer has."""
        stale = [row.pk for key, row in self.existing.items() if key not in self.seen]
        if stale:
            with transaction.atomic():
                KnowledgeItem.objects.filter(
                    pk__in=stale, workspace_id=self.workspace_id, group_id=self.group_id
                ).delete()
        self.stats["removed"] = len(stale)


# --- run ------------------------------------------------------------------------------------
def course_sync_begin(*, course_sync_id: int) -> uuid.UUID | None:
    """Take the group's single-flight slot: exactly one row must change, else another run is live."""
    token = uuid.uuid4()
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CANVAS_SYNC_STALE_SECONDS)
    taken = (
        CanvasCourseSync.objects.filter(pk=course_sync_id)
        .exclude(state=CanvasCourseSync.State.RUNNING, heartbeat_at__gte=stale)
        .update(
            state=CanvasCourseSync.State.RUNNING,
            run_token=token,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            phase="starting",
            items_done=0,
            items_total=0,
        )
    )
    return token if taken == 1 else None


def _finish(link_pk: int, token: uuid.UUID, **fields) -> None:
    CanvasCourseSync.objects.filter(pk=link_pk, run_token=token).update(
        finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
    )


def course_sync_run(*, course_sync_id: int, transport=None, sleep=None) -> dict[str, Any]:
    """Import one group's Canvas course (see the module docstring). Idempotent; safe to retry.

    Returns the run's figures; raises CanvasRetryableError for the task to retry later.
    Permanent errors are recorded (and shown in the admin) and returned as ``failed``.
    """
    link = CanvasCourseSync.objects.select_related("group").filter(pk=course_sync_id).first()
    if link is None or not link.group.is_active:
        return {"status": "skipped", "reason": "no such course link"}
    connection = CanvasConnection.objects.filter(workspace_id=link.workspace_id).first()
    usable = connection is not None and (connection.access_token or connection.refresh_token)
    if not usable or connection.status in (
        CanvasConnection.Status.NOT_AUTHORIZED,
        CanvasConnection.Status.REAUTH_REQUIRED,
    ):
        _record_failure(link, "Canvas is not connected for this workspace: connect and authorize it first.")
        return {"status": "failed", "reason": "not connected"}
    if not link.course_id:
        _record_failure(link, "No Canvas course linked: launch from the course or pick one.")
        return {"status": "failed", "reason": "no course"}
    token = course_sync_begin(course_sync_id=link.pk)
    if token is None:
        return {"status": "skipped", "reason": "already running"}
    link.refresh_from_db()
    audit = {"workspace_id": link.workspace_id, "target": f"group:{link.group.uuid}"}
    try:
        with canvas_client_for(connection, transport=transport, sleep=sleep) as api:
            importer = CourseImporter(link=link, api=api, run_token=token)
            stats = importer.run()
            stats["requests"] = api.stats.requests
            stats["retries"] = api.stats.retries
    except SyncSuperseded:
        return {"status": "superseded"}
    except canvas.CanvasError as exc:
        message = str(exc)[:500]
        _finish(
            link.pk,
            token,
            state=CanvasCourseSync.State.FAILED,
            phase="failed",
            last_error=message,
            last_error_at=timezone.now(),
        )
        if isinstance(exc, canvas.CanvasScopeError | canvas.CanvasReauthRequired | canvas.CanvasForbiddenError):
            canvas_error_record(connection=connection, exc=exc)
        audit_record(
            action="canvas.sync_failed", details={"error": type(exc).__name__, "retryable": exc.retryable}, **audit
        )
        if exc.retryable:
            raise
        return {"status": "failed", "error": message}
    _finish(
        link.pk,
        token,
        state=CanvasCourseSync.State.SUCCEEDED,
        phase="done",
        items_done=importer.total,
        items_total=importer.total,
        last_success_at=timezone.now(),
        last_error="",
        last_error_at=None,
        last_stats=stats,
    )
    if settings.CANVAS_EMBED_AFTER_SYNC and (stats["created"] or stats["updated"]):
        stats["embedded"] = embed_pending(group_id=link.group_id)
    audit_record(action="canvas.sync_completed", details=stats, **audit)
    return {"status": "succeeded", **stats}


def _record_failure(link: CanvasCourseSync, message: str) -> None:
    CanvasCourseSync.objects.filter(pk=link.pk).exclude(state=CanvasCourseSync.State.RUNNING).update(
        state=CanvasCourseSync.State.FAILED, phase="failed", last_error=message[:500], last_error_at=timezone.now()
    )
