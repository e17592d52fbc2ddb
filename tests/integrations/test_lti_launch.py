"""End to end: OIDC login -> signed id_token -> launch -> signed in, enrolled, landed."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from integrations.models import LaunchEvent, LoginAttempt, LtiIdentity
from tests.integrations.platform import LTI
from workspaces.models import Group, GroupMembership, GroupRole, RoleChange, WorkspaceMembership, WorkspaceRole

User = get_user_model()


def test_login_initiation_redirects_to_platform_with_state_and_nonce(client, platform):
    response = platform.login(client)
    assert response.status_code == 200
    auth = platform.auth_request(response)
    assert auth["_url"].startswith("https://canvas.home.russfeld.me/api/lti/authorize_redirect?")
    assert auth["scope"] == "openid"
    assert auth["response_type"] == "id_token"
    assert auth["response_mode"] == "form_post"
    assert auth["prompt"] == "none"
    assert auth["client_id"] == platform.client_id
    assert auth["redirect_uri"] == "https://tool.test/lti/launch/"
    assert auth["login_hint"] == "535fa085f22b4655f48cd5a36a9215f64c062838"
    assert auth["lti_message_hint"] == "opaque-hint"
    attempt = LoginAttempt.objects.get(state=auth["state"])
    assert attempt.nonce == auth["nonce"]
    cookie = response.cookies[f"nectir_lti_state_{auth['state']}"]
    assert cookie["samesite"] == "None" and cookie["secure"] and cookie["httponly"]
    assert "Partitioned" in cookie.OutputString()


def test_login_initiation_accepts_get(client, platform):
    response = platform.login(client, method="get")
    assert response.status_code == 200
    assert LoginAttempt.objects.count() == 1


def test_first_launch_signs_in_enrols_and_lands_on_group_page(client, platform, tenants):
    response, auth = platform.full_launch(client)
    group = Group.objects.get(lms_context_id="d3a2504bba5184799a38f141e8df2335cfa8206d")
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.uuid}/"
    assert group.workspace == tenants[0].workspace
    assert group.name == "LTI 1.3 Test Course"
    assert group.lms_course_label == "LTI13"
    identity = LtiIdentity.objects.get(sub="848b3a11-c7b6-4c05-9fb3-782a0c34ee43")
    assert identity.name == "StudentFirst StudentLast"
    assert identity.email == "canvasstudent@russfeld.me"
    user = identity.user
    assert not user.has_usable_password()
    assert WorkspaceMembership.objects.get(user=user).role == WorkspaceRole.MEMBER
    gm = GroupMembership.objects.get(user=user)
    assert (gm.group, gm.role, gm.source, gm.lms_roles) == (group, GroupRole.MEMBER, "lti_launch", ["student"])
    assert LaunchEvent.objects.get().reason == "accepted"
    assert RoleChange.objects.filter(user=user).count() == 2
    page = client.get(response["Location"], secure=True)
    assert page.status_code == 200
    assert b"LTI 1.3 Test Course" in page.content
    assert b"Member" in page.content
    assert "https://canvas.home.russfeld.me" in page["Content-Security-Policy"]
    assert page["Content-Security-Policy"].startswith("frame-ancestors 'self'")


def test_launch_keeps_only_the_five_stored_claims(client, platform):
    platform.full_launch(client)
    identity = LtiIdentity.objects.get()
    stored = {f.name for f in LtiIdentity._meta.fields} - {"id", "workspace", "registration", "user", "created_at"}
    assert stored == {"sub", "name", "email", "lms_user_id"}
    assert identity.user.first_name == "StudentFirst StudentLast"
    assert identity.user.last_name == ""


@pytest.mark.parametrize("policy", ["keep_in_sync", "new_members_only"])
def test_returning_launch_reuses_the_same_user_and_group(client, platform, policy, tenants):
    tenants[0].workspace.role_mapping_policy = policy
    tenants[0].workspace.save()
    platform.full_launch(client)
    platform.full_launch(client)
    assert User.objects.filter(lti_identities__isnull=False).count() == 1
    assert Group.objects.count() == 1
    assert GroupMembership.objects.count() == 1
    assert LaunchEvent.objects.filter(reason="accepted").count() == 2


def test_ta_course_navigation_launch_creates_sections_and_facilitator_role(client, platform):
    response, _ = platform.full_launch(
        client,
        fixture="id-token.course-navigation.ta.cloud-canvas.json",
        **{
            LTI + "custom": {
                "canvas_course_id": "12345",
                "canvas_user_id": "67890",
                "canvas_api_base_url": "https://example.instructure.com",
                "canvas_section_ids": "2001,2002",
            }
        },
    )
    assert response.status_code == 302
    course = Group.objects.get(parent__isnull=True)
    assert course.canvas_course_id == "12345"
    assert sorted(course.children.values_list("lms_section_id", flat=True)) == ["2001", "2002"]
    memberships = GroupMembership.objects.all()
    assert {m.role for m in memberships} == {GroupRole.FACILITATOR}
    assert memberships.count() == 3
    assert LtiIdentity.objects.get().lms_user_id == "67890"


def test_two_courses_in_two_tabs_do_not_overwrite_each_other(client, platform):
    context_b = {"id": "course-b-context", "label": "B", "title": "Course B"}
    first = platform.auth_request(platform.login(client))
    second = platform.auth_request(platform.login(client))
    token_a = platform.sign(platform.claims(nonce=first["nonce"]))
    token_b = platform.sign(platform.claims(nonce=second["nonce"], **{LTI + "context": context_b}))
    landed_b = platform.launch(client, id_token=token_b, state=second["state"])
    landed_a = platform.launch(client, id_token=token_a, state=first["state"])
    group_a = Group.objects.get(lms_context_id="d3a2504bba5184799a38f141e8df2335cfa8206d")
    group_b = Group.objects.get(lms_context_id="course-b-context")
    assert landed_a["Location"] == f"/groups/{group_a.uuid}/"
    assert landed_b["Location"] == f"/groups/{group_b.uuid}/"
    assert b"Course B" in client.get(landed_b["Location"], secure=True).content
    assert b"LTI 1.3 Test Course" in client.get(landed_a["Location"], secure=True).content


def test_data_privacy_launch_shows_a_known_person_their_data(client, platform, tenants):
    platform.full_launch(client)
    other = Client()
    response, _ = platform.full_launch(
        other, **{LTI + "message_type": "DataPrivacyLaunchRequest", LTI + "context": None}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/privacy/me/{tenants[0].workspace.uuid}/"
    page = other.get(response["Location"], secure=True)
    assert page.status_code == 200
    assert b"canvasstudent@russfeld.me" in page.content
    assert LaunchEvent.objects.order_by("-pk").first().reason == "data_privacy"
    assert Group.objects.count() == 1 and User.objects.filter(lti_identities__isnull=False).count() == 1


def test_data_privacy_launch_of_an_unknown_person_creates_nothing(client, platform):
    before = (User.objects.count(), Group.objects.count(), GroupMembership.objects.count())
    response, _ = platform.full_launch(client, **{LTI + "message_type": "DataPrivacyLaunchRequest"})
    assert response.status_code == 200
    assert b"Nothing is stored about you" in response.content
    assert (User.objects.count(), Group.objects.count(), GroupMembership.objects.count()) == before
    assert LtiIdentity.objects.count() == 0


def test_disabling_a_deployment_takes_effect_at_the_next_launch(
    client, platform, tenants, django_capture_on_commit_callbacks
):
    from integrations.models import LtiDeployment
    from integrations.services import deployment_set_status

    assert platform.full_launch(client)[0].status_code == 302  # the deployment's status is now cached
    deployment = LtiDeployment.objects.get(deployment_id=platform.deployment_id)
    with django_capture_on_commit_callbacks(execute=True):
        deployment_set_status(deployment=deployment, status=LtiDeployment.Status.DISABLED, actor=tenants[0].owner)
    response, _ = platform.full_launch(Client())
    assert response.status_code == 403
    assert b"deployment_disabled" in response.content


def test_launch_teaches_the_workspace_its_canvas_origin_for_framing(client, platform, tenants):
    from integrations.models import LtiDeployment

    LtiDeployment.objects.update(canvas_url="")
    from integrations.services import workspace_frame_origins_refresh

    workspace_frame_origins_refresh(workspace_id=tenants[0].workspace.pk)
    response, _ = platform.full_launch(
        client, **{LTI + "custom": {"canvas_api_base_url": "https://school.example.edu", "canvas_course_id": "7"}}
    )
    page = client.get(response["Location"], secure=True)
    assert "https://school.example.edu" in page["Content-Security-Policy"]
