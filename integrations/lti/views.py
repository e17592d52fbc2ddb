"""LTI endpoints: thin views over integrations.lti.services."""

import logging
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from integrations.lti import services
from integrations.lti.claims import CUSTOM_FIELDS
from integrations.lti.errors import REASONS, LaunchRefused
from integrations.lti.tool_keys import tool_jwks as build_tool_jwks
from integrations.lti.tool_keys import tool_key_ensure
from integrations.models import LaunchEvent, LtiRegistration

logger = logging.getLogger("nectir.lti")

STATE_COOKIE_PREFIX = "nectir_lti_state_"
PROBE_COOKIE = "nectir_lti_probe"


def _clean_params(query) -> dict[str, str]:
    """Form or query parameters as text; NUL characters (refused by PostgreSQL) dropped."""
    return {k: v.replace("\x00", "") for k, v in query.items() if isinstance(v, str)}


def _request_origin(request: HttpRequest) -> str:
    """The https origin of the page that sent this request (Canvas, inside its iframe)."""
    for header in ("HTTP_ORIGIN", "HTTP_REFERER"):
        parts = urlsplit(request.META.get(header, ""))
        if parts.scheme == "https" and parts.hostname:
            return f"https://{parts.netloc}"
    return ""


def _frame_origins(request: HttpRequest, registration=None, *, static_page: bool = False) -> list[str]:
    """Who may frame an LTI response: the workspace's Canvas origins, never ``*``.

    The Canvas page posting a login or launch is also allowed when it belongs to the
    registration's platform (same host as its issuer or OIDC endpoint, or a subdomain of
    their parent domain: school.instructure.com for canvas.instructure.com), so the very
    first launch of a new deployment works before its origin is known. A static error page
    (no controls to click) may be framed by whoever posted to it, so the refusal is readable
    inside any LMS.
    """
    origins = list(registration.workspace.frame_origins) if registration is not None else []
    origin = _request_origin(request)
    if origin and (static_page or (registration is not None and services.is_platform_origin(origin, registration))):
        origins.append(origin)
    return origins


def _cookie_kwargs() -> dict:
    return {
        "secure": not settings.LOCAL_HTTP,
        "samesite": "Lax" if settings.LOCAL_HTTP else "None",
        "path": "/lti/",
    }


def refusal_page(request: HttpRequest, exc: LaunchRefused, *, registration=None, event_fields=None) -> HttpResponse:
    """Record a refused login/launch and render its readable error page (400/403)."""
    refusal = REASONS[exc.reason]
    event = services.launch_event_record(
        outcome=LaunchEvent.Outcome.REJECTED,
        reason=exc.reason,
        detail=exc.detail,
        registration=registration,
        **(event_fields or {}),
    )
    response = render(
        request,
        "lti/error.html",
        {
            "title": refusal.title,
            "message": refusal.message,
            "action": refusal.action,
            "reason": exc.reason,
            "reference": event.pk,
        },
        status=refusal.status,
    )
    response.frame_origins = _frame_origins(request, registration, static_page=True)
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def oidc_login(request: HttpRequest) -> HttpResponse:
    """OIDC third-party-initiated login (GET or POST, LTI Security §5.1.1.1)."""
    params = _clean_params(request.POST if request.method == "POST" else request.GET)
    try:
        start = services.login_start(params=params)
    except LaunchRefused as exc:
        fields = {} if exc.registration else {"issuer": params.get("iss", ""), "client_id": params.get("client_id", "")}
        return refusal_page(request, exc, registration=exc.registration, event_fields=fields)
    new_window = reverse("lti:login") + "?" + urlencode(start.attempt.login_params)
    response = render(
        request,
        "lti/login_redirect.html",
        {
            "auth_url": start.auth_url,
            "new_window_url": new_window,
            "platform_name": start.registration.name,
            "probe_cookie": PROBE_COOKIE,
        },
    )
    max_age = settings.LTI_LOGIN_TTL_SECONDS
    response.set_cookie(
        STATE_COOKIE_PREFIX + start.attempt.state, start.browser_key, max_age=max_age, httponly=True, **_cookie_kwargs()
    )
    response.set_cookie(PROBE_COOKIE, "1", max_age=max_age, httponly=False, **_cookie_kwargs())
    response.frame_origins = _frame_origins(request, start.registration)
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def launch(request: HttpRequest) -> HttpResponse:
    """The redirect URI: the platform form-posts id_token and state here."""
    if request.method != "POST":
        # Opened directly (a bookmark, a crawler): explain, record nothing.
        response = render(
            request,
            "lti/error.html",
            {
                "title": "Open the course assistant from Canvas",
                "message": "This address receives sign-ins from Canvas; it cannot be opened directly.",
                "action": "Go to your course in Canvas and open the course assistant from the course navigation.",
                "reason": "method_not_allowed",
            },
            status=405,
        )
        response["Allow"] = "POST"
        return response
    post = _clean_params(request.POST)
    if post.get("error"):
        detail = f"{post.get('error', '')[:60]}: {post.get('error_description', '')[:300]}"
        return refusal_page(request, LaunchRefused("platform_error", detail))
    state = post.get("state", "")
    id_token = post.get("id_token", "")
    if not state:
        return refusal_page(request, LaunchRefused("state_missing"))
    if not id_token:
        return refusal_page(request, LaunchRefused("malformed", "no id_token"))
    any_state_cookie = any(name.startswith(STATE_COOKIE_PREFIX) for name in request.COOKIES)
    try:
        attempt = services.login_attempt_for_launch(
            state=state,
            browser_key=request.COOKIES.get(STATE_COOKIE_PREFIX + state[:64]),
            any_state_cookie=any_state_cookie,
        )
    except LaunchRefused as exc:
        return refusal_page(request, exc, registration=exc.registration)
    registration = attempt.registration
    try:
        result = services.launch_complete(attempt=attempt, id_token=id_token, request_origin=_request_origin(request))
    except LaunchRefused as exc:
        return refusal_page(request, exc, registration=registration)
    if isinstance(result, services.PendingLaunch):
        services.launch_event_record(
            outcome=LaunchEvent.Outcome.REJECTED,
            reason="deployment_pending",
            registration=registration,
            deployment_id=result.deployment.deployment_id,
        )
        response = render(
            request,
            "lti/pending.html",
            {"workspace": registration.workspace, "deployment_id": result.deployment.deployment_id},
            status=403,
        )
        response.frame_origins = _frame_origins(request, registration)
        return response
    if isinstance(result, services.DataPrivacyLaunch):
        if result.user is None:
            response = render(request, "lti/privacy_nothing_stored.html", {"workspace": result.workspace})
            response.frame_origins = _frame_origins(request, registration)
            return response
        target = reverse("privacy:my-data", kwargs={"workspace_uuid": result.workspace.uuid})
        user = result.user
    else:
        target = reverse("workspaces:group-detail", kwargs={"group_uuid": result.group_uuid})
        user = result.user
    request.lti_launch = True
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    response = HttpResponseRedirect(target)
    response.delete_cookie(
        STATE_COOKIE_PREFIX + state[:64], **{k: v for k, v in _cookie_kwargs().items() if k != "secure"}
    )
    response.frame_origins = _frame_origins(request, registration)
    return response


@require_GET
def tool_jwks(request: HttpRequest) -> JsonResponse:
    """The tool's public keys (active, next and retired-in-overlap)."""
    keys = build_tool_jwks()
    if not keys["keys"]:  # a new installation publishes its first key on first request
        tool_key_ensure()
        keys = build_tool_jwks()
    response = JsonResponse(keys)
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def developer_key_config(request: HttpRequest, registration_uuid) -> JsonResponse:
    """Canvas developer-key JSON configuration for one registration (paste its URL in Canvas).

    Public by design (Canvas fetches it); it holds no secret.
    """
    if not LtiRegistration.objects.filter(uuid=registration_uuid).exists():
        raise Http404("No such registration")
    return JsonResponse(developer_key_json(), json_dumps_params={"indent": 2})


def developer_key_json() -> dict:
    base = settings.PUBLIC_BASE_URL
    host = urlsplit(base).netloc
    launch_uri = f"{base}/lti/launch/"
    return {
        "title": settings.PRODUCT_NAME,
        "description": "An AI course assistant that answers from the course's own materials.",
        "oidc_initiation_url": f"{base}/lti/login/",
        "target_link_uri": launch_uri,
        "public_jwk_url": f"{base}/.well-known/jwks.json",
        "scopes": [],
        "extensions": [
            {
                "domain": host,
                "tool_id": "nectir-course-assistant",
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": settings.PRODUCT_NAME,
                    "placements": [
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": launch_uri,
                            "text": "Course Assistant",
                            "enabled": True,
                            "default": "enabled",
                            "visibility": "members",
                        }
                    ],
                },
            }
        ],
        "custom_fields": dict(CUSTOM_FIELDS),
    }
