"""FERPA tools for Owners: export, delete or anonymise one person; delete a workspace's data;
retention purge; and the person's own-data page (target of an LTI Data Privacy launch)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assistant.models import Conversation, Message, MessageCitation
from assistant.services import assistant_get_or_create_for_group
from integrations.models import LaunchEvent, LtiDeployment, LtiIdentity, LtiRegistration
from privacy.audit import audit_record
from privacy.models import AuditEntry, RetentionPolicy
from privacy.tasks import retention_purge
from workspaces.models import Group, GroupMembership, RoleChange, Workspace, WorkspaceMembership

from .conftest import STUDENT_SUB

User = get_user_model()


def url(name, ws):
    return reverse(f"privacy:{name}", kwargs={"workspace_uuid": ws.uuid})


def converse(group, user, question: str, answer: str) -> Conversation:
    """One conversation of ``user`` with the group's assistant: a question and its answer."""
    assistant = assistant_get_or_create_for_group(group=group)
    ws = group.workspace
    conversation = Conversation.objects.create(workspace=ws, assistant=assistant, user=user, title=question[:40])
    asked = Message.objects.create(
        workspace=ws, conversation=conversation, role="user", content=question, status="question"
    )
    answered = Message.objects.create(
        workspace=ws,
        conversation=conversation,
        question=asked,
        role="assistant",
        content=answer,
        status="answered",
        mode="offline",
        citations=[{"number": 1, "title": "Syllabus"}],
    )
    MessageCitation.objects.create(workspace=ws, message=answered, item=_item(group), number=1)
    return conversation


def _item(group):
    from assistant.models import KnowledgeItem

    return KnowledgeItem.objects.get_or_create(
        workspace=group.workspace,
        group=group,
        source="upload",
        item_type="upload",
        external_id="syllabus",
        defaults={"title": "Syllabus", "content_hash": "0"},
    )[0]


@pytest.fixture
def chats(tenants, student):
    """The student's two alpha conversations, a classmate's, and the student's and a beta member's in beta."""
    a, b = tenants
    course = Group.objects.get(workspace=a.workspace, name="LTI 1.3 Test Course")
    beta = Group.objects.create(workspace=b.workspace, name="Beta course")
    return {
        "mine": [
            converse(course, student, "When is the midterm, I am StudentFirst?", "Week 7 [1]."),
            converse(course, student, "Where is the lab?", "Room 12 [1]."),
        ],
        "classmate": converse(course, a.member, "Classmate question", "Classmate answer"),
        "mine_elsewhere": converse(beta, student, "Beta question of the student", "Beta answer"),
        "beta": converse(beta, b.member, "Beta member question", "Beta member answer"),
    }


# --- export -------------------------------------------------------------------------------------------
def test_owner_exports_everything_stored_about_a_person(client, tenants, student, platform):
    a, _ = tenants
    client.force_login(a.owner)
    response = client.post(url("person-export", a.workspace), {"person": student.pk})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="person-{student.pk}-alpha.json"'
    data = response.json()
    assert list(data) == [
        "schema_version",
        "generated_at",
        "workspace",
        "account",
        "lti_identities",
        "workspace_membership",
        "group_memberships",
        "role_changes",
        "launches",
        "assistant_conversations",
        "audit_entries",
    ]
    assert data["assistant_conversations"] == []
    assert data["account"]["name"] == "StudentFirst StudentLast"
    assert data["account"]["email"] == "canvasstudent@russfeld.me"
    assert data["lti_identities"] == [
        {
            "registration": "Canvas",
            "lms_user_id": data["lti_identities"][0]["lms_user_id"],
            "sub": STUDENT_SUB,
            "name": "StudentFirst StudentLast",
            "email": "canvasstudent@russfeld.me",
            "created_at": data["lti_identities"][0]["created_at"],
        }
    ]
    assert data["workspace_membership"]["role"] == "member"
    assert [g["group"] for g in data["group_memberships"]] == ["LTI 1.3 Test Course"]
    assert [(e["outcome"], e["reason"]) for e in data["launches"]] == [("accepted", "accepted")]
    assert [e["action"] for e in data["audit_entries"]] == ["lti.launch.accepted"]
    (entry,) = AuditEntry.objects.filter(action="privacy.person.exported")
    assert (entry.workspace_id, entry.actor_id, entry.target) == (a.workspace.pk, a.owner.pk, f"user:{student.pk}")


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("member", 403), ("outsider", 404)])
def test_person_export_by_role(client, tenants, who, status):
    a, _ = tenants
    client.force_login(getattr(a, who))
    assert client.post(url("person-export", a.workspace), {"person": a.member.pk}).status_code == status


def test_person_of_another_workspace_cannot_be_exported_or_erased(client, tenants):
    a, b = tenants
    client.force_login(a.owner)
    assert client.post(url("person-export", a.workspace), {"person": b.member.pk}).status_code == 404
    assert client.post(url("person-export", b.workspace), {"person": b.member.pk}).status_code == 404
    erase = {"person": b.member.pk, "mode": "delete", "confirm": "on"}
    assert client.post(url("person-erase", a.workspace), erase).status_code == 404
    assert client.post(url("person-erase", b.workspace), erase).status_code == 404
    assert User.objects.filter(pk=b.member.pk).exists()
    assert AuditEntry.objects.count() == 0


def test_owner_finds_people_of_their_workspace_only(client, tenants, student):
    a, b = tenants
    client.force_login(a.owner)
    page = client.get(url("tools", a.workspace), {"q": "StudentFirst"})
    assert [p.pk for p in page.context["people"]] == [student.pk]
    assert client.get(url("tools", a.workspace), {"q": "beta-member"}).context["people"] == []
    client.force_login(a.editor)
    assert client.get(url("tools", a.workspace)).status_code == 403


# --- delete and anonymise ---------------------------------------------------------------------------
def test_owner_deletes_a_persons_data(client, tenants, student):
    a, b = tenants
    client.force_login(a.owner)
    response = client.post(url("person-erase", a.workspace), {"person": student.pk, "mode": "delete", "confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=student.pk).exists()
    assert not LtiIdentity.objects.filter(sub=STUDENT_SUB).exists()
    assert not GroupMembership.objects.filter(user_id=student.pk).exists()
    assert not LaunchEvent.objects.filter(user_id=student.pk).exists()
    (entry,) = AuditEntry.objects.filter(action="privacy.person.deleted")
    assert entry.details == {
        "assistant_conversations": 0,
        "assistant_messages": 0,
        "launch_events": 1,
        "role_changes": 2,
        "group_memberships": 1,
        "workspace_memberships": 1,
        "lti_identities": 1,
        "account_deleted": True,
    }
    assert User.objects.filter(pk=b.member.pk).exists()


def test_deleting_a_person_who_also_belongs_elsewhere_keeps_their_account(client, tenants):
    a, b = tenants
    WorkspaceMembership.objects.create(workspace=b.workspace, user=a.member, role="member")
    client.force_login(a.owner)
    client.post(url("person-erase", a.workspace), {"person": a.member.pk, "mode": "delete", "confirm": "on"})
    assert User.objects.filter(pk=a.member.pk).exists()
    assert not WorkspaceMembership.objects.filter(workspace=a.workspace, user=a.member).exists()
    assert WorkspaceMembership.objects.filter(workspace=b.workspace, user=a.member).exists()


def test_erasing_needs_the_confirmation(client, tenants):
    a, _ = tenants
    client.force_login(a.owner)
    client.post(url("person-erase", a.workspace), {"person": a.member.pk, "mode": "delete"})
    assert WorkspaceMembership.objects.filter(workspace=a.workspace, user=a.member).exists()


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("member", 403), ("outsider", 404)])
def test_person_erase_by_role(client, tenants, who, status):
    a, _ = tenants
    client.force_login(getattr(a, who))
    erase = {"person": a.member.pk, "mode": "delete", "confirm": "on"}
    assert client.post(url("person-erase", a.workspace), erase).status_code == status
    assert WorkspaceMembership.objects.filter(workspace=a.workspace, user=a.member).exists()


def test_owner_anonymises_a_person_and_a_later_launch_is_a_new_person(client, tenants, student, platform):
    a, _ = tenants
    client.force_login(a.owner)
    erase = {"person": student.pk, "mode": "anonymise", "confirm": "on"}
    assert client.post(url("person-erase", a.workspace), erase).status_code == 302
    identity = LtiIdentity.objects.get(user=student)
    assert (identity.name, identity.email, identity.lms_user_id) == ("", "", "")
    assert identity.sub.startswith("anonymised-")
    student.refresh_from_db()
    assert (student.first_name, student.email) == ("", "")
    assert student.username.startswith("anonymised-")
    assert GroupMembership.objects.filter(user=student).count() == 1  # the activity stays
    assert LaunchEvent.objects.filter(user=student).count() == 0
    assert AuditEntry.objects.get(action="privacy.person.anonymised").details == {
        "lti_identities": 1,
        "launch_events_unlinked": 1,
        "assistant_conversations": 0,
        "assistant_messages": 0,
        "account_anonymised": True,
    }
    platform.full_launch(Client())
    assert LtiIdentity.objects.get(sub=STUDENT_SUB).user_id != student.pk


# --- course-assistant conversations ---------------------------------------------------------------------------
def test_export_holds_every_conversation_and_message_of_the_person_in_the_workspace_only(
    client, tenants, student, chats
):
    a, _ = tenants
    client.force_login(a.owner)
    data = client.post(url("person-export", a.workspace), {"person": student.pk}).json()
    conversations = data["assistant_conversations"]
    first, second = chats["mine"]
    assert [c["uuid"] for c in conversations] == [str(first.uuid), str(second.uuid)]
    assert list(conversations[0]) == [
        "uuid",
        "assistant",
        "assistant_uuid",
        "group",
        "group_uuid",
        "title",
        "created_at",
        "updated_at",
        "messages",
    ]
    assert (conversations[0]["assistant"], conversations[0]["group"]) == ("Course assistant", "LTI 1.3 Test Course")
    question, answer = conversations[0]["messages"]
    assert list(question) == [
        "uuid",
        "role",
        "content",
        "status",
        "mode",
        "answers_question",
        "citations",
        "error",
        "created_at",
    ]
    assert (question["role"], question["content"], question["answers_question"]) == (
        "user",
        "When is the midterm, I am StudentFirst?",
        None,
    )
    assert (answer["role"], answer["content"], answer["answers_question"]) == (
        "assistant",
        "Week 7 [1].",
        question["uuid"],
    )
    assert answer["citations"] == [{"number": 1, "title": "Syllabus"}]
    assert [m["content"] for m in conversations[1]["messages"]] == ["Where is the lab?", "Room 12 [1]."]
    body = str(data)
    for other in ("Classmate question", "Classmate answer", "Beta question of the student", "Beta member question"):
        assert other not in body
    # The person's own download holds the same conversations.
    own = Client()
    own.force_login(student)
    assert own.get(url("my-data-json", a.workspace)).json()["assistant_conversations"] == conversations
    assert "Course assistant conversations kept: 2" in own.get(url("my-data", a.workspace)).content.decode()


def test_deleting_a_person_deletes_their_conversations_in_the_workspace_only(client, tenants, student, chats):
    a, b = tenants
    WorkspaceMembership.objects.create(workspace=b.workspace, user=student, role="member")  # the account stays
    client.force_login(a.owner)
    erase = {"person": student.pk, "mode": "delete", "confirm": "on"}
    assert client.post(url("person-erase", a.workspace), erase).status_code == 302
    assert User.objects.filter(pk=student.pk).exists()
    assert not Conversation.objects.filter(workspace=a.workspace, user=student).exists()
    assert not Message.objects.filter(conversation__in=[c.pk for c in chats["mine"]]).exists()
    assert not MessageCitation.objects.filter(message__conversation__in=[c.pk for c in chats["mine"]]).exists()
    remaining = set(Conversation.objects.values_list("pk", flat=True))
    assert remaining == {chats["classmate"].pk, chats["mine_elsewhere"].pk, chats["beta"].pk}
    assert Message.objects.filter(conversation=chats["classmate"]).count() == 2
    details = AuditEntry.objects.get(action="privacy.person.deleted").details
    assert (details["assistant_conversations"], details["assistant_messages"]) == (2, 4)


def test_deleting_a_person_whose_account_goes_deletes_all_their_conversations(client, tenants, student, chats):
    a, _ = tenants
    client.force_login(a.owner)
    client.post(url("person-erase", a.workspace), {"person": student.pk, "mode": "delete", "confirm": "on"})
    assert not User.objects.filter(pk=student.pk).exists()
    assert not Conversation.objects.filter(user_id=student.pk).exists()
    assert set(Conversation.objects.values_list("pk", flat=True)) == {chats["classmate"].pk, chats["beta"].pk}


def test_anonymising_a_person_strips_the_text_of_their_conversations_and_keeps_the_activity(
    client, tenants, student, chats
):
    a, _ = tenants
    first, second = chats["mine"]
    before = {c.pk: c.updated_at for c in Conversation.objects.all()}
    Message.objects.filter(conversation=first, role="assistant").update(error="provider said StudentFirst")
    client.force_login(a.owner)
    erase = {"person": student.pk, "mode": "anonymise", "confirm": "on"}
    assert client.post(url("person-erase", a.workspace), erase).status_code == 302
    for conversation in (first, second):
        conversation.refresh_from_db()
        assert conversation.title == ""
        assert conversation.updated_at == before[conversation.pk]  # retention unchanged
        rows = list(Message.objects.filter(conversation=conversation).values_list("role", "status", "content", "error"))
        assert rows == [("user", "question", "", ""), ("assistant", "answered", "", "")]
    assert MessageCitation.objects.filter(message__conversation=first).count() == 1  # usage figures stay
    assert Message.objects.get(conversation=chats["classmate"], role="user").content == "Classmate question"
    assert Message.objects.get(conversation=chats["mine_elsewhere"], role="user").content == (
        "Beta question of the student"
    )
    assert Conversation.objects.get(pk=chats["classmate"].pk).title == "Classmate question"
    details = AuditEntry.objects.get(action="privacy.person.anonymised").details
    assert (details["assistant_conversations"], details["assistant_messages"]) == (2, 4)
    data = client.post(url("person-export", a.workspace), {"person": student.pk}).json()
    assert "StudentFirst" not in str(data["assistant_conversations"])


def test_deleting_the_workspaces_data_deletes_its_conversations(client, tenants, student, chats):
    a, b = tenants
    client.force_login(a.owner)
    assert client.post(url("workspace-delete", a.workspace), {"confirm_slug": "alpha"}).status_code == 200
    assert not Conversation.objects.filter(workspace=a.workspace).exists()
    assert not Message.objects.filter(workspace=a.workspace).exists()
    assert Conversation.objects.filter(pk=chats["beta"].pk).exists()
    assert Message.objects.filter(conversation=chats["beta"]).count() == 2


# --- delete a whole workspace's data ------------------------------------------------------------------------
def test_owner_deletes_the_whole_workspaces_data(client, tenants, student, platform):
    a, b = tenants
    beta_people = set(WorkspaceMembership.objects.filter(workspace=b.workspace).values_list("user_id", flat=True))
    client.force_login(a.owner)
    assert client.get(url("workspace-delete", a.workspace)).status_code == 200
    wrong = client.post(url("workspace-delete", a.workspace), {"confirm_slug": "beta"})
    assert wrong.status_code == 400
    assert LtiIdentity.objects.filter(workspace=a.workspace).exists()
    response = client.post(url("workspace-delete", a.workspace), {"confirm_slug": "alpha"})
    assert response.status_code == 200
    ws = a.workspace
    assert not Group.objects.filter(workspace=ws).exists()
    assert not LtiIdentity.objects.filter(workspace=ws).exists()
    assert not LaunchEvent.objects.filter(workspace=ws).exists()
    assert not LtiRegistration.objects.filter(workspace=ws).exists()
    assert not LtiDeployment.objects.filter(workspace=ws).exists()
    assert not RoleChange.objects.filter(workspace=ws).exists()
    assert list(WorkspaceMembership.objects.filter(workspace=ws).values_list("user_id", flat=True)) == [a.owner.pk]
    assert not User.objects.filter(pk__in=[student.pk, a.editor.pk, a.member.pk]).exists()
    assert User.objects.filter(pk=a.outsider.pk).exists()  # never belonged to the workspace
    (entry,) = AuditEntry.objects.filter(action="privacy.workspace.deleted")
    assert entry.workspace_id == ws.pk
    assert entry.details["lti_identities"] == 1
    assert entry.details["accounts"] == 3
    assert entry.details["groups"] == 1
    assert Workspace.objects.filter(pk=ws.pk).exists()
    assert set(WorkspaceMembership.objects.filter(workspace=b.workspace).values_list("user_id", flat=True)) == (
        beta_people
    )


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("member", 403), ("outsider", 404)])
def test_workspace_delete_by_role(client, tenants, who, status):
    a, _ = tenants
    client.force_login(getattr(a, who))
    assert client.post(url("workspace-delete", a.workspace), {"confirm_slug": "alpha"}).status_code == status
    assert WorkspaceMembership.objects.filter(workspace=a.workspace).count() == 3


def test_workspace_delete_of_another_workspace_is_404(client, tenants):
    a, b = tenants
    client.force_login(a.owner)
    assert client.post(url("workspace-delete", b.workspace), {"confirm_slug": "beta"}).status_code == 404
    assert WorkspaceMembership.objects.filter(workspace=b.workspace).count() == 3


# --- retention ---------------------------------------------------------------------------------------
def age(queryset, days):
    """Backdate rows. The audit log refuses UPDATE, so its trigger is switched off for this."""
    when = timezone.now() - timedelta(days=days)
    if queryset.model is not AuditEntry:
        queryset.update(created_at=when)
        return
    ids = list(queryset.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending FK checks
        cursor.execute("ALTER TABLE privacy_auditentry DISABLE TRIGGER privacy_auditentry_no_update")
        cursor.execute("UPDATE privacy_auditentry SET created_at = %s WHERE id = ANY(%s)", [when, ids])
        cursor.execute("ALTER TABLE privacy_auditentry ENABLE TRIGGER privacy_auditentry_no_update")


def test_retention_purge_applies_each_workspaces_policy(tenants):
    a, b = tenants
    RetentionPolicy.objects.create(workspace=b.workspace, launch_event_days=30, inactive_membership_days=60)
    for ws in (a.workspace, b.workspace):
        for days in (10, 45, 100):
            event = LaunchEvent.objects.create(workspace=ws, outcome="accepted", reason=f"d{days}")
            age(LaunchEvent.objects.filter(pk=event.pk), days)
        for days in (10, 500):
            entry = audit_record(workspace_id=ws.pk, action="privacy.test.entry", details={"d": days})
            age(AuditEntry.objects.filter(pk=entry.pk), days)
        Group.objects.create(workspace=ws, name="Course")
    now = timezone.now()
    for t, days in ((a, 100), (b, 100)):
        group = Group.objects.get(workspace=t.workspace)
        GroupMembership.objects.create(
            workspace=t.workspace, group=group, user=t.member, last_seen_at=now - timedelta(days=days)
        )
        GroupMembership.objects.create(
            workspace=t.workspace, group=group, user=t.editor, last_seen_at=now - timedelta(days=5)
        )
        GroupMembership.objects.create(workspace=t.workspace, group=group, user=t.owner, last_seen_at=None)

    totals = retention_purge.delay().get()

    assert sorted(LaunchEvent.objects.filter(workspace=a.workspace).values_list("reason", flat=True)) == ["d10", "d45"]
    assert sorted(LaunchEvent.objects.filter(workspace=b.workspace).values_list("reason", flat=True)) == ["d10"]
    for ws in (a.workspace, b.workspace):
        assert [e.details for e in AuditEntry.objects.filter(workspace=ws, action="privacy.test.entry")] == [{"d": 10}]
    assert set(
        GroupMembership.objects.filter(is_active=True, workspace=a.workspace).values_list("user", flat=True)
    ) == {a.member.pk, a.editor.pk, a.owner.pk}  # 100 days < alpha's default 180
    assert set(
        GroupMembership.objects.filter(is_active=True, workspace=b.workspace).values_list("user", flat=True)
    ) == {b.editor.pk, b.owner.pk}  # 100 days > beta's 60
    assert AuditEntry.objects.get(workspace=a.workspace, action="privacy.retention.purged").details == {
        "launch_events_deleted": 1,
        "audit_entries_deleted": 1,
        "memberships_deactivated": 0,
    }
    assert AuditEntry.objects.get(workspace=b.workspace, action="privacy.retention.purged").details == {
        "launch_events_deleted": 2,
        "audit_entries_deleted": 1,
        "memberships_deactivated": 1,
    }
    assert totals["launch_events_deleted"] == 3
    # Idempotent: a second run changes nothing and records nothing.
    again = retention_purge.delay().get()
    assert again["launch_events_deleted"] == again["audit_entries_deleted"] == again["memberships_deactivated"] == 0
    assert AuditEntry.objects.filter(action="privacy.retention.purged").count() == 2


def test_retention_purges_platform_level_records(db):
    event = LaunchEvent.objects.create(workspace=None, outcome="rejected", reason="unknown_issuer")
    age(LaunchEvent.objects.filter(pk=event.pk), settings.PRIVACY_PLATFORM_RETENTION_DAYS + 1)
    kept = LaunchEvent.objects.create(workspace=None, outcome="rejected", reason="unknown_client")
    totals = retention_purge.delay().get()
    assert totals["platform_launch_events_deleted"] == 1
    assert list(LaunchEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_retention_job_is_scheduled():
    assert settings.CELERY_BEAT_SCHEDULE["privacy-retention"] == {
        "task": "privacy.retention_purge",
        "schedule": 24 * 3600,
    }


def test_owner_sets_retention_in_the_admin_and_it_is_validated(client, tenants):
    a, b = tenants
    client.force_login(a.owner)
    add = reverse("admin:privacy_retentionpolicy_add")
    form = {
        "workspace": a.workspace.pk,
        "launch_event_days": 30,
        "audit_entry_days": 100,
        "inactive_membership_days": 90,
    }
    assert client.post(add, form).status_code == 200  # audit entries must be kept at least 365 days
    assert not RetentionPolicy.objects.exists()
    form["audit_entry_days"] = 730
    assert client.post(add, form).status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.workspace, policy.launch_event_days, policy.audit_entry_days) == (a.workspace, 30, 730)
    assert AuditEntry.objects.get(action="privacy.retention.changed").details == {
        "launch_event_days": 30,
        "audit_entry_days": 730,
        "inactive_membership_days": 90,
    }
    assert client.post(add, {**form, "workspace": b.workspace.pk}).status_code == 200  # not a choice for alpha's owner
    assert RetentionPolicy.objects.count() == 1
    client.force_login(a.editor)
    assert client.post(add, {**form, "workspace": a.workspace.pk}).status_code == 403


# --- the person's own data (LTI Data Privacy launch target) -------------------------------------------------
def test_person_sees_what_is_stored_about_them_and_how_to_have_it_deleted(tenants, student):
    a, _ = tenants
    client = Client()
    client.force_login(student)
    response = client.get(url("my-data", a.workspace))
    assert response.status_code == 200
    html = response.content.decode()
    assert "StudentFirst StudentLast" in html
    assert "canvasstudent@russfeld.me" in html
    assert "LTI 1.3 Test Course" in html
    assert "How to have it deleted" in html
    assert settings.CONTACT_EMAIL in html
    assert "https://canvas.home.russfeld.me" in response["Content-Security-Policy"]
    data = client.get(url("my-data-json", a.workspace)).json()
    assert data["account"]["email"] == "canvasstudent@russfeld.me"
    assert AuditEntry.objects.filter(action="privacy.person.exported", actor_id=student.pk).count() == 1


def test_own_data_page_of_another_workspace_is_404_and_needs_a_session(client, tenants, student):
    a, b = tenants
    client.force_login(student)
    assert client.get(url("my-data", b.workspace)).status_code == 404
    assert client.get(url("my-data-json", b.workspace)).status_code == 404
    client.logout()
    assert client.get(url("my-data", a.workspace)).status_code == 403
    assert client.get(url("my-data-json", a.workspace)).status_code == 403


def test_own_data_page_shows_only_ones_own_data(client, tenants, student):
    a, _ = tenants
    client.force_login(a.member)
    html = client.get(url("my-data", a.workspace)).content.decode()
    assert "canvasstudent@russfeld.me" not in html
    assert "member@alpha.edu" in html
