"""The OAuth redirect URI: Canvas sends the admin's browser back here with ``code`` and ``state``."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integrations.canvas import services


@never_cache
@require_GET
def oauth_callback(request):
    """Validate, hand the parameters to the service, tell the admin what happened."""
    outcome = services.canvas_oauth_complete(
        state=request.GET.get("state", "")[:200],
        code=request.GET.get("code", "")[:500],
        error=request.GET.get("error", "")[:100],
        user=request.user,
        session=request.session,
    )
    messages.add_message(request, messages.SUCCESS if outcome.ok else messages.ERROR, outcome.message)
    if outcome.connection is not None:
        target = reverse("admin:integrations_canvasconnection_change", args=[outcome.connection.pk])
    else:
        target = reverse("admin:integrations_canvasconnection_changelist")
    response = redirect(target)
    response["Referrer-Policy"] = "no-referrer"
    return response
