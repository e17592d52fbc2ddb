"""Classify an LTI ``roles`` claim into LMS role categories, and map them to our roles.

Pure functions, no database. Sources: LTI 1.3 Core §5.3.7 and appendix A.2 (role
vocabularies: system, institution and context roles; short context role names are
deprecated but allowed), and Canvas's ``LIS_V2_LTI_ADVANTAGE_ROLE_MAP``: a TA enrollment
sends ``membership#Instructor`` *and* ``membership/Instructor#TeachingAssistant``; a
designer ``#ContentDeveloper``; an observer ``#Mentor``; the test student ``#Learner`` plus
``lti/system/person#TestUser``. Institution roles in Canvas are root-account-wide (a student
who teaches elsewhere carries ``institution/person#Instructor``), so only context roles
decide course roles; institution and system *administrator* roles count as Administrator.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lti_tool.lti_core.constants import CONTEXT_ROLE_PATTERN

from workspaces.models import (
    GROUP_ROLE_RANK,
    WORKSPACE_ROLE_RANK,
    GroupRole,
    LmsRoleCategory,
    WorkspaceRole,
)

CONTEXT_PREFIX = CONTEXT_ROLE_PATTERN.format("")  # http://purl.imsglobal.org/vocab/lis/v2/membership#
CONTEXT_SUBROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INSTITUTION_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
LIS1_PREFIX = "urn:lti:role:ims/lis/"  # LTI 1.1 style, still seen in some platforms

# Principal context role name -> category.
_CONTEXT_CATEGORY = {
    "administrator": LmsRoleCategory.ADMINISTRATOR,
    "instructor": LmsRoleCategory.INSTRUCTOR,
    "contentdeveloper": LmsRoleCategory.DESIGNER,
    "learner": LmsRoleCategory.STUDENT,
    "mentor": LmsRoleCategory.OBSERVER,
    "member": LmsRoleCategory.OTHER,
    "manager": LmsRoleCategory.OTHER,
    "officer": LmsRoleCategory.OTHER,
}
_ADMIN_NAMES = {"administrator", "sysadmin", "accountadmin", "syssupport"}

DEFAULT_ROLE_MAPPING: Mapping[str, tuple[str, str]] = {
    LmsRoleCategory.ADMINISTRATOR: (WorkspaceRole.OWNER, GroupRole.OWNER),
    LmsRoleCategory.INSTRUCTOR: (WorkspaceRole.EDITOR, GroupRole.OWNER),
    LmsRoleCategory.TEACHING_ASSISTANT: (WorkspaceRole.MEMBER, GroupRole.FACILITATOR),
    LmsRoleCategory.DESIGNER: (WorkspaceRole.EDITOR, GroupRole.FACILITATOR),
    LmsRoleCategory.STUDENT: (WorkspaceRole.MEMBER, GroupRole.MEMBER),
    LmsRoleCategory.OBSERVER: (WorkspaceRole.MEMBER, GroupRole.MEMBER),
    LmsRoleCategory.OTHER: (WorkspaceRole.MEMBER, GroupRole.MEMBER),
}


@dataclass(frozen=True)
class RoleClassification:
    """Categories found in a roles claim.

    ``context`` holds the categories from context (course membership) roles only;
    ``is_institution_admin`` is true for institution or system administrator roles.
    """

    context: frozenset[str]
    is_institution_admin: bool
    is_test_user: bool = False

    @property
    def categories(self) -> frozenset[str]:
        """Every category that applies, for display and for the workspace role."""
        found = set(self.context)
        if self.is_institution_admin:
            found.add(LmsRoleCategory.ADMINISTRATOR)
        return frozenset(found or {LmsRoleCategory.OTHER})


def _context_role_parts(role: str) -> tuple[str, str | None] | None:
    """Return (principal, sub-role) for a context role in any accepted form, else None."""
    if role.startswith(CONTEXT_PREFIX):
        return role[len(CONTEXT_PREFIX) :].lower(), None
    if role.lower().startswith(CONTEXT_SUBROLE_PREFIX):
        # membership/Instructor#TeachingAssistant (Canvas also sends a lowercase variant)
        rest = role[len(CONTEXT_SUBROLE_PREFIX) :]
        principal, _, sub = rest.partition("#")
        return principal.lower(), (sub.lower() or None)
    if role.startswith(LIS1_PREFIX):
        rest = role[len(LIS1_PREFIX) :]
        principal, _, sub = rest.partition("/")
        return principal.lower(), (sub.lower() or None)
    if "/" not in role and ":" not in role:
        # Short form, e.g. "Instructor" or "Instructor#TeachingAssistant" (deprecated, allowed).
        principal, _, sub = role.partition("#")
        return principal.lower(), (sub.lower() or None)
    return None


def classify_lti_roles(roles: Iterable[str]) -> RoleClassification:
    """Classify the ``https://purl.imsglobal.org/spec/lti/claim/roles`` claim.

    Unknown roles are ignored; an empty or unrecognised set yields no context category
    (the caller maps that to ``Other``).
    """
    context: set[str] = set()
    is_ta = False
    is_admin = False
    is_test_user = False
    for raw in roles:
        if not isinstance(raw, str):
            continue
        role = raw.strip()
        if role.startswith(INSTITUTION_PREFIX) or role.startswith(SYSTEM_PREFIX):
            name = role.rsplit("#", 1)[1].lower()
            if name in _ADMIN_NAMES:
                is_admin = True
            continue
        if role == "http://purl.imsglobal.org/vocab/lti/system/person#TestUser":
            is_test_user = True
            continue
        parts = _context_role_parts(role)
        if parts is None:
            continue
        principal, sub = parts
        if sub == "teachingassistant" or principal == "teachingassistant":
            is_ta = True
            continue
        category = _CONTEXT_CATEGORY.get(principal)
        if category is not None:
            context.add(category)
    if is_ta:
        # Canvas sends membership#Instructor alongside the TA sub-role: a TA is not an
        # instructor, so the TA category replaces the Instructor one it came with.
        context.discard(LmsRoleCategory.INSTRUCTOR)
        context.add(LmsRoleCategory.TEACHING_ASSISTANT)
    return RoleClassification(context=frozenset(context), is_institution_admin=is_admin, is_test_user=is_test_user)


@dataclass(frozen=True)
class MappedRoles:
    workspace_role: str
    group_role: str
    categories: tuple[str, ...]


def map_roles(classification: RoleClassification, mapping: Mapping[str, tuple[str, str]] | None = None) -> MappedRoles:
    """The workspace role and group role a classified launch grants.

    The workspace role is the strongest granted by any category (context or
    administrator). The group role comes from context roles; a person with none gets
    the Administrator mapping when they are an institution admin, otherwise ``Other``.
    """
    mapping = {**DEFAULT_ROLE_MAPPING, **(mapping or {})}
    all_categories = classification.categories
    workspace_role = max((mapping[c][0] for c in all_categories), key=lambda r: WORKSPACE_ROLE_RANK[WorkspaceRole(r)])
    group_categories = classification.context or (
        {LmsRoleCategory.ADMINISTRATOR} if classification.is_institution_admin else {LmsRoleCategory.OTHER}
    )
    group_role = max((mapping[c][1] for c in group_categories), key=lambda r: GROUP_ROLE_RANK[GroupRole(r)])
    return MappedRoles(
        workspace_role=str(workspace_role),
        group_role=str(group_role),
        categories=tuple(sorted(str(c) for c in all_categories)),
    )
