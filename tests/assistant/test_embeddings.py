import numpy as np

from assistant import embeddings
from assistant.encoder import get_encoder
from assistant.models import EmbeddingIndex, Passage
from tests.assistant.conftest import load_course, make_group, needs_model


@needs_model
def test_encoder_matches_reference_vector():
    # First values of all-MiniLM-L6-v2's embedding of this sentence from sentence-transformers.
    vector = get_encoder().encode(["This is an example sentence"])[0]
    assert np.allclose(vector[:5], [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480], atol=1e-4)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


@needs_model
def test_embed_pending_only_embeds_new_or_changed_passages(tenants):
    group = make_group(tenants[0].workspace, "Course")
    load_course(group, {"Page": ["Mitochondria make ATP.", "Ribosomes make proteins."]}, embed=False)
    assert embeddings.embed_pending(group_id=group.pk) == 2
    assert embeddings.embed_pending(group_id=group.pk) == 0
    assert EmbeddingIndex.objects.get(group=group).version == 1
    passage = Passage.objects.get(group=group, position=1)
    Passage.objects.filter(pk=passage.pk).update(text="Ribosomes translate messenger RNA into proteins.")
    assert embeddings.embed_pending(group_id=group.pk) == 1
    assert EmbeddingIndex.objects.get(group=group).version == 2
    stored = np.frombuffer(bytes(Passage.objects.get(pk=passage.pk).embedding), dtype="<f4")
    expected = get_encoder().encode(["Ribosomes translate messenger RNA into proteins."])[0]
    assert np.allclose(stored, expected, atol=1e-6)


@needs_model
def test_group_vectors_cache_refreshes_on_version_bump(tenants):
    group = make_group(tenants[0].workspace, "Course")
    load_course(group, {"Page": ["One passage."]})
    first = embeddings.group_vectors(group_id=group.pk)
    assert len(first.passage_ids) == 1
    assert embeddings.group_vectors(group_id=group.pk) is first
    load_course(group, {"Other": ["Another passage."]})
    assert len(embeddings.group_vectors(group_id=group.pk).passage_ids) == 2
