"""Data-access pages, the Owners' privacy tools and the person's own-data page.

Thin views: validate, load through an access helper (404 for missing and not-yours
alike, 403 for too low a role), call one service or selector, respond.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy import selectors, services
from privacy.forms import PersonEraseForm, PersonForm, ShareLinkForm, WorkspaceDeleteForm
from workspaces.models import WorkspaceRole

OWNER = (WorkspaceRole.OWNER,)
OWNER_EDITOR = (WorkspaceRole.OWNER, WorkspaceRole.EDITOR)


def _json(data: dict, *, filename: str = "") -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"indent": 2, "sort_keys": False})
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _shared(response: HttpResponse) -> HttpResponse:
    """Headers for pages opened by share link: the token in the URL never leaks."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


# --- public ------------------------------------------------------------------------------------
@require_GET
def public_overview(request: HttpRequest) -> HttpResponse:
    """Integration methods and protections, for anyone (no sign-in)."""
    return render(request, "privacy/overview_public.html", {"overview": selectors.public_overview()})


# --- data-access page -----------------------------------------------------------------------------
def _report_page(request, workspace, *, json_url: str, shared: bool) -> HttpResponse:
    report = selectors.data_access_report(workspace=workspace)
    return render(
        request,
        "privacy/data_access_detail.html",
        {"report": report, "workspace": workspace, "json_url": json_url, "shared": shared},
    )


@login_required
@require_GET
def data_access(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """The workspace's data-access page, for its Owners and Editors."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER_EDITOR)
    json_url = reverse("privacy:data-access-json", kwargs={"workspace_uuid": workspace.uuid})
    return _report_page(request, workspace, json_url=json_url, shared=False)


@login_required
@require_GET
def data_access_json(request: HttpRequest, workspace_uuid) -> JsonResponse:
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER_EDITOR)
    return _json(selectors.data_access_report(workspace=workspace))


@require_GET
def shared_data_access(request: HttpRequest, token: str) -> HttpResponse:
    """The data-access page opened by an Owner's share link (no sign-in, no personal data)."""
    workspace = selectors.workspace_get_for_share_token(token=token)
    json_url = reverse("privacy:shared-data-access-json", kwargs={"token": token})
    return _shared(_report_page(request, workspace, json_url=json_url, shared=True))


@require_GET
def shared_data_access_json(request: HttpRequest, token: str) -> JsonResponse:
    workspace = selectors.workspace_get_for_share_token(token=token)
    return _shared(_json(selectors.data_access_report(workspace=workspace)))


# --- Owners' privacy tools ------------------------------------------------------------------------
@login_required
@never_cache
@require_GET
def tools(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """Share link, person search with export/delete, workspace deletion, audit export."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    query = request.GET.get("q", "")[:200]
    people = selectors.person_search_for_workspace(workspace=workspace, query=query) if query else []
    return render(
        request,
        "privacy/tools_detail.html",
        {
            "workspace": workspace,
            "link": selectors.data_access_link_active(workspace=workspace),
            "new_link": request.session.pop(f"privacy-new-link-{workspace.uuid}", ""),
            "retention": selectors.retention_policy_for_workspace(workspace=workspace),
            "query": query,
            "people": people,
            "erase_form": PersonEraseForm(),
        },
    )


@login_required
@require_POST
def share_link(request: HttpRequest, workspace_uuid) -> HttpResponse:
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Unknown action.", status=400)
    if form.cleaned_data["action"] == "create":
        token = services.data_access_link_create(workspace=workspace, actor=request.user)
        url = request.build_absolute_uri(reverse("privacy:shared-data-access", kwargs={"token": token}))
        # Shown once on the next page; only the hash is stored.
        request.session[f"privacy-new-link-{workspace.uuid}"] = url
        messages.success(request, "A new share link was made; any previous link no longer works.")
    else:
        revoked = services.data_access_link_revoke(workspace=workspace, actor=request.user)
        messages.success(request, "The share link was revoked." if revoked else "There was no active share link.")
    return redirect("privacy:tools", workspace_uuid=workspace.uuid)


@login_required
@require_POST
def person_export(request: HttpRequest, workspace_uuid) -> JsonResponse:
    """Download everything stored about one person in the workspace (JSON)."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    form = PersonForm(request.POST)
    if not form.is_valid():
        raise Http404("No such person")
    person = selectors.person_get_for_workspace(workspace=workspace, user_id=form.cleaned_data["person"])
    data = services.person_data_export_record(workspace=workspace, person=person, actor=request.user)
    return _json(data, filename=f"person-{person.pk}-{workspace.slug}.json")


@login_required
@require_POST
def person_erase(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """Delete or anonymise one person's data in the workspace."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    form = PersonEraseForm(request.POST)
    if not form.is_valid():
        if "person" in form.errors:
            raise Http404("No such person")
        messages.error(request, "Tick the confirmation box to delete or anonymise a person's data.")
        return redirect("privacy:tools", workspace_uuid=workspace.uuid)
    person = selectors.person_get_for_workspace(workspace=workspace, user_id=form.cleaned_data["person"])
    if form.cleaned_data["mode"] == "delete":
        result = services.person_delete(workspace=workspace, person=person, actor=request.user)
    else:
        result = services.person_anonymise(workspace=workspace, person=person, actor=request.user)
    summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.items())
    messages.success(request, f"Done ({form.cleaned_data['mode']}). {summary}")
    return redirect("privacy:tools", workspace_uuid=workspace.uuid)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def workspace_delete(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """Confirm, then delete the whole workspace's data."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    form = WorkspaceDeleteForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        result = services.workspace_data_delete(workspace=workspace, actor=request.user)
        return render(request, "privacy/workspace_deleted.html", {"workspace": workspace, "result": result})
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/workspace_delete.html", {"workspace": workspace, "form": form}, status=status)


@login_required
@require_GET
def audit_csv(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """The workspace's whole audit log as CSV (Owners)."""
    workspace = selectors.workspace_get_for_user(user=request.user, workspace_uuid=workspace_uuid, roles=OWNER)
    entries = selectors.audit_entries_for_workspace(workspace=workspace)
    body = services.audit_log_csv(workspace=workspace, entries=entries, actor=request.user)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{workspace.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- the person's own data (also the target of an LTI Data Privacy launch) -----------------------
def _own_workspace(request: HttpRequest, workspace_uuid):
    if not request.user.is_authenticated:
        return None
    return selectors.workspace_get_for_person(user=request.user, workspace_uuid=workspace_uuid)


@never_cache
@require_GET
def my_data(request: HttpRequest, workspace_uuid) -> HttpResponse:
    """What is stored about the signed-in person in this workspace, and how to have it deleted."""
    workspace = _own_workspace(request, workspace_uuid)
    if workspace is None:
        return render(request, "workspaces/group_signed_out.html", status=403)
    data = selectors.person_data_export(workspace=workspace, user=request.user)
    response = render(
        request,
        "privacy/my_data_detail.html",
        {
            "workspace": workspace,
            "data": data,
            "data_json": json.dumps(data, indent=2),
            "overview": selectors.public_overview(),
        },
    )
    response.frame_origins = workspace.frame_origins
    return response


@never_cache
@require_GET
def my_data_json(request: HttpRequest, workspace_uuid) -> HttpResponse:
    workspace = _own_workspace(request, workspace_uuid)
    if workspace is None:
        return HttpResponse("Please open this page from Canvas.", status=403)
    data = services.person_data_export_record(workspace=workspace, person=request.user, actor=request.user)
    return _json(data, filename=f"my-data-{workspace.slug}.json")
