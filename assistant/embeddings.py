"""Passage embeddings: computed at import time for new or changed passages only, and a
per-process cache of each group's vectors for fast semantic retrieval.

The Canvas import calls ``embed_pending(group_id=...)`` after each sync; uploads call it
after writing their passages. A passage needs embedding when it has none or when its text
changed since (``embedded_text_md5`` differs from md5(text)). Every change bumps the
group's ``EmbeddingIndex.version``, which tells each process to reload its cached matrix.
"""

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Func, Q, TextField
from django.utils import timezone

from assistant.encoder import DIM, get_encoder
from assistant.models import EmbeddingIndex, Passage

logger = logging.getLogger(__name__)


class _Md5(Func):
    function = "md5"
    output_field = TextField()


def _pending(group_id: int):
    return (
        Passage.objects.filter(group_id=group_id)
        .annotate(text_md5=_Md5(F("text")))
        .filter(Q(embedding__isnull=True) | ~Q(embedded_text_md5=F("text_md5")))
    )


def embed_pending(*, group_id: int, batch_size: int = 64) -> int:
    """Compute embeddings for the group's passages that have none or whose text changed.

    Writes ``Passage.embedding`` / ``embedded_text_md5`` in batches (each its own short
    transaction) and bumps the group's ``EmbeddingIndex``. Returns how many were embedded;
    0 when the model is not installed (retrieval then uses full-text search only).
    """
    encoder = get_encoder()
    if encoder is None:
        return 0
    done = 0
    last_id = 0
    while True:
        rows = list(
            _pending(group_id)
            .filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "text", "workspace_id")[:batch_size]
        )
        if not rows:
            break
        last_id = rows[-1][0]
        vectors = encoder.encode([text for _, text, _ in rows])
        with transaction.atomic():
            for (pk, text, _), vector in zip(rows, vectors, strict=True):
                # Conditional on the text being the one embedded: a concurrent import that
                # changed it leaves the row pending for the next run.
                Passage.objects.filter(pk=pk, text=text).update(
                    embedding=vector.astype("<f4").tobytes(),
                    embedded_text_md5=hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                )
        done += len(rows)
    if done:
        workspace_id = rows_workspace(group_id)
        with transaction.atomic():
            index, _ = EmbeddingIndex.objects.get_or_create(group_id=group_id, defaults={"workspace_id": workspace_id})
            EmbeddingIndex.objects.filter(pk=index.pk).update(
                version=F("version") + 1, embedded_count=F("embedded_count") + done, last_embedded_at=timezone.now()
            )
    return done


def rows_workspace(group_id: int) -> int:
    from workspaces.models import Group

    return Group.objects.filter(pk=group_id).values_list("workspace_id", flat=True).get()


def index_bump(*, group_id: int, workspace_id: int) -> None:
    """Mark the group's vectors as changed (after passages were deleted, say)."""
    index, _ = EmbeddingIndex.objects.get_or_create(group_id=group_id, defaults={"workspace_id": workspace_id})
    EmbeddingIndex.objects.filter(pk=index.pk).update(version=F("version") + 1)


# --- per-process cache of group matrices ------------------------------------------------


@dataclass(frozen=True)
class GroupVectors:
    version: int
    passage_ids: np.ndarray  # int64
    item_ids: np.ndarray  # int64
    matrix: np.ndarray  # (n, DIM) float32, unit rows


_cache: "OrderedDict[int, GroupVectors]" = OrderedDict()
_cache_lock = threading.Lock()


def _current_version(group_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM assistant_embeddingindex WHERE group_id = %s", [group_id])
        row = cursor.fetchone()
    return row[0] if row else -1


def group_vectors(*, group_id: int) -> GroupVectors:
    """The group's embedded passages as one matrix; one small query when the cache is fresh."""
    version = _current_version(group_id)
    with _cache_lock:
        cached = _cache.get(group_id)
        if cached is not None and cached.version == version:
            _cache.move_to_end(group_id)
            return cached
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, item_id, embedding FROM assistant_passage WHERE group_id = %s AND embedding IS NOT NULL",
            [group_id],
        )
        rows = cursor.fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    items = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<f4").reshape(len(rows), DIM)
    vectors = GroupVectors(version=version, passage_ids=ids, item_ids=items, matrix=matrix.astype(np.float32))
    with _cache_lock:
        _cache[group_id] = vectors
        _cache.move_to_end(group_id)
        while len(_cache) > settings.ASSISTANT_VECTOR_CACHE_GROUPS:
            _cache.popitem(last=False)
    return vectors


def cache_clear() -> None:
    with _cache_lock:
        _cache.clear()
