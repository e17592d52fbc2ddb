"""What we keep from an LTI launch: the one list the data-access page is generated from.

Only the seed's five kinds of personal data are stored: name, email address, LMS role,
course information and LMS user id. ``minimise_launch`` is the only code that reads
personal claims out of a validated id_token, and it reads exactly what this list names;
every other claim (picture, locale, lis, custom fields not listed, ...) is dropped.
"""

from dataclasses import dataclass

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = LTI + "message_type"
CLAIM_VERSION = LTI + "version"
CLAIM_DEPLOYMENT_ID = LTI + "deployment_id"
CLAIM_ROLES = LTI + "roles"
CLAIM_CONTEXT = LTI + "context"
CLAIM_RESOURCE_LINK = LTI + "resource_link"
CLAIM_TARGET_LINK_URI = LTI + "target_link_uri"
CLAIM_CUSTOM = LTI + "custom"
CLAIM_TOOL_PLATFORM = LTI + "tool_platform"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
# 1EdTech LTI Data Privacy launch: shows the person what is stored about them.
DATA_PRIVACY_LAUNCH_REQUEST = "DataPrivacyLaunchRequest"
SUPPORTED_MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DATA_PRIVACY_LAUNCH_REQUEST)
LTI_VERSION = "1.3.0"

# Custom fields the developer-key configuration asks Canvas to substitute.
CUSTOM_FIELDS = {
    "canvas_course_id": "$Canvas.course.id",
    "canvas_user_id": "$Canvas.user.id",
    "canvas_api_base_url": "$Canvas.api.baseUrl",
    "canvas_section_ids": "$Canvas.course.sectionIds",
}


@dataclass(frozen=True)
class StoredClaim:
    key: str
    label: str
    source_claims: tuple[str, ...]
    purpose: str
    stored_in: str


STORED_LAUNCH_CLAIMS: tuple[StoredClaim, ...] = (
    StoredClaim(
        key="name",
        label="Name",
        source_claims=("name", "given_name", "family_name"),
        purpose="Shows who is signed in, and lets course staff recognise participants.",
        stored_in="LTI identity and user account (display name)",
    ),
    StoredClaim(
        key="email",
        label="Email address",
        source_claims=("email",),
        purpose="Identifies the person to workspace administrators (exports, support requests).",
        stored_in="LTI identity and user account",
    ),
    StoredClaim(
        key="lms_role",
        label="LMS role",
        source_claims=(CLAIM_ROLES,),
        purpose="Maps the person's Canvas role to their workspace and course-group role.",
        stored_in="Workspace and group memberships (role categories only)",
    ),
    StoredClaim(
        key="course",
        label="Course information",
        source_claims=(CLAIM_CONTEXT, "custom.canvas_course_id", "custom.canvas_section_ids"),
        purpose="Places the person in the group for the course (and its sections) they launched from.",
        stored_in="Group (context id, title, label, Canvas course id, section ids)",
    ),
    StoredClaim(
        key="lms_user_id",
        label="LMS user ID",
        source_claims=("sub", "custom.canvas_user_id"),
        purpose="Recognises the same person at their next launch (single sign-on without a password).",
        stored_in="LTI identity",
    ),
)


def _text(value, limit: int) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = str(value).strip()
    # Canvas leaves unresolvable substitutions literal ("$Canvas.course.id"): never data.
    if text.startswith("$"):
        return ""
    return text[:limit]


@dataclass(frozen=True)
class LaunchData:
    """The minimised launch: only what STORED_LAUNCH_CLAIMS allows, plus routing keys."""

    sub: str
    name: str
    email: str
    roles: tuple[str, ...]
    context_id: str
    context_title: str
    context_label: str
    canvas_course_id: str
    section_ids: tuple[str, ...]
    lms_user_id: str
    deployment_id: str
    # Not personal data: used to describe a new deployment to the Owner approving it.
    platform_guid: str
    platform_name: str
    canvas_url: str


def minimise_launch(claims: dict) -> LaunchData:
    """Extract the stored fields from a validated id_token payload; drop everything else."""
    custom = claims.get(CLAIM_CUSTOM) if isinstance(claims.get(CLAIM_CUSTOM), dict) else {}
    context = claims.get(CLAIM_CONTEXT) if isinstance(claims.get(CLAIM_CONTEXT), dict) else {}
    platform = claims.get(CLAIM_TOOL_PLATFORM) if isinstance(claims.get(CLAIM_TOOL_PLATFORM), dict) else {}
    name = _text(claims.get("name"), 500) or " ".join(
        p for p in (_text(claims.get("given_name"), 250), _text(claims.get("family_name"), 250)) if p
    )
    sections = _text(custom.get("canvas_section_ids"), 2000)
    canvas_url = _text(custom.get("canvas_api_base_url"), 255)
    if canvas_url and not canvas_url.startswith("https://"):
        canvas_url = ""
    return LaunchData(
        sub=_text(claims.get("sub"), 255),
        name=name,
        email=_text(claims.get("email"), 254),
        roles=tuple(r for r in claims.get(CLAIM_ROLES, []) if isinstance(r, str)),
        context_id=_text(context.get("id"), 255),
        context_title=_text(context.get("title"), 500),
        context_label=_text(context.get("label"), 255),
        canvas_course_id=_text(custom.get("canvas_course_id"), 64),
        section_ids=tuple(s.strip()[:255] for s in sections.split(",") if s.strip())[:50],
        lms_user_id=_text(custom.get("canvas_user_id"), 64),
        deployment_id=_text(claims.get(CLAIM_DEPLOYMENT_ID), 255),
        platform_guid=_text(platform.get("guid"), 255),
        platform_name=_text(platform.get("name"), 255),
        canvas_url=canvas_url.rstrip("/"),
    )
