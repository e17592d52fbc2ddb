"""groups_upsert_from_lms + memberships_sync_from_lms under both role-mapping policies."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from workspaces.models import Group, GroupMembership, RoleChange, Workspace, WorkspaceMembership
from workspaces.roles import classify_lti_roles, map_roles
from workspaces.services import LmsGroupRef, groups_upsert_from_lms, memberships_sync_from_lms

User = get_user_model()

M = "http://purl.imsglobal.org/vocab/lis/v2/membership"
STUDENT = map_roles(classify_lti_roles([f"{M}#Learner"]))
TEACHER = map_roles(classify_lti_roles([f"{M}#Instructor"]))
TA = map_roles(classify_lti_roles([f"{M}#Instructor", f"{M}/Instructor#TeachingAssistant"]))
OBSERVER = map_roles(classify_lti_roles([f"{M}#Mentor"]))

COURSE = LmsGroupRef(context_id="ctx-1", name="Biology 101", label="BIO101", canvas_course_id="4242")
SECTIONS = [
    LmsGroupRef(context_id="ctx-1", section_id="s-1", name="Section 1"),
    LmsGroupRef(context_id="ctx-1", section_id="s-2", name="Section 2"),
]


@pytest.fixture
def alpha(tenants, deployments):
    return tenants[0].workspace


@pytest.fixture
def person(db):
    return User.objects.create_user(username="canvas-person")


def set_policy(workspace, policy):
    Workspace.objects.filter(pk=workspace.pk).update(role_mapping_policy=policy)
    workspace.refresh_from_db()


def upsert(workspace, deployment, course=COURSE, sections=SECTIONS):
    return groups_upsert_from_lms(
        workspace_id=workspace.pk, deployment_id=deployment.pk, course=course, sections=sections
    )


def sync(workspace, user, groups, mapped, **kwargs):
    """Call the service the way the launch does: with what it read of the membership first."""
    current = WorkspaceMembership.objects.filter(workspace=workspace, user=user).values_list("role", "role_pinned")
    role, pinned = current.first() or (None, False)
    return memberships_sync_from_lms(
        workspace=workspace,
        user_id=user.pk,
        current_workspace_role=role,
        workspace_role_pinned=pinned,
        groups=groups,
        mapped=mapped,
        **kwargs,
    )


def group_roles(user):
    return dict(GroupMembership.objects.filter(user=user).values_list("group__name", "role"))


def changes(user):
    return sorted(
        RoleChange.objects.filter(user=user).values_list("scope", "group__name", "from_role", "to_role", "reason"),
        key=lambda row: (row[0], row[1] or ""),
    )


# --- groups_upsert_from_lms -----------------------------------------------------------


def test_groups_upsert_from_lms_first_launch_creates_course_and_sections(alpha, deployments):
    course, s1, s2 = upsert(alpha, deployments[0])
    rows = Group.objects.filter(workspace=alpha).order_by("lms_section_id")
    assert [
        (g.pk, g.name, g.parent_id, g.lms_deployment_id, g.lms_context_id, g.lms_section_id, g.is_active) for g in rows
    ] == [
        (course.pk, "Biology 101", None, deployments[0].pk, "ctx-1", "", True),
        (s1.pk, "Section 1", course.pk, deployments[0].pk, "ctx-1", "s-1", True),
        (s2.pk, "Section 2", course.pk, deployments[0].pk, "ctx-1", "s-2", True),
    ]
    assert {(g.lms_course_label, g.canvas_course_id) for g in rows} == {("BIO101", "4242")}


def test_groups_upsert_from_lms_again_matches_same_rows_and_keeps_course_title_current(alpha, deployments):
    first = upsert(alpha, deployments[0])
    renamed = LmsGroupRef(context_id="ctx-1", name="Biology 101 (Fall)", label="BIO101-F", canvas_course_id="4242")
    second = upsert(alpha, deployments[0], course=renamed)
    assert [g.pk for g in second] == [g.pk for g in first]
    assert Group.objects.filter(workspace=alpha).count() == 3
    course = Group.objects.get(pk=first[0].pk)
    assert (course.name, course.lms_course_label) == ("Biology 101 (Fall)", "BIO101-F")
    # Sections carry the course label too.
    assert set(Group.objects.filter(parent=course).values_list("lms_course_label", flat=True)) == {"BIO101-F"}


def test_groups_upsert_from_lms_keeps_a_section_name_set_by_an_admin(alpha, deployments):
    # LTI sends only section ids ($Canvas.course.sectionIds), never section names: the
    # generated name is a placeholder an admin may replace, so launches leave it alone.
    upsert(alpha, deployments[0])
    Group.objects.filter(workspace=alpha, lms_section_id="s-1").update(name="Lab section (Tuesdays)")
    upsert(alpha, deployments[0], sections=[LmsGroupRef(context_id="ctx-1", section_id="s-1", name="Section One")])
    assert Group.objects.get(workspace=alpha, lms_section_id="s-1").name == "Lab section (Tuesdays)"


def test_groups_upsert_from_lms_new_section_is_added_under_the_course(alpha, deployments):
    course, *_ = upsert(alpha, deployments[0])
    third = LmsGroupRef(context_id="ctx-1", section_id="s-3", name="Section 3")
    groups = upsert(alpha, deployments[0], sections=[third])
    assert [g.pk for g in groups][0] == course.pk
    assert list(Group.objects.filter(parent=course).order_by("lms_section_id").values_list("name", flat=True)) == [
        "Section 1",
        "Section 2",
        "Section 3",
    ]


def test_groups_upsert_from_lms_course_without_sections_returns_only_the_course(alpha, deployments):
    groups = upsert(alpha, deployments[0], sections=[])
    assert [g.name for g in groups] == ["Biology 101"]
    assert Group.objects.filter(workspace=alpha).count() == 1


def test_groups_upsert_from_lms_same_context_id_other_deployment_is_another_group(alpha, deployments):
    from tests.workspaces.conftest import make_deployment

    other = make_deployment(alpha, client_id="10000000000003", deployment_id="7:other")
    (a,) = upsert(alpha, deployments[0], sections=[])
    (b,) = upsert(alpha, other, sections=[])
    assert a.pk != b.pk
    assert Group.objects.filter(workspace=alpha, lms_context_id="ctx-1").count() == 2


def test_groups_upsert_from_lms_same_context_id_other_workspace_is_another_group(tenants, deployments):
    (a,) = upsert(tenants[0].workspace, deployments[0], sections=[])
    (b,) = upsert(tenants[1].workspace, deployments[1], sections=[])
    assert (a.workspace_id, b.workspace_id) == (tenants[0].workspace.pk, tenants[1].workspace.pk)
    assert Group.objects.get(pk=a.pk).name == Group.objects.get(pk=b.pk).name == "Biology 101"


# --- memberships_sync_from_lms: first launch -------------------------------------------


@pytest.mark.parametrize("policy", list(Workspace.RoleMappingPolicy))
def test_memberships_sync_from_lms_new_person_gets_mapped_roles_and_role_changes(alpha, deployments, person, policy):
    set_policy(alpha, policy)
    groups = upsert(alpha, deployments[0])
    seen = timezone.now() - timedelta(minutes=5)
    assert sync(alpha, person, groups, TEACHER, seen_at=seen) == "editor"
    wm = WorkspaceMembership.objects.get(workspace=alpha, user=person)
    assert (wm.role, wm.role_pinned, wm.source) == ("editor", False, "lti_launch")
    rows = GroupMembership.objects.filter(user=person).order_by("group__lms_section_id")
    assert [
        (r.workspace_id, r.group.name, r.role, r.role_pinned, r.lms_roles, r.source, r.is_active, r.last_seen_at)
        for r in rows
    ] == [
        (alpha.pk, name, "owner", False, ["instructor"], "lti_launch", True, seen)
        for name in ("Biology 101", "Section 1", "Section 2")
    ]
    reason = "LMS roles: instructor"
    assert changes(person) == [
        ("group", "Biology 101", "", "owner", reason),
        ("group", "Section 1", "", "owner", reason),
        ("group", "Section 2", "", "owner", reason),
        ("workspace", None, "", "editor", reason),
    ]
    assert set(RoleChange.objects.filter(user=person).values_list("workspace_id", "changed_by")) == {(alpha.pk, None)}


def test_memberships_sync_from_lms_roster_source_is_recorded(alpha, deployments, person):
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, groups, STUDENT, source="roster_sync")
    assert WorkspaceMembership.objects.get(user=person).source == "roster_sync"
    assert GroupMembership.objects.get(user=person).source == "roster_sync"


@pytest.mark.parametrize("policy", list(Workspace.RoleMappingPolicy))
def test_memberships_sync_from_lms_same_roles_again_changes_nothing(alpha, deployments, person, policy):
    set_policy(alpha, policy)
    groups = upsert(alpha, deployments[0])
    sync(alpha, person, groups, STUDENT)
    before = changes(person)
    later = timezone.now() + timedelta(hours=1)
    assert sync(alpha, person, groups, STUDENT, seen_at=later) == "member"
    assert changes(person) == before
    assert RoleChange.objects.filter(user=person).count() == 4
    assert set(GroupMembership.objects.filter(user=person).values_list("role", "last_seen_at")) == {("member", later)}


# --- keep in sync ------------------------------------------------------------------------


def test_memberships_sync_from_lms_keep_in_sync_upgrades(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.KEEP_IN_SYNC)
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, groups, STUDENT)
    RoleChange.objects.all().delete()
    assert sync(alpha, person, groups, TEACHER) == "editor"
    assert WorkspaceMembership.objects.get(user=person).role == "editor"
    gm = GroupMembership.objects.get(user=person)
    assert (gm.role, gm.lms_roles, gm.role_pinned) == ("owner", ["instructor"], False)
    assert changes(person) == [
        ("group", "Biology 101", "member", "owner", "LMS roles: instructor"),
        ("workspace", None, "member", "editor", "LMS roles: instructor"),
    ]


def test_memberships_sync_from_lms_keep_in_sync_downgrades(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.KEEP_IN_SYNC)
    groups = upsert(alpha, deployments[0])
    sync(alpha, person, groups, TEACHER)
    RoleChange.objects.all().delete()
    assert sync(alpha, person, groups, TA) == "member"
    assert WorkspaceMembership.objects.get(user=person).role == "member"
    assert group_roles(person) == {"Biology 101": "facilitator", "Section 1": "facilitator", "Section 2": "facilitator"}
    assert (
        list(GroupMembership.objects.filter(user=person).values_list("lms_roles", flat=True))
        == [["teaching_assistant"]] * 3
    )
    reason = "LMS roles: teaching_assistant"
    assert changes(person) == [
        ("group", "Biology 101", "owner", "facilitator", reason),
        ("group", "Section 1", "owner", "facilitator", reason),
        ("group", "Section 2", "owner", "facilitator", reason),
        ("workspace", None, "editor", "member", reason),
    ]


def test_memberships_sync_from_lms_keep_in_sync_leaves_pinned_roles_alone(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.KEEP_IN_SYNC)
    course, s1, s2 = upsert(alpha, deployments[0])
    sync(alpha, person, [course, s1, s2], STUDENT)
    WorkspaceMembership.objects.filter(user=person).update(role="owner", role_pinned=True)
    GroupMembership.objects.filter(user=person, group=course).update(role="facilitator", role_pinned=True)
    RoleChange.objects.all().delete()

    assert sync(alpha, person, [course, s1, s2], TEACHER) == "owner"

    wm = WorkspaceMembership.objects.get(user=person)
    assert (wm.role, wm.role_pinned) == ("owner", True)
    assert group_roles(person) == {"Biology 101": "facilitator", "Section 1": "owner", "Section 2": "owner"}
    # The pinned row still learns the person's current LMS roles.
    assert GroupMembership.objects.get(user=person, group=course).lms_roles == ["instructor"]
    assert changes(person) == [
        ("group", "Section 1", "member", "owner", "LMS roles: instructor"),
        ("group", "Section 2", "member", "owner", "LMS roles: instructor"),
    ]


def test_memberships_sync_from_lms_keep_in_sync_reactivates_with_new_role(alpha, deployments, person):
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, groups, STUDENT)
    GroupMembership.objects.filter(user=person).update(is_active=False)
    RoleChange.objects.all().delete()
    sync(alpha, person, groups, OBSERVER)  # same group role (member), other LMS role
    gm = GroupMembership.objects.get(user=person)
    assert (gm.is_active, gm.role, gm.lms_roles) == (True, "member", ["observer"])
    assert changes(person) == []

    GroupMembership.objects.filter(user=person).update(is_active=False)
    sync(alpha, person, groups, TA)
    gm = GroupMembership.objects.get(user=person)
    assert (gm.is_active, gm.role, gm.lms_roles) == (True, "facilitator", ["teaching_assistant"])
    assert changes(person) == [("group", "Biology 101", "member", "facilitator", "LMS roles: teaching_assistant")]


# --- new members only -------------------------------------------------------------------


def test_memberships_sync_from_lms_new_members_only_keeps_existing_roles(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.NEW_MEMBERS_ONLY)
    groups = upsert(alpha, deployments[0])
    sync(alpha, person, groups, STUDENT)
    RoleChange.objects.all().delete()

    assert sync(alpha, person, groups, TEACHER) == "member"

    assert WorkspaceMembership.objects.get(user=person).role == "member"
    assert group_roles(person) == {"Biology 101": "member", "Section 1": "member", "Section 2": "member"}
    assert list(GroupMembership.objects.filter(user=person).values_list("lms_roles", flat=True)) == [["instructor"]] * 3
    assert changes(person) == []


def test_memberships_sync_from_lms_new_members_only_does_not_downgrade(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.NEW_MEMBERS_ONLY)
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, groups, TEACHER)
    RoleChange.objects.all().delete()
    assert sync(alpha, person, groups, STUDENT) == "editor"
    assert WorkspaceMembership.objects.get(user=person).role == "editor"
    assert group_roles(person) == {"Biology 101": "owner"}
    assert changes(person) == []


def test_memberships_sync_from_lms_new_members_only_sets_role_of_new_group_once(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.NEW_MEMBERS_ONLY)
    course, *_ = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, [course], STUDENT)
    RoleChange.objects.all().delete()
    # Later the person is a TA in a new section of the same course.
    groups = upsert(alpha, deployments[0], sections=[LmsGroupRef(context_id="ctx-1", section_id="s-9", name="Lab")])
    sync(alpha, person, groups, TA)
    assert group_roles(person) == {"Biology 101": "member", "Lab": "facilitator"}
    assert WorkspaceMembership.objects.get(user=person).role == "member"
    assert changes(person) == [("group", "Lab", "", "facilitator", "LMS roles: teaching_assistant")]


def test_memberships_sync_from_lms_new_members_only_reactivates_inactive_membership(alpha, deployments, person):
    set_policy(alpha, Workspace.RoleMappingPolicy.NEW_MEMBERS_ONLY)
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, person, groups, STUDENT)
    GroupMembership.objects.filter(user=person).update(is_active=False)
    RoleChange.objects.all().delete()
    sync(alpha, person, groups, TEACHER)
    gm = GroupMembership.objects.get(user=person)
    assert (gm.is_active, gm.role, gm.lms_roles) == (True, "member", ["instructor"])
    assert changes(person) == []


def test_memberships_sync_from_lms_existing_workspace_member_joins_groups(alpha, deployments, tenants):
    """A person already in the workspace (made by hand) gets group memberships, keeps a pinned role."""
    editor = tenants[0].editor
    WorkspaceMembership.objects.filter(user=editor).update(role_pinned=True)
    groups = upsert(alpha, deployments[0], sections=[])
    assert sync(alpha, editor, groups, STUDENT) == "editor"
    assert WorkspaceMembership.objects.get(user=editor, workspace=alpha).role == "editor"
    assert group_roles(editor) == {"Biology 101": "member"}
    assert changes(editor) == [("group", "Biology 101", "", "member", "LMS roles: student")]


def test_memberships_sync_from_lms_touches_only_this_person(alpha, deployments, person):
    other = User.objects.create_user(username="someone-else")
    groups = upsert(alpha, deployments[0], sections=[])
    sync(alpha, other, groups, STUDENT)
    sync(alpha, person, groups, TEACHER)
    assert group_roles(other) == {"Biology 101": "member"}
    assert WorkspaceMembership.objects.get(user=other).role == "member"
    assert RoleChange.objects.filter(user=other).count() == 2
