"""The audit log: what is recorded (from real launches and admin use), that it is append-only and
free of secrets, and that Owners see, filter, search and export only their workspace's entries."""

import csv
import io

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from integrations.lti.tool_keys import tool_key_ensure, tool_key_rotate
from integrations.models import LaunchEvent, LtiDeployment, LtiRegistration
from integrations.services import deployment_set_status
from privacy.audit import audit_record
from privacy.models import AuditEntry
from workspaces.models import RoleMapping, WorkspaceMembership
from workspaces.services import role_mapping_update, workspace_membership_save

from .conftest import STUDENT_SUB


def entries(**filters):
    return list(
        AuditEntry.objects.filter(**filters)
        .order_by("id")
        .values("action", "workspace_id", "actor_label", "target", "details")
    )


# --- the entry point -----------------------------------------------------------------------------
def test_audit_record_drops_secrets_and_bodies(tenants):
    a, _ = tenants
    entry = audit_record(
        workspace_id=a.workspace.pk,
        action="canvas.oauth.granted",
        actor=a.owner,
        target="connection:1",
        details={
            "access_token": "tok",
            "refresh_token": "ref",
            "client_secret": "sec",
            "code": "abc",
            "body": "<html>",
            "scopes": ["url:GET|/api/v1/courses/:id"],
            "nested": {"password": "x", "n": 1},
            "reason": "y" * 500,
        },
    )
    entry.refresh_from_db()
    assert entry.details == {"scopes": ["url:GET|/api/v1/courses/:id"], "nested": {"n": 1}, "reason": "y" * 200}
    assert (entry.actor_id, entry.actor_label, entry.workspace_id) == (a.owner.pk, "alpha-owner", a.workspace.pk)


def test_audit_record_refuses_a_malformed_action(db):
    with pytest.raises(ValueError):
        audit_record(workspace_id=None, action="Launch Accepted!")


def test_audit_log_is_append_only(tenants):
    entry = audit_record(workspace_id=tenants[0].workspace.pk, action="privacy.test.entry")
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="privacy.test.changed")
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.action = "privacy.test.changed"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()  # the database trigger refuses UPDATE
    assert AuditEntry.objects.get(pk=entry.pk).action == "privacy.test.entry"


# --- what is recorded -------------------------------------------------------------------------------
def test_accepted_launch_is_recorded(platform, student, tenants):
    a, _ = tenants
    (entry,) = entries(action="lti.launch.accepted")
    assert entry == {
        "action": "lti.launch.accepted",
        "workspace_id": a.workspace.pk,
        "actor_label": student.username,
        "target": entry["target"],
        "details": {"reason": "accepted", "deployment_id": platform.deployment_id, "client_id": platform.client_id},
    }
    assert STUDENT_SUB not in str(entry) and "StudentFirst" not in str(entry)


def test_rejected_launch_is_recorded_with_its_reason(client, platform, tenants):
    a, _ = tenants
    auth = platform.auth_request(platform.login(client))
    token = platform.sign(platform.claims(nonce="not-the-nonce"))
    assert platform.launch(client, id_token=token, state=auth["state"]).status_code == 403
    (entry,) = entries(action="lti.launch.rejected")
    assert entry["workspace_id"] == a.workspace.pk
    assert entry["details"] == {"reason": "nonce_mismatch", "deployment_id": "", "client_id": platform.client_id}
    assert token not in str(AuditEntry.objects.values_list("details", flat=True)[::1])


def test_launch_from_an_unknown_platform_is_not_audited_but_kept_as_a_launch_event(client, platform, caplog):
    """Anyone can send /lti/login/ for an unknown platform: no audit entry, so no anonymous flood."""
    for n in range(3):
        platform.login(client, iss="https://unknown.example", client_id=f"99{n}")
    assert not AuditEntry.objects.filter(action__startswith="lti.launch.").exists()
    assert not AuditEntry.objects.filter(workspace__isnull=True).exists()
    events = LaunchEvent.objects.filter(workspace__isnull=True, outcome="rejected")
    assert events.count() == 3
    assert {e.reason for e in events} == {"unknown_client"}
    assert "lti launch rejected reason=unknown_client workspace=None" in caplog.text


def test_platform_level_launch_events_are_not_written_but_everything_else_is(tenants):
    a, _ = tenants
    assert audit_record(workspace_id=None, action="lti.launch.rejected", details={"reason": "unknown_issuer"}) is None
    assert audit_record(workspace_id=None, action="lti.launch.accepted") is None
    assert AuditEntry.objects.count() == 0
    kept = [
        audit_record(workspace_id=a.workspace.pk, action="lti.launch.rejected", details={"reason": "nonce_mismatch"}),
        audit_record(workspace_id=None, action="lti.tool_key.rotated", target="tool_keys"),
        audit_record(workspace_id=None, action="admin.sign_in_failed", details={"ip": "203.0.113.9"}),
        audit_record(workspace_id=None, action="lti.launcher.something"),  # not the lti.launch. prefix
    ]
    assert all(isinstance(entry, AuditEntry) for entry in kept)
    assert [(e["action"], e["workspace_id"]) for e in entries()] == [
        ("lti.launch.rejected", a.workspace.pk),
        ("lti.tool_key.rotated", None),
        ("admin.sign_in_failed", None),
        ("lti.launcher.something", None),
    ]
    with pytest.raises(ValueError):  # malformed names are still refused, workspace or not
        audit_record(workspace_id=None, action="lti.launch.Bad Name")


def test_deployment_status_change_is_recorded_with_its_actor(tenants, platform):
    a, _ = tenants
    deployment = LtiDeployment.objects.get()
    deployment_set_status(deployment=deployment, status=LtiDeployment.Status.DISABLED, actor=a.owner)
    (entry,) = entries(action="lti.deployment.status_changed")
    assert entry == {
        "action": "lti.deployment.status_changed",
        "workspace_id": a.workspace.pk,
        "actor_label": "alpha-owner",
        "target": f"deployment:{deployment.pk}",
        "details": {"deployment_id": platform.deployment_id, "status": "disabled"},
    }


def test_registration_saved_in_the_admin_is_recorded(client, tenants):
    a, _ = tenants
    client.force_login(a.owner)
    response = client.post(
        reverse("admin:integrations_ltiregistration_add"),
        {
            "workspace": a.workspace.pk,
            "name": "Canvas",
            "preset": "canvas_cloud",
            "client_id": "10000000000077",
            "is_active": "on",
            "extra_frame_origins": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    registration = LtiRegistration.objects.get(client_id="10000000000077")
    (entry,) = entries(action="lti.registration.created")
    assert entry["workspace_id"] == a.workspace.pk
    assert entry["actor_label"] == "alpha-owner"
    assert entry["target"] == f"registration:{registration.pk}"
    assert entry["details"]["client_id"] == "10000000000077"


def test_key_rotation_is_a_platform_level_entry(db):
    tool_key_ensure()
    result = tool_key_rotate()
    (entry,) = entries(action="lti.tool_key.rotated")
    assert entry["workspace_id"] is None
    assert entry["details"] == result
    assert "BEGIN" not in str(entry)


def test_role_mapping_and_role_changes_are_recorded(tenants):
    a, _ = tenants
    mapping = RoleMapping.objects.get(workspace=a.workspace, lms_role="student")
    mapping.group_role = "facilitator"
    role_mapping_update(mapping=mapping, changed_by=a.owner)
    membership = WorkspaceMembership.objects.get(workspace=a.workspace, user=a.member)
    membership.role = "editor"
    workspace_membership_save(membership=membership, changed_by=a.owner)
    assert entries(workspace=a.workspace) == [
        {
            "action": "workspace.role_mapping.changed",
            "workspace_id": a.workspace.pk,
            "actor_label": "alpha-owner",
            "target": "role_mapping:student",
            "details": {"lms_role": "student", "workspace_role": "member", "group_role": "facilitator"},
        },
        {
            "action": "workspace.role.changed",
            "workspace_id": a.workspace.pk,
            "actor_label": "alpha-owner",
            "target": f"user:{a.member.pk}",
            "details": {"scope": "workspace", "from_role": "member", "to_role": "editor", "reason": "set by hand"},
        },
    ]


def test_admin_sign_in_is_recorded_per_administered_workspace(client, tenants):
    a, b = tenants
    WorkspaceMembership.objects.create(workspace=b.workspace, user=a.owner, role="editor")
    response = client.post(
        reverse("admin:login"), {"username": "alpha-owner", "password": "pw-owner"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    assert entries(action="admin.sign_in") == [
        {
            "action": "admin.sign_in",
            "workspace_id": ws.pk,
            "actor_label": "alpha-owner",
            "target": f"user:{a.owner.pk}",
            "details": {"ip": "10.1.2.3", "superuser": False},
        }
        for ws in sorted([a.workspace, b.workspace], key=lambda w: w.pk)
    ]


def test_failed_admin_sign_in_is_recorded_without_the_credentials(client, tenants):
    client.post(reverse("admin:login"), {"username": "alpha-owner", "password": "wrong-pw"})
    assert entries(action="admin.sign_in_failed") == [
        {
            "action": "admin.sign_in_failed",
            "workspace_id": None,
            "actor_label": "system",
            "target": "",
            "details": {"ip": "127.0.0.1"},
        }
    ]


def test_lti_launch_sign_in_is_not_an_admin_sign_in(platform, student):
    assert entries(action="admin.sign_in") == []


# --- Owners read, filter, search and export --------------------------------------------------------------
@pytest.fixture
def two_logs(tenants):
    a, b = tenants
    audit_record(workspace_id=a.workspace.pk, action="lti.deployment.created", actor=a.owner, target="deployment:1")
    audit_record(workspace_id=a.workspace.pk, action="privacy.retention.changed", actor=a.owner, target="workspace:x")
    audit_record(workspace_id=b.workspace.pk, action="lti.deployment.created", actor=b.owner, target="deployment:2")
    audit_record(workspace_id=None, action="lti.tool_key.rotated", target="tool_keys")
    return a, b


def changelist(client, **params):
    return client.get(reverse("admin:privacy_auditentry_changelist"), params)


def test_owner_sees_only_their_workspaces_entries_in_the_admin(client, two_logs):
    a, b = two_logs
    client.force_login(a.owner)
    response = changelist(client)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert {e.workspace_id for e in response.context["cl"].result_list} == {a.workspace.pk}
    assert changelist(client, q="deployment").context["cl"].result_count == 1
    assert changelist(client, action="privacy.retention.changed").context["cl"].result_count == 1
    other = AuditEntry.objects.get(workspace=b.workspace)
    assert client.get(reverse("admin:privacy_auditentry_change", args=[other.pk])).status_code == 404
    platform_entry = AuditEntry.objects.get(workspace__isnull=True)
    assert client.get(reverse("admin:privacy_auditentry_change", args=[platform_entry.pk])).status_code == 404


def test_editor_may_not_read_the_audit_log(client, two_logs):
    a, _ = two_logs
    client.force_login(a.editor)
    assert changelist(client).status_code == 403


def test_admin_csv_action_exports_selected_entries(client, two_logs):
    a, b = two_logs
    client.force_login(a.owner)
    ids = list(AuditEntry.objects.filter(workspace=a.workspace).values_list("pk", flat=True))
    response = client.post(
        reverse("admin:privacy_auditentry_changelist"), {"action": "export_csv", "_selected_action": ids}
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["created_at", "workspace", "action", "actor_id", "actor", "target", "details"]
    assert [r[2] for r in rows[1:]] == ["lti.deployment.created", "privacy.retention.changed"]
    assert {r[1] for r in rows[1:]} == {"Alpha University"}
    assert AuditEntry.objects.filter(workspace=a.workspace, action="privacy.audit.exported").count() == 1


def test_admin_csv_action_cannot_export_another_workspaces_entries(client, two_logs):
    a, b = two_logs
    client.force_login(a.owner)
    other = AuditEntry.objects.get(workspace=b.workspace).pk
    response = client.post(
        reverse("admin:privacy_auditentry_changelist"), {"action": "export_csv", "_selected_action": [other]}
    )
    assert response.status_code == 302  # nothing selected among the visible rows: no file
    assert AuditEntry.objects.filter(action="privacy.audit.exported").count() == 0


def csv_url(ws):
    return reverse("privacy:audit-csv", kwargs={"workspace_uuid": ws.uuid})


def test_csv_view_exports_the_whole_workspace_log(client, two_logs):
    a, _ = two_logs
    client.force_login(a.owner)
    response = client.get(csv_url(a.workspace))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="audit-alpha.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert sorted(r[2] for r in rows[1:]) == ["lti.deployment.created", "privacy.retention.changed"]
    assert rows[1][4:6] in (["alpha-owner", "deployment:1"], ["alpha-owner", "workspace:x"])


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("member", 403), ("outsider", 404)])
def test_csv_view_by_role(client, two_logs, who, status):
    a, _ = two_logs
    client.force_login(getattr(a, who))
    assert client.get(csv_url(a.workspace)).status_code == status


def test_csv_view_of_another_workspace_is_404(client, two_logs):
    a, b = two_logs
    client.force_login(a.owner)
    assert client.get(csv_url(b.workspace)).status_code == 404
