"""Hybrid retrieval over one group's knowledge (a read: no writes here).

Two legs, fused by reciprocal rank:
- semantic: the question's all-MiniLM-L6-v2 vector against the group's cached passage
  vectors (``assistant.embeddings.group_vectors``);
- lexical: PostgreSQL full-text search on ``Passage.search`` with the question's lexemes
  joined by OR (requiring every word would make most natural questions match nothing).

The group always comes from the server-side access check (``assistant.selectors``); every
query filters on it, and the final fetch filters on it again.

Without the model installed the lexical leg runs alone (the fallback), and its confidence
is the share of the question's terms a passage contains.
"""

import re
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection

from assistant.embeddings import group_vectors
from assistant.encoder import get_encoder

RRF_K = 60
CANDIDATES = 30


@dataclass
class Hit:
    passage_id: int
    item_id: int
    text: str
    title: str
    url: str
    item_type: str
    similarity: float  # cosine (semantic) or term coverage (lexical-only); the decline threshold applies to it
    lexical_rank: float = 0.0


@dataclass
class Retrieval:
    hits: list[Hit]
    semantic: bool
    threshold: float
    query_vector: np.ndarray | None = field(default=None, repr=False)

    @property
    def confident(self) -> bool:
        return bool(self.hits) and self.hits[0].similarity >= self.threshold

    @property
    def relevant(self) -> list[Hit]:
        return [h for h in self.hits if h.similarity >= self.threshold]


_SAFE_LEXEME = re.compile(r"^[\w.\-]+$")


def _query_lexemes(question: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [question[:2000]])
        (lexemes,) = cursor.fetchone()
    return [lx for lx in (lexemes or []) if _SAFE_LEXEME.match(lx)][:40]


def _lexical(
    *, group_id: int, lexemes: list[str], item_ids: list[int] | None, limit: int
) -> list[tuple[int, float, float]]:
    """[(passage id, ts_rank_cd, term coverage)] best first."""
    if not lexemes:
        return []
    tsquery = " | ".join("'" + lx.replace("'", "''") + "'" for lx in lexemes)
    item_filter = "AND p.item_id = ANY(%s)" if item_ids is not None else ""
    sql = f"""
        SELECT p.id, ts_rank_cd(p.search, q.q) AS rank,
               (SELECT count(*) FROM unnest(tsvector_to_array(p.search)) l WHERE l = ANY(%s))::float / %s
        FROM assistant_passage p, to_tsquery('simple', %s) q(q)
        WHERE p.group_id = %s AND p.search @@ q.q {item_filter}
        ORDER BY rank DESC, p.id
        LIMIT %s
    """  # noqa: S608 - only the fixed filter text is interpolated
    ordered = [lexemes, len(lexemes), tsquery, group_id, *([item_ids] if item_ids is not None else []), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, ordered)
        return [(r[0], float(r[1]), float(r[2])) for r in cursor.fetchall()]


def _fetch(*, group_id: int, passage_ids: list[int]) -> dict[int, tuple]:
    if not passage_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.id, p.item_id, p.text, i.title, i.url, i.item_type
            FROM assistant_passage p JOIN assistant_knowledgeitem i ON i.id = p.item_id
            WHERE p.group_id = %s AND i.group_id = %s AND p.id = ANY(%s)
            """,
            [group_id, group_id, passage_ids],
        )
        return {row[0]: row for row in cursor.fetchall()}


def retrieve(*, group_id: int, question: str, item_ids: list[int] | None = None, k: int | None = None) -> Retrieval:
    """The ``k`` best passages of the group for the question (``item_ids``: restrict to these items)."""
    k = k or settings.ASSISTANT_RETRIEVAL_K
    encoder = get_encoder()
    lexemes = _query_lexemes(question)
    lexical = _lexical(group_id=group_id, lexemes=lexemes, item_ids=item_ids, limit=CANDIDATES)

    fused: dict[int, float] = {}
    similarity: dict[int, float] = {}
    query_vector = None
    if encoder is not None:
        query_vector = encoder.encode([question])[0]
        vectors = group_vectors(group_id=group_id)
        if len(vectors.passage_ids):
            scores = vectors.matrix @ query_vector
            if item_ids is not None:
                scores = np.where(np.isin(vectors.item_ids, np.asarray(item_ids, dtype=np.int64)), scores, -2.0)
            top = min(CANDIDATES, len(scores))
            best = np.argpartition(-scores, top - 1)[:top]
            best = best[np.argsort(-scores[best])]
            for rank, row in enumerate(best):
                if scores[row] <= -2.0:
                    break
                pid = int(vectors.passage_ids[row])
                fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank + 1)
            id_to_row = {int(pid): i for i, pid in enumerate(vectors.passage_ids)} if lexical else {}
            for pid, *_ in lexical:
                row = id_to_row.get(pid)
                if row is not None:
                    similarity[pid] = float(scores[row])
            for row in best:
                similarity[int(vectors.passage_ids[row])] = float(scores[row])
        threshold = settings.ASSISTANT_MIN_SIMILARITY
    else:
        threshold = settings.ASSISTANT_MIN_TERM_COVERAGE
    for rank, (pid, _rank, coverage) in enumerate(lexical):
        fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank + 1)
        if encoder is None:
            similarity[pid] = coverage
    lexical_rank = {pid: r for pid, r, _ in lexical}

    ranked = sorted(fused, key=lambda pid: (-fused[pid], pid))[: k * 2]
    rows = _fetch(group_id=group_id, passage_ids=ranked)
    hits = []
    for pid in ranked:
        row = rows.get(pid)
        if row is None:  # deleted since the vectors were cached
            continue
        hits.append(
            Hit(
                passage_id=pid,
                item_id=row[1],
                text=row[2],
                title=row[3],
                url=row[4],
                item_type=row[5],
                similarity=similarity.get(pid, 0.0),
                lexical_rank=lexical_rank.get(pid, 0.0),
            )
        )
        if len(hits) == k:
            break
    # The most similar passage leads: the decline decision and the first citation use it.
    if hits:
        lead = max(hits, key=lambda h: h.similarity)
        if lead is not hits[0] and lead.similarity >= threshold and hits[0].similarity < threshold:
            hits.remove(lead)
            hits.insert(0, lead)
    return Retrieval(hits=hits, semantic=encoder is not None, threshold=threshold, query_vector=query_vector)
