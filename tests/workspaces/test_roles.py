"""classify_lti_roles + map_roles against every role set Canvas sends (pure functions, no database)."""

import json
from pathlib import Path

import pytest

from workspaces.models import GroupRole, LmsRoleCategory, WorkspaceRole
from workspaces.roles import DEFAULT_ROLE_MAPPING, MappedRoles, RoleClassification, classify_lti_roles, map_roles

ROLES = json.loads((Path(__file__).parents[1] / "fixtures/canvas/roles-by-enrollment-type.json").read_text())
CANVAS = ROLES["canvas"]
OTHER_FORMS = ROLES["other_forms"]

A = LmsRoleCategory.ADMINISTRATOR
I = LmsRoleCategory.INSTRUCTOR  # noqa: E741
TA = LmsRoleCategory.TEACHING_ASSISTANT
D = LmsRoleCategory.DESIGNER
S = LmsRoleCategory.STUDENT
OBS = LmsRoleCategory.OBSERVER
OTHER = LmsRoleCategory.OTHER

# (fixture key, context categories, institution admin, test user)
CANVAS_CLASSIFICATIONS = [
    ("student", {S}, False, False),
    ("teacher", {I}, False, False),
    ("ta", {TA}, False, False),
    ("designer", {D}, False, False),
    ("observer", {OBS}, False, False),
    ("test_student", {S}, False, True),
    ("account_admin_no_enrollment", set(), True, False),
    ("site_admin_no_enrollment", set(), True, False),
    ("admin_also_teacher", {I}, True, False),
    ("student_here_teacher_elsewhere", {S}, False, False),
    ("group_member", {OTHER}, False, False),
    ("group_leader", {OTHER}, False, False),
    ("no_user", set(), False, False),
    ("empty", set(), False, False),
]

# (fixture key, workspace role, group role, categories) under the default mapping.
CANVAS_DEFAULT_MAPPING = [
    ("student", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("student",)),
    ("teacher", WorkspaceRole.EDITOR, GroupRole.OWNER, ("instructor",)),
    ("ta", WorkspaceRole.MEMBER, GroupRole.FACILITATOR, ("teaching_assistant",)),
    ("designer", WorkspaceRole.EDITOR, GroupRole.FACILITATOR, ("designer",)),
    ("observer", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("observer",)),
    ("test_student", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("student",)),
    ("account_admin_no_enrollment", WorkspaceRole.OWNER, GroupRole.OWNER, ("administrator",)),
    ("site_admin_no_enrollment", WorkspaceRole.OWNER, GroupRole.OWNER, ("administrator",)),
    # Administrator gives the workspace role; the group role comes from the course role only.
    ("admin_also_teacher", WorkspaceRole.OWNER, GroupRole.OWNER, ("administrator", "instructor")),
    # institution#Instructor is institution-wide in Canvas: it must not make a student a teacher here.
    ("student_here_teacher_elsewhere", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("student",)),
    ("group_member", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("other",)),
    ("group_leader", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("other",)),
    ("no_user", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("other",)),
    ("empty", WorkspaceRole.MEMBER, GroupRole.MEMBER, ("other",)),
]

OTHER_FORMS_EXPECTED = [
    ("short_instructor", {I}, WorkspaceRole.EDITOR, GroupRole.OWNER),
    ("short_learner", {S}, WorkspaceRole.MEMBER, GroupRole.MEMBER),
    ("short_ta_subrole", {TA}, WorkspaceRole.MEMBER, GroupRole.FACILITATOR),
    ("subrole_ta_only", {TA}, WorkspaceRole.MEMBER, GroupRole.FACILITATOR),
    ("subrole_ta_lowercase", {TA}, WorkspaceRole.MEMBER, GroupRole.FACILITATOR),
    ("lti11_instructor", {I}, WorkspaceRole.EDITOR, GroupRole.OWNER),
    ("lti11_learner", {S}, WorkspaceRole.MEMBER, GroupRole.MEMBER),
    ("lti11_ta_subrole", {TA}, WorkspaceRole.MEMBER, GroupRole.FACILITATOR),
    ("context_administrator", {A}, WorkspaceRole.OWNER, GroupRole.OWNER),
]

# A workspace that gives TAs more and designers and observers less than the default.
CUSTOM_MAPPING = {
    "administrator": ("owner", "owner"),
    "instructor": ("owner", "owner"),
    "teaching_assistant": ("editor", "owner"),
    "designer": ("member", "member"),
    "student": ("member", "member"),
    "observer": ("member", "facilitator"),
    "other": ("member", "member"),
}

CANVAS_CUSTOM_MAPPING = [
    ("student", "member", "member"),
    ("teacher", "owner", "owner"),
    ("ta", "editor", "owner"),
    ("designer", "member", "member"),
    ("observer", "member", "facilitator"),
    ("test_student", "member", "member"),
    ("account_admin_no_enrollment", "owner", "owner"),
    ("site_admin_no_enrollment", "owner", "owner"),
    ("admin_also_teacher", "owner", "owner"),
    ("student_here_teacher_elsewhere", "member", "member"),
    ("group_member", "member", "member"),
    ("empty", "member", "member"),
]


@pytest.mark.parametrize(("key", "context", "is_admin", "is_test_user"), CANVAS_CLASSIFICATIONS)
def test_classify_lti_roles_canvas_enrollment_type(key, context, is_admin, is_test_user):
    assert classify_lti_roles(CANVAS[key]) == RoleClassification(
        context=frozenset(context), is_institution_admin=is_admin, is_test_user=is_test_user
    )


@pytest.mark.parametrize(("key", "workspace_role", "group_role", "categories"), CANVAS_DEFAULT_MAPPING)
def test_map_roles_canvas_enrollment_type_default_mapping(key, workspace_role, group_role, categories):
    assert map_roles(classify_lti_roles(CANVAS[key])) == MappedRoles(
        workspace_role=str(workspace_role), group_role=str(group_role), categories=categories
    )


@pytest.mark.parametrize(("key", "context", "workspace_role", "group_role"), OTHER_FORMS_EXPECTED)
def test_classify_and_map_roles_other_spellings(key, context, workspace_role, group_role):
    classification = classify_lti_roles(OTHER_FORMS[key])
    assert classification.context == frozenset(context)
    assert classification.is_institution_admin is False
    mapped = map_roles(classification)
    assert (mapped.workspace_role, mapped.group_role) == (str(workspace_role), str(group_role))


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("id-token.resource-link.assignment.student.self-hosted-canvas-2025.json", ("member", "member", ("student",))),
        (
            "id-token.resource-link.assignment.teacher.self-hosted-canvas-2025.json",
            ("editor", "owner", ("instructor",)),
        ),
        (
            "id-token.resource-link.assignment.admin.self-hosted-canvas-2025.json",
            ("owner", "owner", ("administrator",)),
        ),
        ("id-token.course-navigation.student.trimmed-by-author.local-canvas.json", ("member", "member", ("student",))),
        (
            "id-token.constructed.course-navigation.ta.cloud-canvas.json",
            ("member", "facilitator", ("teaching_assistant",)),
        ),
    ],
)
def test_map_roles_roles_claim_of_canvas_id_token(token, expected):
    mapped = map_roles(classify_lti_roles(ROLES["id_tokens"][token]))
    assert (mapped.workspace_role, mapped.group_role, mapped.categories) == expected


def test_default_role_mapping_is_the_documented_table():
    assert {str(k): (str(ws), str(gr)) for k, (ws, gr) in DEFAULT_ROLE_MAPPING.items()} == {
        "administrator": ("owner", "owner"),
        "instructor": ("editor", "owner"),
        "teaching_assistant": ("member", "facilitator"),
        "designer": ("editor", "facilitator"),
        "student": ("member", "member"),
        "observer": ("member", "member"),
        "other": ("member", "member"),
    }


@pytest.mark.parametrize(("key", "workspace_role", "group_role"), CANVAS_CUSTOM_MAPPING)
def test_map_roles_canvas_enrollment_type_custom_mapping(key, workspace_role, group_role):
    mapped = map_roles(classify_lti_roles(CANVAS[key]), CUSTOM_MAPPING)
    assert (mapped.workspace_role, mapped.group_role) == (workspace_role, group_role)


def test_map_roles_partial_custom_mapping_falls_back_to_default():
    mapped = map_roles(classify_lti_roles(CANVAS["ta"]), {"teaching_assistant": ("editor", "owner")})
    assert (mapped.workspace_role, mapped.group_role) == ("editor", "owner")
    mapped = map_roles(classify_lti_roles(CANVAS["designer"]), {"teaching_assistant": ("editor", "owner")})
    assert (mapped.workspace_role, mapped.group_role) == ("editor", "facilitator")


def test_map_roles_strongest_role_wins_over_several_context_roles():
    # Teacher and student enrollments in the same course: the stronger role is granted.
    roles = [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    ]
    mapped = map_roles(classify_lti_roles(roles))
    assert mapped == MappedRoles(workspace_role="editor", group_role="owner", categories=("instructor", "student"))
    mapped = map_roles(classify_lti_roles(roles), {"instructor": ("member", "member"), "student": ("editor", "owner")})
    assert (mapped.workspace_role, mapped.group_role) == ("editor", "owner")


def test_map_roles_admin_without_enrollment_uses_administrator_group_role_of_custom_mapping():
    mapped = map_roles(
        classify_lti_roles(CANVAS["account_admin_no_enrollment"]), {"administrator": ("owner", "member")}
    )
    assert (mapped.workspace_role, mapped.group_role) == ("owner", "member")


def test_map_roles_admin_also_student_keeps_student_group_role():
    roles = [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    ]
    mapped = map_roles(classify_lti_roles(roles))
    assert mapped == MappedRoles(workspace_role="owner", group_role="member", categories=("administrator", "student"))


def test_classify_lti_roles_ignores_non_strings_and_unknown_uris():
    roles = [None, 42, "https://example.com/roles#Wizard", "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    assert classify_lti_roles(roles) == RoleClassification(context=frozenset({S}), is_institution_admin=False)


def test_classify_lti_roles_strips_whitespace():
    assert classify_lti_roles([" http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor "]).context == {OBS}


def test_classify_lti_roles_institution_instructor_alone_is_not_a_course_role():
    roles = ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"]
    classification = classify_lti_roles(roles)
    assert classification == RoleClassification(context=frozenset(), is_institution_admin=False)
    assert map_roles(classification) == MappedRoles(workspace_role="member", group_role="member", categories=("other",))
