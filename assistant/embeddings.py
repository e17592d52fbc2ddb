"""Passage embeddings. Placeholder until the course-assistant issue implements it:
the Canvas import calls ``embed_pending`` after writing passages."""


def embed_pending(*, group_id: int) -> int:
    """Compute embeddings for the group's passages that have none; returns how many."""
    return 0
